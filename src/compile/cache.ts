// Memoized compile passes for repeated compiles of a rule set that changes a little at a time (the
// rules pipeline). The output is the same as without the cache, value for value; what changes is
// that a piece whose inputs are the same rule objects as last time is the same object as last time:
// a cluster per shard rule, the routes and resolver entry of an objective per the rules that feed
// them, a resolver model per model rule. Rule objects are immutable and the incremental loader
// (src/rules/load-cache.ts) keeps them across loads for files that did not change, so identity
// is the cheap and exact key. Downstream layers key their own caches (encoded bytes, validation)
// on these objects' identity, so nothing the cache returns may be mutated.
import { buildEdsCluster, buildLoadAssignment, buildRouteConfiguration, type RouteInput } from '../proto/builders.js';
import type { ModelRule, ShardRule } from '../rules/model.js';
import { clusterInput } from './clusters.js';
import { localities } from './endpoints.js';
import { buildListener } from './listener.js';
import { compareStrings, sortedRecord } from './order.js';
import type { CompilePlan, ObjectivePlan } from './plan.js';
import { model as resolverModel, objective as resolverObjective } from './resolver-table.js';
import { objectiveRoutes, routeConfigurationInput, TargetIndex } from './routes.js';
import type { ResolverModel, ResolverObjective, ResolverTable } from './types.js';

interface ObjectiveEntry {
  /** The rule objects (and numbers) the objective's routes and resolver entry are a function of. */
  readonly deps: readonly unknown[];
  readonly keyed: readonly { readonly key: string; readonly route: object }[];
  readonly fallback: object;
  readonly resolver: ResolverObjective;
}

/** A record rebuilt only when its values are not the same objects, in the same order, as last time. */
class RecordMemo<T> {
  private values: readonly T[] = [];
  private record: Record<string, T> | undefined;

  /** sortedRecord of `values` keyed by `key`. */
  get(values: readonly T[], key: (value: T) => string): Record<string, T> {
    const same = this.record !== undefined && values.length === this.values.length && values.every((v, i) => v === this.values[i]);
    if (!same) {
      this.record = sortedRecord(values.map((v) => [key(v), v] as const));
      this.values = values;
    }
    return this.record!;
  }
}

/** Keeps what the previous compiles built; pass the same instance to every compile of one pipeline. */
export class CompileCache {
  private readonly clusters = new WeakMap<ShardRule, object>();
  private readonly endpoints = new WeakMap<ShardRule, object>();
  private readonly models = new WeakMap<ModelRule, ResolverModel>();
  private objectives = new Map<string, ObjectiveEntry>();
  private listener: { name: string; resource: object } | undefined;
  private readonly objectiveRecord = new RecordMemo<ResolverObjective>();
  private readonly modelRecord = new RecordMemo<ResolverModel>();

  cluster(shard: ShardRule): object {
    let c = this.clusters.get(shard);
    if (!c) {
      c = buildEdsCluster(clusterInput(shard));
      this.clusters.set(shard, c);
    }
    return c;
  }

  loadAssignment(shard: ShardRule): object {
    let c = this.endpoints.get(shard);
    if (!c) {
      c = buildLoadAssignment({ clusterName: shard.name, localities: localities(shard) });
      this.endpoints.set(shard, c);
    }
    return c;
  }

  apiListener(name: string): object {
    if (this.listener?.name !== name) this.listener = { name, resource: buildListener(name) };
    return this.listener.resource;
  }

  /** The RouteConfiguration (as buildRoutes builds it) and the resolver table (as buildResolverTable does). */
  routesAndTable(plan: CompilePlan): { routes: object; table: ResolverTable } {
    const targets = new TargetIndex(plan);
    const next = new Map<string, ObjectiveEntry>();
    // Objectives whose inputs changed get their routes built (all of them in one builder call).
    const stale: Array<{ p: ObjectivePlan; deps: unknown[]; keyed: { key: string; route: RouteInput }[]; fallback: RouteInput }> = [];
    for (const p of plan.objectives) {
      const deps = depsOf(plan, p);
      const entry = this.objectives.get(p.objective.name);
      if (entry && sameDeps(entry.deps, deps)) next.set(p.objective.name, entry);
      else stale.push({ p, deps, ...objectiveRoutes(p, targets) });
    }
    const plain = plainRoutes(stale.flatMap((s) => [...s.keyed.map((k) => k.route), s.fallback]));
    let at = 0;
    for (const s of stale) {
      const keyedRoutes = s.keyed.map((k) => ({ key: k.key, route: plain[at++]! }));
      next.set(s.p.objective.name, { deps: s.deps, keyed: keyedRoutes, fallback: plain[at++]!, resolver: resolverObjective(s.p) });
    }
    const keyed: { key: string; route: object }[] = [];
    const fallbacks: object[] = [];
    for (const p of plan.objectives) {
      const entry = next.get(p.objective.name)!;
      keyed.push(...entry.keyed);
      fallbacks.push(entry.fallback);
    }
    this.objectives = next;
    keyed.sort((a, b) => compareStrings(a.key, b.key));
    const rc = buildRouteConfiguration(routeConfigurationInput(plan, [])) as { virtual_hosts: Array<{ routes: object[] }> };
    rc.virtual_hosts[0]!.routes = [...keyed.map((k) => k.route), ...fallbacks];

    const models = plan.sortedModels.map((m) => {
      let r = this.models.get(m);
      if (!r) {
        r = resolverModel(m);
        this.models.set(m, r);
      }
      return r;
    });
    const table: ResolverTable = {
      objectives: this.objectiveRecord.get(
        plan.objectives.map((p) => next.get(p.objective.name)!.resolver),
        (o) => o.name,
      ),
      models: this.modelRecord.get(models, (m) => m.name),
      clients: sortedRecord(plan.clients.map((c) => [c.name, { testTraffic: c.testTraffic }] as const)),
    };
    return { routes: rc, table };
  }
}

/** What an objective's routes and resolver entry read from the plan, as rule objects (compared by identity). */
function depsOf(plan: CompilePlan, p: ObjectivePlan): unknown[] {
  const deps: unknown[] = [p.objective, p.experiments.length, ...p.experiments, p.shift?.rule, p.shift?.stepIndex, p.shift?.percent, p.overrides.length, ...p.overrides, p.shadows.length, ...p.shadows, p.reached.length];
  // Targets of the reached models (the default model is one of them) and of the shadows' models.
  for (const r of p.reached) deps.push(r.model, r.routingKey, plan.models.get(r.model), plan.migrations.get(r.model));
  for (const s of p.shadows) deps.push(plan.models.get(s.model), plan.migrations.get(s.model));
  return deps;
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The plain route messages buildRouteConfiguration makes of route inputs, in order. */
function plainRoutes(routes: RouteInput[]): object[] {
  if (routes.length === 0) return [];
  const rc = buildRouteConfiguration({ name: '', virtualHosts: [{ name: '', domains: [], routes }] }) as { virtual_hosts: Array<{ routes: object[] }> };
  return rc.virtual_hosts[0]!.routes;
}
