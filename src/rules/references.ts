// Checks across rules, all in one pass: duplicate names, references to rules that do not exist,
// and rules that claim the same target (two experiments on one objective, ...).
import { compareLocations, ruleError, type RuleError, type RuleErrorCode } from './errors.js';
import { fieldLoc, showLoc } from './locate.js';
import type { Rule, RuleKind, SourceLocation } from './model.js';
import { cellsField } from './normalize.js';
import { missingReferenceHint } from './suggest.js';
import { subjectOf } from './checks.js';

/** A name some document defines (valid or not), and where. */
export interface NamedDefinition {
  readonly kind: RuleKind;
  readonly name: string;
  readonly loc: SourceLocation;
}

/** Every occurrence of a name defined more than once gets an error naming the others. */
export function checkDuplicates(defs: readonly NamedDefinition[]): RuleError[] {
  // Per kind, the first definition of each name; groups only for names seen again (rare).
  const first = new Map<RuleKind, Map<string, NamedDefinition>>();
  const groups = new Map<NamedDefinition, NamedDefinition[]>();
  for (const d of defs) {
    let ofKind = first.get(d.kind);
    if (!ofKind) first.set(d.kind, (ofKind = new Map()));
    const f = ofKind.get(d.name);
    if (!f) ofKind.set(d.name, d);
    else {
      const group = groups.get(f);
      if (group) group.push(d);
      else groups.set(f, [f, d]);
    }
  }
  const out: RuleError[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => compareLocations(a.loc, b.loc));
    for (const d of sorted) {
      const others = sorted.filter((o) => o !== d).map((o) => showLoc(o.loc));
      out.push(ruleError('RULE_DUPLICATE_NAME', d.loc, `${d.kind} "${d.name}" is defined ${sorted.length} times: also at ${others.join(', ')}`));
    }
  }
  return out;
}

const REF_CODES = {
  Objective: 'RULE_UNKNOWN_OBJECTIVE',
  Model: 'RULE_UNKNOWN_MODEL',
  Shard: 'RULE_UNKNOWN_SHARD',
  Client: 'RULE_UNKNOWN_CLIENT',
} as const satisfies Partial<Record<RuleKind, RuleErrorCode>>;

type RefKind = keyof typeof REF_CODES;

/**
 * @param rules valid rules, one per kind and name, in a deterministic order
 * @param known every name defined per kind, including by documents that failed validation, so a
 *   broken definition is reported once and not again at every reference to it
 * @param index `rules` per kind and name, when the caller has it already
 */
