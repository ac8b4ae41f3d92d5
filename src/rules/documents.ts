// In-memory entry points: build RuleSets from YAML/JSON text or plain objects without touching
// the file system. Meant for tests and fixtures of other layers (compile, snapshot, xds).
import { RuleSetError, sortRuleErrors, type RuleError } from './errors.js';
import { sha256 } from './files.js';
import { formatRuleErrors } from './format.js';
import type { RuleFile, RuleSet } from './model.js';
import { parseRuleText } from './parse-text.js';
import type { SourceDocument } from './source.js';
import type { LoadResult } from './types.js';
import { validateDocuments } from './validate.js';

/**
 * One input document set:
 * - `{file, text}`: YAML (multi-document) or, when `file` ends in `.json`, JSON text;
 * - `{file, value}`: a rule object or an array of them, exactly as a JS/TS rule module would
 *   export them (so `kind` may be omitted on the published experiment shape). Located at file:1:1.
 */
export type DocumentInput = { readonly file: string; readonly text: string } | { readonly file: string; readonly value: unknown };

/** Like loadRuleDir, for in-memory inputs, synchronously. Digests are sha256 of the UTF-8 text (or JSON of the value). */
export function loadRuleTexts(inputs: readonly DocumentInput[]): LoadResult {
  const docs: SourceDocument[] = [];
  const errors: RuleError[] = [];
  const files: RuleFile[] = [];
  for (const input of inputs) {
    if ('text' in input) {
      const r = parseRuleText(input.file, input.text);
      docs.push(...r.docs);
      errors.push(...r.errors);
      files.push({ path: input.file, digest: sha256(input.text) });
    } else {
      const items: unknown[] = Array.isArray(input.value) ? input.value : [input.value];
      for (const value of items) docs.push({ file: input.file, loc: { file: input.file, line: 1, column: 1 }, value, fromModule: true });
      files.push({ path: input.file, digest: sha256(JSON.stringify(input.value) ?? '') });
    }
  }
  const v = validateDocuments(docs, files);
  const all = [...errors, ...(v.ok ? [] : v.errors)];
  if (all.length > 0 || !v.ok) return { ok: false, errors: sortRuleErrors(all), files: v.ok ? v.ruleSet.files : sortFiles(files) };
  return { ok: true, ruleSet: v.ruleSet, files: v.ruleSet.files };
}

/**
 * A validated RuleSet from in-memory documents, or throws RuleSetError whose message lists every
 * error in the standard format. Typical fixture use:
 *
 *   const rs = ruleSetFromDocuments([{ file: 'a.yaml', text: `
 *   kind: Objective
 *   name: Search
 *   defaultModel: m1
 *   ---
 *   kind: Model
 *   name: m1
 *   shard: s1
 *   version: "1"
 *   ---
 *   kind: Shard
 *   name: s1
 *   endpoints: [{ address: 127.0.0.1, port: 50051 }]
 *   ` }]);
 */
export function ruleSetFromDocuments(inputs: readonly DocumentInput[]): RuleSet {
  const r = loadRuleTexts(inputs);
  if (r.ok) return r.ruleSet;
  throw new RuleSetError(r.errors, formatRuleErrors(r.errors));
}

function sortFiles(files: RuleFile[]): RuleFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
