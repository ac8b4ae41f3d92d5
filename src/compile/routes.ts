// The RouteConfiguration: one route per routing key (x-routing-key exact match), then one fallback
// route per objective (x-objective exact match) for clients that do not resolve.
import { buildRouteConfiguration, type MirrorInput, type RouteConfigurationInput, type RouteInput } from '../proto/builders.js';
import type { ShadowRule } from '../rules/model.js';
import { MODEL_RESPONSE_HEADER, OBJECTIVE_HEADER, RETRY_ON, ROUTING_KEY_HEADER } from './constants.js';
import { compareStrings } from './order.js';
import type { CompilePlan, ObjectivePlan } from './plan.js';
import { mirrorCluster, modelTarget, type RouteTarget } from './targets.js';

export function routingKeyRouteName(key: string): string {
  return `rk:${key}`;
}

export function fallbackRouteName(objective: string): string {
  return `objective:${objective}`;
}

/** Resolves model names to route targets and mirror clusters, once per model per compile. */
export class TargetIndex {
  private readonly targets = new Map<string, RouteTarget>();
  constructor(private readonly plan: CompilePlan) {}

  target(model: string): RouteTarget {
    let t = this.targets.get(model);
    if (!t) {
      t = modelTarget(this.plan.models.get(model)!, this.plan.migrations.get(model));
      this.targets.set(model, t);
    }
    return t;
  }

  mirror(shadow: ShadowRule): MirrorInput {
    return { cluster: mirrorCluster(this.plan.models.get(shadow.model)!, this.plan.migrations.get(shadow.model)), percent: shadow.percent };
  }
}

interface ObjectiveRouting {
  readonly timeoutMs: number;
  readonly numRetries: number;
  /** Shadows with a non-zero share, by shadow name. */
  readonly shadows: readonly ShadowRule[];
}

function route(name: string, header: string, value: string, model: string, o: ObjectiveRouting, targets: TargetIndex): RouteInput {
  // A shadow of the very model the route serves would only double that model's load.
  const mirrors = o.shadows.filter((s) => s.model !== model).map((s) => targets.mirror(s));
  return {
    name,
    headers: [{ name: header, exact: value }],
    ...targets.target(model),
    timeoutMs: o.timeoutMs,
    retry: { numRetries: o.numRetries, retryOn: RETRY_ON },
    ...(mirrors.length > 0 ? { mirrors } : {}),
    responseHeaders: { [MODEL_RESPONSE_HEADER]: model },
  };
}

function objectiveRouting(p: ObjectivePlan): ObjectiveRouting {
  return {
    timeoutMs: p.objective.timeoutMs,
    numRetries: p.objective.retries,
    shadows: p.shadows.filter((s) => s.percent > 0),
  };
}

/** One objective's routes: a routing-key route per reached model (by model), and its fallback route. */
export function objectiveRoutes(p: ObjectivePlan, targets: TargetIndex): { keyed: { key: string; route: RouteInput }[]; fallback: RouteInput } {
  const o = objectiveRouting(p);
  const keyed = p.reached.map((r) => ({ key: r.routingKey, route: route(routingKeyRouteName(r.routingKey), ROUTING_KEY_HEADER, r.routingKey, r.model, o, targets) }));
  return { keyed, fallback: route(fallbackRouteName(p.objective.name), OBJECTIVE_HEADER, p.objective.name, p.objective.defaultModel, o, targets) };
}

/** The route inputs, in match order: routing-key routes by key, then fallbacks by objective. */
export function routeInputs(plan: CompilePlan): RouteInput[] {
  const targets = new TargetIndex(plan);
  const keyed: { key: string; route: RouteInput }[] = [];
  const fallbacks: RouteInput[] = [];
  for (const p of plan.objectives) {
    const r = objectiveRoutes(p, targets);
    keyed.push(...r.keyed);
    // plan.objectives is sorted by name, so fallbacks are too.
    fallbacks.push(r.fallback);
  }
  keyed.sort((a, b) => compareStrings(a.key, b.key));
  return [...keyed.map((k) => k.route), ...fallbacks];
}

/** The RouteConfiguration around `routes` (given in match order). */
export function routeConfigurationInput(plan: CompilePlan, routes: RouteInput[]): RouteConfigurationInput {
  return { name: plan.listenerName, virtualHosts: [{ name: plan.listenerName, domains: ['*'], routes }] };
}

export function buildRoutes(plan: CompilePlan): object {
  return buildRouteConfiguration(routeConfigurationInput(plan, routeInputs(plan)));
}
