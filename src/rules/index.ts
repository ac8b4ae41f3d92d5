// Public API of the rules layer (load + validate). The file watcher lives in watch*.ts.
export type * from './model.js';
export { RULE_KINDS } from './model.js';
export { loadRuleDir } from './load.js';
export { validateDocuments } from './validate.js';
export { loadRuleTexts, ruleSetFromDocuments, type DocumentInput } from './documents.js';
export { parseRuleText } from './parse-text.js';
export { formatRuleError, formatRuleErrors, type FormatOptions } from './format.js';
export { RuleSetError, sortRuleErrors, type RuleError, type RuleErrorCode } from './errors.js';
export { fieldLoc, showLoc } from './locate.js';
export { countRules, describeCounts, totalRules } from './summary.js';
export { splitEvenly } from './split.js';
export type { SourceDocument, NodeLoc } from './source.js';
export type { LoadOptions, LoadResult, ModuleOptions, ValidationResult } from './types.js';
export { DEFAULT_MODULE_TIMEOUT_MS } from './module-source.js';
export { OBJECTIVE_DEFAULTS } from './normalize.js';
