// First compile pass: groups the rules by the objective (or model) they act on, checks the
// references and invariants the later passes rely on, and fixes every ordering. The later passes
// (routes, clusters, endpoints, listener, resolver table) only read this plan.
import type {
  ClientRule,
  ExperimentRule,
  MigrationRule,
  ModelRule,
  ObjectiveRule,
  OverrideRule,
  RuleSet,
  ShadowRule,
  ShardRule,
  SourceLocation,
  TrafficShiftRule,
} from '../rules/model.js';
import { DEFAULT_LISTENER_NAME } from './constants.js';
import type { Diagnostics } from './diagnostics.js';
import { formatLoc } from './diagnostics.js';
import { sortedValues } from './order.js';
import { reachableModels, routingKey } from './routing-keys.js';
import type { CompileOptions } from './types.js';

export interface ShiftPlan {
  readonly rule: TrafficShiftRule;
  /** Current step, clamped to the step list. */
  readonly stepIndex: number;
  /** Current share of users on `to`, 0..100. */
  readonly percent: number;
}

export interface ReachedModel {
  readonly model: string;
  readonly routingKey: string;
}

export interface ObjectivePlan {
  readonly objective: ObjectiveRule;
  /** Experiments targeting the objective, by name. */
  readonly experiments: readonly ExperimentRule[];
  readonly shift?: ShiftPlan;
  /** Overrides of the objective, by name. */
  readonly overrides: readonly OverrideRule[];
  /** Shadows of the objective, by name. */
  readonly shadows: readonly ShadowRule[];
  /** Models reachable from the objective, by model name. */
  readonly reached: readonly ReachedModel[];
}

export interface CompilePlan {
  readonly listenerName: string;
  /** By objective name. */
  readonly objectives: readonly ObjectivePlan[];
  readonly models: ReadonlyMap<string, ModelRule>;
  /** By model name. */
  readonly sortedModels: readonly ModelRule[];
  /** By shard name. */
  readonly shards: readonly ShardRule[];
  /** The migration of each migrating model, keyed by model name. */
  readonly migrations: ReadonlyMap<string, MigrationRule>;
  /** By client name. */
  readonly clients: readonly ClientRule[];
}

export function isPercent(p: number): boolean {
  return Number.isFinite(p) && p >= 0 && p <= 100;
}

/** Cells may sum to 100 up to floating point noise (33.33 + 33.33 + 33.34). */
const CELL_SUM_TOLERANCE = 1e-6;

function groupBy<T>(rules: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rules) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

function loc(rule: { loc: SourceLocation; fieldLocs: Readonly<Record<string, SourceLocation>> }, field?: string): SourceLocation {
  return (field !== undefined ? rule.fieldLocs[field] : undefined) ?? rule.loc;
}

/** Every rule list, sorted by name once per compile. */
interface SortedRules {
  readonly objectives: readonly ObjectiveRule[];
  readonly models: readonly ModelRule[];
  readonly shards: readonly ShardRule[];
  readonly experiments: readonly ExperimentRule[];
  readonly trafficShifts: readonly TrafficShiftRule[];
  readonly migrations: readonly MigrationRule[];
  readonly shadows: readonly ShadowRule[];
  readonly overrides: readonly OverrideRule[];
  readonly clients: readonly ClientRule[];
}

function sortRules(rs: RuleSet): SortedRules {
  return {
    objectives: sortedValues(rs.objectives),
    models: sortedValues(rs.models),
    shards: sortedValues(rs.shards),
    experiments: sortedValues(rs.experiments),
    trafficShifts: sortedValues(rs.trafficShifts),
    migrations: sortedValues(rs.migrations),
    shadows: sortedValues(rs.shadows),
    overrides: sortedValues(rs.overrides),
    clients: sortedValues(rs.clients),
  };
}

function checkReferences(rs: RuleSet, sorted: SortedRules, d: Diagnostics): void {
  const need = (
    map: ReadonlyMap<string, unknown>,
    name: string,
    what: string,
    rule: Parameters<typeof loc>[0] & { kind: string; name: string },
    field: string,
  ): void => {
    if (!map.has(name)) d.error('COMP_UNKNOWN_REFERENCE', loc(rule, field), `${rule.kind} "${rule.name}" names ${what} "${name}", which is not defined`);
  };
  for (const o of sorted.objectives) need(rs.models, o.defaultModel, 'model', o, 'defaultModel');
  for (const m of sorted.models) need(rs.shards, m.shard, 'shard', m, 'shard');
  for (const e of sorted.experiments) {
    e.targetObjectives.forEach((t, i) => need(rs.objectives, t, 'objective', e, `targetObjectives.${i}`));
    for (const c of e.cells) need(rs.models, c.model, 'model', e, `cells.${c.id}.model`);
  }
  for (const s of sorted.trafficShifts) {
    need(rs.objectives, s.objective, 'objective', s, 'objective');
    need(rs.models, s.to, 'model', s, 'to');
  }
  for (const m of sorted.migrations) {
    need(rs.models, m.model, 'model', m, 'model');
    need(rs.shards, m.from, 'shard', m, 'from');
    need(rs.shards, m.to, 'shard', m, 'to');
  }
  for (const s of sorted.shadows) {
    need(rs.objectives, s.objective, 'objective', s, 'objective');
    need(rs.models, s.model, 'model', s, 'model');
  }
  for (const o of sorted.overrides) {
    need(rs.objectives, o.objective, 'objective', o, 'objective');
    need(rs.models, o.model, 'model', o, 'model');
    if (o.match.client !== undefined) need(rs.clients, o.match.client, 'client', o, 'match.client');
  }
}

