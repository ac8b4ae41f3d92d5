// Where each compiled resource comes from: shards give clusters and endpoints, objectives give
// their routes. Lets later stages (validation before publishing) report the rule's file:line.
import { TypeUrl } from '../proto/type-urls.js';
import type { SourceLocation } from '../rules/model.js';
import type { CompilePlan } from './plan.js';
import { fallbackRouteName, routingKeyRouteName } from './routes.js';
import type { CompileOrigins } from './types.js';

export function buildOrigins(plan: CompilePlan): CompileOrigins {
  const shards: Record<string, SourceLocation> = {};
  for (const s of plan.shards) shards[s.name] = s.loc;
  const routes: Record<string, SourceLocation> = {};
  for (const p of plan.objectives) {
    routes[fallbackRouteName(p.objective.name)] = p.objective.loc;
    for (const r of p.reached) routes[routingKeyRouteName(r.routingKey)] = p.objective.loc;
  }
  return {
    resources: { [TypeUrl.Cluster]: shards, [TypeUrl.ClusterLoadAssignment]: shards },
    routes,
  };
}
