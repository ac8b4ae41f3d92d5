// loadRuleDir: every rule file under a directory -> a validated RuleSet or every error.
import { resolve } from 'node:path';
import { sortRuleErrors, ruleError, type RuleError } from './errors.js';
import { findRuleFiles, readRuleFile, ruleFileOf, type ReadFile } from './files.js';
import { mapLimit } from './limit.js';
import { loadModuleFile, moduleConcurrency } from './module-source.js';
import { parseRuleText } from './parse-text.js';
import type { SourceDocument, SourceResult } from './source.js';
import type { LoadOptions, LoadResult } from './types.js';
import { validateDocuments } from './validate.js';

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
  const files = read.map(ruleFileOf);

  // YAML and JSON parse synchronously; modules run in workers, a few at a time.
  const modules = read.filter((f) => f.type === 'module');
  const moduleResults = new Map(
    (await mapLimit(modules, moduleConcurrency(opts), async (f) => [f.path, await loadModuleFile(f.abs, f.path, f.text, root, opts)] as const)),
  );
  const docs: SourceDocument[] = [];
  for (const f of read) {
    const r: SourceResult | undefined = f.type === 'module' ? moduleResults.get(f.path) : f.type === 'helper' ? undefined : parseRuleText(f.path, f.text);
    if (!r) continue;
    docs.push(...r.docs);
    errors.push(...r.errors);
  }

  if (docs.length === 0 && errors.length === 0) {
    // Serving an empty set would delete every route and cluster in the fleet.
    errors.push(ruleError('RULE_EMPTY', { file: '.', line: 0, column: 0 }, `no rules found in ${read.length} file${read.length === 1 ? '' : 's'}`));
  }
  const validated = validateDocuments(docs, files);
  if (!validated.ok) errors.push(...validated.errors);
  if (errors.length > 0 || !validated.ok) return { ok: false, errors: sortRuleErrors(errors), files };
  return { ok: true, ruleSet: validated.ruleSet, files };
}
