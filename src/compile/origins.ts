// Where each compiled resource comes from: shards give clusters and endpoints, objectives give
// their routes. Lets later stages (validation before publishing) report the rule's file:line.
import { TypeUrl } from '../proto/type-urls.js';
import type { SourceLocation } from '../rules/model.js';
import type { CompilePlan } from './plan.js';
import { fallbackRouteName, routingKeyRouteName } from './routes.js';
import type { CompileOrigins } from './types.js';

/** Where each resource and route comes from; read only when a resource fails validation, so built on first use. */
export function buildOrigins(plan: CompilePlan): CompileOrigins {
  let resources: CompileOrigins['resources'] | undefined;
  let routes: CompileOrigins['routes'] | undefined;
  return {
    get resources() {
      if (!resources) {
        const shards: Record<string, SourceLocation> = {};
        for (const s of plan.shards) shards[s.name] = s.loc;
        resources = { [TypeUrl.Cluster]: shards, [TypeUrl.ClusterLoadAssignment]: shards };
      }
      return resources;
    },
    get routes() {
      if (!routes) {
        const out: Record<string, SourceLocation> = {};
        for (const p of plan.objectives) {
          out[fallbackRouteName(p.objective.name)] = p.objective.loc;
          for (const r of p.reached) out[routingKeyRouteName(r.routingKey)] = p.objective.loc;
        }
        routes = out;
      }
      return routes;
    },
  };
}