export function checkReferences(
  rules: readonly Rule[],
  known: ReadonlyMap<RuleKind, ReadonlySet<string>>,
  index: ReadonlyMap<RuleKind, ReadonlyMap<string, Rule>> = indexByKind(rules),
): RuleError[] {
  const out: RuleError[] = [];
  const byName = (kind: RuleKind, name: string): Rule | undefined => index.get(kind)?.get(name);

  const ref = (rule: Rule, path: string, kind: RefKind, name: string, what: string): void => {
    const names = known.get(kind) ?? new Set<string>();
    if (names.has(name)) return;
    out.push(
      ruleError(REF_CODES[kind], fieldLoc(rule, path), `${subjectOf(rule)} ${what} names ${kind.toLowerCase()} "${name}", which is not defined`, missingReferenceHint(kind, name, names)),
    );
  };
  // The first claimant (by location) keeps the target; every later one is reported.
  const claims = new Map<string, Rule>();
  const claim = (rule: Rule, path: string, target: string, what: string, code: RuleErrorCode): void => {
    const key = `${rule.kind}\u0000${target}`;
    const first = claims.get(key);
    if (!first) {
      claims.set(key, rule);
      return;
    }
    out.push(ruleError(code, fieldLoc(rule, path), `${subjectOf(rule)} ${what}, which ${subjectOf(first)} (${showLoc(first.loc)}) already does`));
  };

  // Documents arrive in file order already: sorting is only needed when they do not.
  const ordered = isSorted(rules, (a, b) => compareLocations(a.loc, b.loc)) ? rules : [...rules].sort((a, b) => compareLocations(a.loc, b.loc));
  for (const rule of ordered) {
    switch (rule.kind) {
      case 'Objective':
        ref(rule, 'defaultModel', 'Model', rule.defaultModel, 'field "defaultModel"');
        break;
      case 'Model':
        ref(rule, 'shard', 'Shard', rule.shard, 'field "shard"');
        break;
      case 'Experiment': {
        const field = cellsField(rule);
        rule.targetObjectives.forEach((o, i) => {
          ref(rule, `targetObjectives.${i}`, 'Objective', o, 'field "targetObjectives"');
          claim(rule, `targetObjectives.${i}`, o, `targets objective "${o}"`, 'RULE_EXPERIMENT_OVERLAP');
          const objective = byName('Objective', o);
          if (objective?.kind === 'Objective') {
            const pairs = [
              ['modelType', rule.modelType, objective.modelType],
              ['modelInputType', rule.modelInputType, objective.inputType],
            ] as const;
            for (const [f, mine, theirs] of pairs) {
              if (mine !== undefined && theirs !== undefined && mine !== theirs) {
                out.push(ruleError('RULE_MODEL_TYPE_MISMATCH', fieldLoc(rule, f), `${subjectOf(rule)} has ${f} "${mine}" but objective "${o}" has "${theirs}"`));
              }
            }
          }
        });
        for (const c of rule.cells) ref(rule, `${field}.${c.id}.model`, 'Model', c.model, `cell "${c.id}"`);
        break;
      }
      case 'TrafficShift':
        ref(rule, 'objective', 'Objective', rule.objective, 'field "objective"');
        ref(rule, 'to', 'Model', rule.to, 'field "to"');
        claim(rule, 'objective', rule.objective, `shifts objective "${rule.objective}"`, 'RULE_SHIFT_OVERLAP');
        break;
      case 'Migration': {
        ref(rule, 'model', 'Model', rule.model, 'field "model"');
        ref(rule, 'from', 'Shard', rule.from, 'field "from"');
        ref(rule, 'to', 'Shard', rule.to, 'field "to"');
        claim(rule, 'model', rule.model, `migrates model "${rule.model}"`, 'RULE_MIGRATION_OVERLAP');
        const model = byName('Model', rule.model);
        if (model?.kind === 'Model' && model.shard !== rule.from) {
          out.push(
            ruleError('RULE_MIGRATION_FROM_MISMATCH', fieldLoc(rule, 'from'), `${subjectOf(rule)} moves model "${rule.model}" from shard "${rule.from}", but the model is on shard "${model.shard}"`, `set from: ${model.shard}`),
          );
        }
        break;
      }
      case 'Shadow':
        ref(rule, 'objective', 'Objective', rule.objective, 'field "objective"');
        ref(rule, 'model', 'Model', rule.model, 'field "model"');
        break;
      case 'Override':
        ref(rule, 'objective', 'Objective', rule.objective, 'field "objective"');
        ref(rule, 'model', 'Model', rule.model, 'field "model"');
        if (rule.match.client !== undefined) ref(rule, 'match.client', 'Client', rule.match.client, 'field "match.client"');
        break;
      case 'RolloutPolicy': {
        // One policy governs the whole fleet: a second one is reported, the first keeps it.
        const first = claims.get('RolloutPolicy\u0000fleet');
        if (!first) claims.set('RolloutPolicy\u0000fleet', rule);
        else
          out.push(
            ruleError('RULE_BAD_VALUE', fieldLoc(rule, 'name'), `${subjectOf(rule)} is a second rollout policy: ${subjectOf(first)} (${showLoc(first.loc)}) already governs the fleet`, 'keep one RolloutPolicy per rule set'),
          );
        break;
      }
      case 'Shard':
      case 'Client':
        break;
    }
  }
  return out;
}

function indexByKind(rules: readonly Rule[]): Map<RuleKind, Map<string, Rule>> {
  const index = new Map<RuleKind, Map<string, Rule>>();
  for (const r of rules) {
    let ofKind = index.get(r.kind);
    if (!ofKind) index.set(r.kind, (ofKind = new Map()));
    if (!ofKind.has(r.name)) ofKind.set(r.name, r);
  }
  return index;
}

function isSorted<T>(items: readonly T[], compare: (a: T, b: T) => number): boolean {
  for (let i = 1; i < items.length; i++) if (compare(items[i - 1]!, items[i]!) > 0) return false;
  return true;
}