function checkValues(sorted: SortedRules, d: Diagnostics): void {
  for (const e of sorted.experiments) {
    if (e.cells.length === 0) {
      d.error('COMP_INVALID_VALUE', loc(e, 'cells'), `Experiment "${e.name}" has no cells`);
      continue;
    }
    let sum = 0;
    for (const c of e.cells) {
      if (!isPercent(c.percent)) d.error('COMP_INVALID_VALUE', loc(e, `cells.${c.id}.percent`), `Experiment "${e.name}" cell "${c.id}": percent ${c.percent} is not in 0..100`);
      sum += c.percent;
    }
    if (Math.abs(sum - 100) > CELL_SUM_TOLERANCE) d.error('COMP_INVALID_VALUE', loc(e, 'cells'), `Experiment "${e.name}": cell percents sum to ${sum}, not 100`);
  }
  for (const s of sorted.trafficShifts) {
    if (s.steps.length === 0) d.error('COMP_INVALID_VALUE', loc(s, 'steps'), `TrafficShift "${s.name}" has no steps`);
    s.steps.forEach((st, i) => {
      if (!isPercent(st.percent)) d.error('COMP_INVALID_VALUE', loc(s, `steps.${i}.percent`), `TrafficShift "${s.name}" step ${i}: percent ${st.percent} is not in 0..100`);
    });
  }
  for (const m of sorted.migrations) {
    if (!isPercent(m.percent)) d.error('COMP_INVALID_VALUE', loc(m, 'percent'), `Migration "${m.name}": percent ${m.percent} is not in 0..100`);
  }
  for (const s of sorted.shadows) {
    if (!isPercent(s.percent)) d.error('COMP_INVALID_VALUE', loc(s, 'percent'), `Shadow "${s.name}": percent ${s.percent} is not in 0..100`);
  }
}

/** The single rule per key, or a conflict error naming every claimant. */
function single<T extends { kind: string; name: string; loc: SourceLocation }>(
  groups: Map<string, T[]>,
  what: string,
  d: Diagnostics,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, rules] of groups) {
    const [first, ...rest] = rules;
    if (!first) continue;
    if (rest.length > 0) {
      const all = rules.map((r) => `"${r.name}" (${formatLoc(r.loc)})`).join(', ');
      d.error('COMP_CONFLICTING_RULES', first.loc, `${first.kind} rules ${all} all apply to ${what} "${key}"; only one may`);
    }
    out.set(key, first);
  }
  return out;
}

function shiftPlan(rule: TrafficShiftRule, options: CompileOptions): ShiftPlan | undefined {
  const last = rule.steps.length - 1;
  if (last < 0) return undefined;
  if (options.abortedShifts?.includes(rule.name)) return { rule, stepIndex: 0, percent: 0 };
  const requested = Math.floor(options.shiftSteps?.[rule.name] ?? 0);
  const stepIndex = Math.min(Math.max(Number.isFinite(requested) ? requested : 0, 0), last);
  return { rule, stepIndex, percent: rule.steps[stepIndex]!.percent };
}

export function buildPlan(rs: RuleSet, options: CompileOptions, d: Diagnostics): CompilePlan {
  const sorted = sortRules(rs);
  checkReferences(rs, sorted, d);
  checkValues(sorted, d);

  const experimentsByObjective = new Map<string, ExperimentRule[]>();
  for (const e of sorted.experiments) {
    for (const t of new Set(e.targetObjectives)) {
      const list = experimentsByObjective.get(t);
      if (list) list.push(e);
      else experimentsByObjective.set(t, [e]);
    }
  }
  const shiftByObjective = single(groupBy(sorted.trafficShifts, (s) => s.objective), 'objective', d);
  const migrations = single(groupBy(sorted.migrations, (m) => m.model), 'model', d);
  const overridesByObjective = groupBy(sorted.overrides, (o) => o.objective);
  const shadowsByObjective = groupBy(sorted.shadows, (s) => s.objective);

  const keyOwners = new Map<string, string>();
  const objectives: ObjectivePlan[] = [];
  for (const objective of sorted.objectives) {
    const name = objective.name;
    const shiftRule = shiftByObjective.get(name);
    const shift = shiftRule ? shiftPlan(shiftRule, options) : undefined;
    const exps = experimentsByObjective.get(name) ?? [];
    const overrides = overridesByObjective.get(name) ?? [];
    const reached = reachableModels({ objective, experiments: exps, shift: shiftRule, overrides }).map((model) => {
      const key = routingKey(name, model);
      const owner = keyOwners.get(key);
      const pair = `(${name}, ${model})`;
      if (owner !== undefined) d.error('COMP_ROUTING_KEY_COLLISION', objective.loc, `routing key "${key}" is produced by both ${owner} and ${pair}`);
      else keyOwners.set(key, pair);
      return { model, routingKey: key };
    });
    objectives.push({
      objective,
      experiments: exps,
      ...(shift ? { shift } : {}),
      overrides,
      shadows: shadowsByObjective.get(name) ?? [],
      reached,
    });
  }

  return {
    listenerName: options.listenerName ?? DEFAULT_LISTENER_NAME,
    objectives,
    models: rs.models,
    sortedModels: sorted.models,
    shards: sorted.shards,
    migrations,
    clients: sorted.clients,
  };
}
