// Routing keys: the one value the resolver puts on a request (x-routing-key) and Envoy matches on.
import { compareStrings } from './order.js';
import type { ExperimentRule, ObjectiveRule, OverrideRule, TrafficShiftRule } from '../rules/model.js';

/** "<objective>/<model>": the routing key of a model reached through an objective. */
export function routingKey(objective: string, model: string): string {
  return `${objective}/${model}`;
}

export interface ObjectiveReach {
  readonly objective: ObjectiveRule;
  readonly experiments: readonly ExperimentRule[];
  readonly shift?: TrafficShiftRule;
  readonly overrides: readonly OverrideRule[];
}

/**
 * Every model a request for this objective can be resolved to, sorted: the default model, the
 * models of the experiment cells targeting it, the traffic shift's destination (its origin is the
 * default model) and the override models. Shadow models are mirrored, never resolved to.
 */
export function reachableModels(reach: ObjectiveReach): string[] {
  const models = new Set<string>([reach.objective.defaultModel]);
  for (const e of reach.experiments) for (const c of e.cells) models.add(c.model);
  if (reach.shift) models.add(reach.shift.to);
  for (const o of reach.overrides) models.add(o.model);
  return [...models].sort(compareStrings);
}
