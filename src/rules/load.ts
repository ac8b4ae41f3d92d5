// loadRuleDir: every rule file under a directory -> a validated RuleSet or every error.
import { resolve } from 'node:path';
import { sortRuleErrors, ruleError, type RuleError } from './errors.js';
import { findRuleFiles, readRuleFile, ruleFileOf, type ReadFile } from './files.js';
import { mapLimit } from './limit.js';
import { loadModuleFile, moduleConcurrency } from './module-source.js';
import { parseRuleText } from './parse-text.js';
import type { SourceResult } from './source.js';
import type { LoadOptions, LoadResult } from './types.js';
import type { RuleFile } from './model.js';
import { combineValidatedDocuments, validateDocument, type ValidatedDocument } from './validate.js';

/**
 * Loads and validates the rules under `dir` (recursively; YAML, JSON, JS/TS modules). Never
 * throws for problems in the rules: they come back as errors with file:line:column, sorted.
 */
export async function loadRuleDir(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const root = resolve(dir);
  const found = await findRuleFiles(root);
  const errors: RuleError[] = [...found.errors];

  const read: ReadFile[] = [];
  for (const r of await Promise.all(found.files.map(readRuleFile))) {
    if ('digest' in r) read.push(r);
    else errors.push(r);
  }

  // YAML and JSON parse synchronously; modules run in workers, a few at a time.
  const modules = read.filter((f) => f.type === 'module');
  const moduleResults = new Map(
    (await mapLimit(modules, moduleConcurrency(opts), async (f) => [f.path, await loadModuleFile(f.abs, f.path, f.text, root, opts)] as const)),
  );
  const parsed = read.map((f): ParsedRuleFile => {
    const source: SourceResult | undefined = f.type === 'module' ? moduleResults.get(f.path) : f.type === 'helper' ? undefined : parseRuleText(f.path, f.text);
    return { file: ruleFileOf(f), ...(source ? { source } : {}) };
  });
  return assembleLoadResult(errors, parsed);
}

/** One rule file after reading and parsing (src/rules/load-cache.ts keeps these between loads). */
export interface ParsedRuleFile {
  readonly file: RuleFile;
  /** Absent for helper modules (importable by rule modules, not rules themselves). */
  readonly source?: SourceResult;
  /**
   * validateDocument() of each document, when already known; then only `source.errors` is read
   * (the incremental loader keeps no documents once they are validated).
   */
  readonly validated?: readonly ValidatedDocument[];
}

/**
 * The LoadResult of the files of a directory, in path order, after `errors` (finding and reading
 * them). Shared by loadRuleDir and the incremental loader, so both give the same result.
 */
export function assembleLoadResult(scanErrors: readonly RuleError[], parsed: readonly ParsedRuleFile[]): LoadResult {
  const errors: RuleError[] = [...scanErrors];
  const files = parsed.map((p) => p.file);
  const validated: ValidatedDocument[] = [];
  for (const p of parsed) {
    if (!p.source) continue;
    if (p.validated) validated.push(...p.validated);
    else for (const doc of p.source.docs) validated.push(validateDocument(doc));
    errors.push(...p.source.errors);
  }

  if (validated.length === 0 && errors.length === 0) {
    // Serving an empty set would delete every route and cluster in the fleet.
    errors.push(ruleError('RULE_EMPTY', { file: '.', line: 0, column: 0 }, `no rules found in ${parsed.length} file${parsed.length === 1 ? '' : 's'}`));
  }
  const result = combineValidatedDocuments(validated, files);
  if (!result.ok) errors.push(...result.errors);
  if (errors.length > 0 || !result.ok) return { ok: false, errors: sortRuleErrors(errors), files };
  return { ok: true, ruleSet: result.ruleSet, files };
}
