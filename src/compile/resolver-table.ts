// The resolver table: everything a resolver needs to turn a request context into a routing key and
// an ObjectiveConfig, without reading the rules. Travels as its own resource type over ADS.
import type { ExperimentCell, ExperimentRule, ModelRule, OverrideRule } from '../rules/model.js';
import { BUCKET_COUNT } from './constants.js';
import { canonicalize, sortedRecord } from './order.js';
import type { CompilePlan, ObjectivePlan, ShiftPlan } from './plan.js';
import type {
  ResolverCell,
  ResolverExperiment,
  ResolverModel,
  ResolverObjective,
  ResolverOverride,
  ResolverShift,
  ResolverTable,
} from './types.js';

/**
 * Maps cells, in declaration order, to consecutive half-open bucket ranges out of 10,000: each
 * cell owns round(percent * 100) buckets and the last cell absorbs the rounding, so the ranges
 * cover [0, 10000) exactly (a 0 % cell gets an empty range).
 */
export function cellBuckets(cells: readonly ExperimentCell[]): ResolverCell[] {
  const perPercent = BUCKET_COUNT / 100;
  let start = 0;
  return cells.map((c, i) => {
    const end = i === cells.length - 1 ? BUCKET_COUNT : Math.min(BUCKET_COUNT, start + Math.max(0, Math.round(c.percent * perPercent)));
    const cell = { id: c.id, model: c.model, percent: c.percent, bucketStart: start, bucketEnd: end };
    start = end;
    return cell;
  });
}

/** Salt of a traffic shift's user hash: fixed per shift, so raising the percent only adds users. */
export function shiftSalt(shiftName: string): string {
  return `shift:${shiftName}`;
}

function experiment(e: ExperimentRule): ResolverExperiment {
  return { abTestId: e.abTestId, salt: e.salt, cells: cellBuckets(e.cells) };
}

function shift(s: ShiftPlan, from: string): ResolverShift {
  return { name: s.rule.name, from, to: s.rule.to, percent: s.percent, stepIndex: s.stepIndex, salt: shiftSalt(s.rule.name) };
}

function override(o: OverrideRule): ResolverOverride {
  return {
    name: o.name,
    model: o.model,
    ...(o.match.client !== undefined ? { client: o.match.client } : {}),
    ...(o.match.header !== undefined ? { header: { name: o.match.header.name, value: o.match.header.value } } : {}),
  };
}

export function objective(p: ObjectivePlan): ResolverObjective {
  const o = p.objective;
  return {
    name: o.name,
    defaultModel: o.defaultModel,
    ...(o.modelType !== undefined ? { modelType: o.modelType } : {}),
    ...(o.inputType !== undefined ? { inputType: o.inputType } : {}),
    timeoutMs: o.timeoutMs,
    retries: o.retries,
    // p.reached is sorted by model name.
    routingKeys: Object.fromEntries(p.reached.map((r) => [r.model, r.routingKey])),
    experiments: p.experiments.map(experiment),
    ...(p.shift ? { shift: shift(p.shift, o.defaultModel) } : {}),
    overrides: p.overrides.map(override),
  };
}

export function model(m: ModelRule): ResolverModel {
  return { name: m.name, version: m.version, shard: m.shard, params: canonicalize(m.params) as Record<string, unknown> };
}

export function buildResolverTable(plan: CompilePlan): ResolverTable {
  return {
    objectives: sortedRecord(plan.objectives.map((p) => [p.objective.name, objective(p)] as const)),
    models: sortedRecord(plan.sortedModels.map((m) => [m.name, model(m)] as const)),
    clients: sortedRecord(plan.clients.map((c) => [c.name, { testTraffic: c.testTraffic }] as const)),
  };
}
