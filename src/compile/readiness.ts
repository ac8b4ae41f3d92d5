// Model readiness as a pure rewrite of the rule set, before planning: nothing routes to a model
// whose endpoints are not ready (CompileOptions.readiness). The rewrite only removes or redirects
// uses of unready models; rules that name no unready model are passed through as the same objects,
// so an empty `unready` list compiles byte for byte like no option at all.
import type { ExperimentRule, ObjectiveRule, RuleSet } from '../rules/model.js';
import type { ReadinessOptions } from './types.js';

/** One use of an unready model that the rewrite held back, for operators (the readiness gate shows these). */
export interface ReadinessHold {
  readonly kind: 'default-kept' | 'default-unready' | 'cell' | 'shift' | 'override' | 'shadow';
  /** The rule (objective, experiment, shift, override, shadow) whose use was held. */
  readonly rule: string;
  readonly objective: string;
  readonly model: string;
  /** The model serving instead (default-kept, cell); absent when the use is left out. */
  readonly instead?: string;
}

interface Rewrite {
  readonly ruleSet: RuleSet;
  readonly holds: readonly ReadinessHold[];
}

function rewrite(rs: RuleSet, options: ReadinessOptions): Rewrite {
  const unready = new Set(options.unready.filter((m) => rs.models.has(m)));
  if (unready.size === 0) return { ruleSet: rs, holds: [] };
  const holds: ReadinessHold[] = [];
  const ready = (m: string): boolean => !unready.has(m);

  const objectives = new Map<string, ObjectiveRule>();
  for (const [name, o] of rs.objectives) {
    if (ready(o.defaultModel)) {
      objectives.set(name, o);
      continue;
    }
    const prev = options.previousDefaults?.[name];
    if (prev !== undefined && prev !== o.defaultModel && rs.models.has(prev) && ready(prev)) {
      objectives.set(name, { ...o, defaultModel: prev });
      holds.push({ kind: 'default-kept', rule: name, objective: name, model: o.defaultModel, instead: prev });
    } else {
      objectives.set(name, o);
      holds.push({ kind: 'default-unready', rule: name, objective: name, model: o.defaultModel });
    }
  }
  const effectiveDefault = (objective: string): string | undefined => objectives.get(objective)?.defaultModel;

  // A cell on an unready model sends its users to the objective's default. An experiment may target
  // several objectives with different defaults: such an experiment is split into one copy per
  // objective, keyed "<name>\0<objective>" (sorts right after "<name>", so the order is unchanged).
  const experiments = new Map<string, ExperimentRule>();
  for (const [key, e] of rs.experiments) {
    if (e.cells.every((c) => ready(c.model))) {
      experiments.set(key, e);
      continue;
    }
    for (const objective of [...new Set(e.targetObjectives)]) {
      const instead = effectiveDefault(objective);
      const cells = e.cells.map((c) => {
        if (ready(c.model) || instead === undefined) return c;
        holds.push({ kind: 'cell', rule: e.name, objective, model: c.model, instead });
        return { ...c, model: instead };
      });
      experiments.set(`${key}\u0000${objective}`, { ...e, targetObjectives: [objective], cells });
    }
  }

  const keep = <R extends { name: string; objective: string }>(
    map: ReadonlyMap<string, R>,
    model: (r: R) => string,
    kind: ReadinessHold['kind'],
  ): ReadonlyMap<string, R> => {
    let changed = false;
    const out = new Map<string, R>();
    for (const [k, r] of map) {
      if (ready(model(r))) out.set(k, r);
      else {
        changed = true;
        holds.push({ kind, rule: r.name, objective: r.objective, model: model(r) });
      }
    }
    return changed ? out : map;
  };

  return {
    ruleSet: {
      ...rs,
      objectives,
      experiments,
      trafficShifts: keep(rs.trafficShifts, (s) => s.to, 'shift'),
      overrides: keep(rs.overrides, (o) => o.model, 'override'),
      shadows: keep(rs.shadows, (s) => s.model, 'shadow'),
    },
    holds,
  };
}

/** The rule set as the compiler sees it when some models are not ready. Pure. */
export function applyReadiness(rs: RuleSet, options: ReadinessOptions): RuleSet {
  return rewrite(rs, options).ruleSet;
}

/** What applyReadiness holds back, sorted by objective, kind and rule (for status displays). Pure. */
export function readinessHolds(rs: RuleSet, options: ReadinessOptions): ReadinessHold[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...rewrite(rs, options).holds].sort((a, b) => cmp(a.objective, b.objective) || cmp(a.kind, b.kind) || cmp(a.rule, b.rule) || cmp(a.model, b.model));
}
