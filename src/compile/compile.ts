// The compiler: a pure function from a validated RuleSet to xDS resources plus the resolver table.
// No I/O, no clock, no randomness; the same rules give byte-identical output whatever the order of
// the rule maps.
//
//   plan            group rules per objective/model, check references and invariants, fix order
//   routes          RouteConfiguration (routing-key routes, then per-objective fallbacks)
//   clusters        one EDS Cluster per shard
//   endpoints       one ClusterLoadAssignment per shard
//   listener        the proxyless api_listener
//   resolver-table  the table resolver clients consume
import { TypeUrl } from '../proto/type-urls.js';
import type { RuleSet } from '../rules/model.js';
import { buildClusters } from './clusters.js';
import { Diagnostics } from './diagnostics.js';
import { buildEndpoints } from './endpoints.js';
import { buildListener } from './listener.js';
import { buildPlan } from './plan.js';
import { buildResolverTable } from './resolver-table.js';
import { buildRoutes } from './routes.js';
import type { CompileOptions, CompileResult } from './types.js';
import { buildOrigins } from './origins.js';
import { applyReadiness } from './readiness.js';
import type { CompileCache } from './cache.js';

/**
 * Compiles a validated rule set. Throws an AggregateSwitchyardError listing every COMP_* problem
 * (dangling references, conflicting rules, impossible percents, routing-key collisions).
 */
export function compile(ruleSet: RuleSet, options: CompileOptions = {}, cache?: CompileCache): CompileResult {
  const diagnostics = new Diagnostics();
  const plan = buildPlan(options.readiness ? applyReadiness(ruleSet, options.readiness) : ruleSet, options, diagnostics);
  diagnostics.throwIfAny();
  if (cache) {
    // Same output, reusing the pieces whose rules did not change (see cache.ts).
    const { routes, table } = cache.routesAndTable(plan);
    return {
      resources: {
        [TypeUrl.Cluster]: plan.shards.map((s) => cache.cluster(s)),
        [TypeUrl.ClusterLoadAssignment]: plan.shards.map((s) => cache.loadAssignment(s)),
        [TypeUrl.Listener]: [cache.apiListener(plan.listenerName)],
        [TypeUrl.RouteConfiguration]: [routes],
      },
      resolverTable: table,
      origins: buildOrigins(plan),
    };
  }
  return {
    resources: {
      [TypeUrl.Cluster]: buildClusters(plan.shards),
      [TypeUrl.ClusterLoadAssignment]: buildEndpoints(plan.shards),
      [TypeUrl.Listener]: [buildListener(plan.listenerName)],
      [TypeUrl.RouteConfiguration]: [buildRoutes(plan)],
    },
    resolverTable: buildResolverTable(plan),
    origins: buildOrigins(plan),
  };
}
