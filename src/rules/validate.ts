// Validation of parsed documents into a RuleSet: kind, schema, normalization, per-rule checks,
// cross-references. Every document is checked and every problem reported in one pass.
import { compareStrings, ruleError, sortRuleErrors, type RuleError } from './errors.js';
import { checkRule } from './checks.js';
import { RULE_KINDS, type Rule, type RuleFile, type RuleKind, type RuleSet } from './model.js';
import { normalize } from './normalize.js';
import { checkDuplicates, checkReferences, type NamedDefinition } from './references.js';
import { KIND_SCHEMAS } from './schema.js';
import { schemaErrors } from './schema-issues.js';
import { closest, listNames } from './suggest.js';
import { locate, type SourceDocument } from './source.js';
import type { ValidationResult } from './types.js';

/**
 * Validates parsed documents (from any source) and builds the RuleSet, or returns every error,
 * sorted by file, line, column, code. `files` is copied into the RuleSet as is.
 */
export function validateDocuments(docs: readonly SourceDocument[], files: readonly RuleFile[] = []): ValidationResult {
  return combineValidatedDocuments(docs.map(validateDocument), files);
}

/** One document checked on its own (no cross-document checks): depends only on the document, so it can be cached with it. */
export type ValidatedDocument = OneResult & { readonly broken?: boolean };

export function validateDocument(doc: SourceDocument): ValidatedDocument {
  const r = validateOne(doc);
  return doc.broken ? { ...r, broken: true } : r;
}

/** validateDocuments from per-document results, in document order: the cross-document checks and the RuleSet. */
export function combineValidatedDocuments(validated: readonly ValidatedDocument[], files: readonly RuleFile[] = []): ValidationResult {
  const errors: RuleError[] = [];
  const defs: NamedDefinition[] = [];
  const known = new Map<RuleKind, Set<string>>(RULE_KINDS.map((k) => [k, new Set<string>()]));
  // Per kind, the first rule of each name (duplicates are reported; references resolve against the first).
  const firsts = new Map<RuleKind, Map<string, Rule>>(RULE_KINDS.map((k) => [k, new Map<string, Rule>()]));
  const rules: Rule[] = [];

  for (const r of validated) {
    for (const e of r.errors) errors.push(e);
    if (r.named) {
      known.get(r.named.kind)!.add(r.named.name);
      if (!r.broken) defs.push(r.named);
    }
    const rule = r.rule;
    if (rule) {
      const ofKind = firsts.get(rule.kind)!;
      if (!ofKind.has(rule.name)) {
        ofKind.set(rule.name, rule);
        rules.push(rule);
      }
    }
  }

  errors.push(...checkDuplicates(defs));
  errors.push(...checkReferences(rules, known, firsts));
  if (errors.length > 0) return { ok: false, errors: sortRuleErrors(errors) };
  return { ok: true, ruleSet: buildRuleSet(firsts, files) };
}

interface OneResult {
  readonly errors: readonly RuleError[];
  readonly named?: NamedDefinition;
  readonly rule?: Rule;
}

function validateOne(doc: SourceDocument): OneResult {
  const value = doc.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (doc.broken) return { errors: [] };
    const what = Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
    return { errors: [ruleError('RULE_NOT_AN_OBJECT', doc.loc, `rule document is ${what}, not an object with a kind`)] };
  }
  const obj = value as Record<string, unknown>;
  const kind = kindOf(doc, obj);
  if (typeof kind !== 'string') return { errors: doc.broken ? [] : [kind] };

  const rawName = kind === 'Experiment' ? obj.abTestId : obj.name;
  const name = typeof rawName === 'string' || (typeof rawName === 'number' && Number.isFinite(rawName)) ? String(rawName) : undefined;
  const named = name === undefined ? undefined : { kind, name, loc: locate(doc, [kind === 'Experiment' ? 'abTestId' : 'name']) };
  if (doc.broken) return { errors: [], ...(named ? { named } : {}) };

  const subject = name === undefined ? kind : `${kind} "${name}"`;
  const input = obj.kind === undefined ? { kind, ...obj } : obj;
  const schema = KIND_SCHEMAS[kind];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    return { errors: schemaErrors({ doc, value: input, schema, subject }, parsed.error.issues), ...(named ? { named } : {}) };
  }
  const n = normalize(kind, parsed.data as never, doc, subject);
  const errors = [...n.errors, ...(n.rule ? checkRule(n.rule) : [])];
  return { errors, ...(named ? { named } : {}), ...(n.rule ? { rule: n.rule } : {}) };
}

/** The document's kind, or the error saying why it has none. */
function kindOf(doc: SourceDocument, obj: Record<string, unknown>): RuleKind | RuleError {
  const kind = obj.kind;
  // The published design's A/B rule shape has no kind: {abTestId, targetObjectives, cellToModel, ...}.
  if (kind === undefined && doc.fromModule && 'abTestId' in obj) return 'Experiment';
  if (kind === undefined) return ruleError('RULE_MISSING_KIND', doc.loc, 'rule document has no kind');
  if (typeof kind === 'string' && (RULE_KINDS as readonly string[]).includes(kind)) return kind as RuleKind;
  const near = typeof kind === 'string' ? closest(kind, RULE_KINDS, 1) : [];
  return ruleError(
    'RULE_UNKNOWN_KIND',
    locate(doc, ['kind']),
    `rule document has unknown kind ${typeof kind === 'string' ? `"${kind}"` : String(kind)}`,
    near.length > 0 ? `did you mean "${near[0]}"?` : `use one of: ${listNames(RULE_KINDS, 20)}`,
  );
}

function buildRuleSet(firsts: ReadonlyMap<RuleKind, ReadonlyMap<string, Rule>>, files: readonly RuleFile[]): RuleSet {
  // Maps keyed by name, filled in name order (iteration order is not part of the contract, but stable output is cheap).
  const of = <K extends Rule['kind']>(kind: K): Map<string, Extract<Rule, { kind: K }>> => {
    const byName = firsts.get(kind)! as ReadonlyMap<string, Extract<Rule, { kind: K }>>;
    const names = [...byName.keys()].sort(compareStrings);
    return new Map(names.map((n) => [n, byName.get(n)!] as const));
  };
  return {
    objectives: of('Objective'),
    models: of('Model'),
    shards: of('Shard'),
    experiments: of('Experiment'),
    trafficShifts: of('TrafficShift'),
    migrations: of('Migration'),
    shadows: of('Shadow'),
    overrides: of('Override'),
    clients: of('Client'),
    rolloutPolicies: of('RolloutPolicy'),
    files: [...files].sort((a, b) => compareStrings(a.path, b.path)),
  };
}
