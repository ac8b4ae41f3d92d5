import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { decodedRoutes, decodeSnapshot, routeByName } from './decode.js';
import { basicRules, fullRules, migration, model, objective, ruleSet, shadow, shard } from './fixtures.js';

function compileFull(shiftStep = 0) {
  const result = compile(ruleSet(fullRules()), { shiftSteps: { 'search-v4-rollout': shiftStep } });
  return { result, snapshot: createSnapshot(result.resources) };
}

describe('compiled resources', () => {
  it('pass the snapshot consistency check', () => {
    expect(() => createSnapshot(compile(ruleSet(basicRules())).resources)).not.toThrow();
    expect(() => compileFull()).not.toThrow();
  });

  it('emit one listener and one route configuration named after the listener', () => {
    const { snapshot } = compileFull();
    expect(snapshot.type(TypeUrl.Listener)!.names).toEqual(['model-serving']);
    expect(snapshot.type(TypeUrl.RouteConfiguration)!.names).toEqual(['model-serving']);
    const other = createSnapshot(compile(ruleSet(basicRules()), { listenerName: 'ranking' }).resources);
    expect(other.type(TypeUrl.Listener)!.names).toEqual(['ranking']);
    expect(other.type(TypeUrl.RouteConfiguration)!.names).toEqual(['ranking']);
    const [l] = decodeSnapshot(other)[TypeUrl.Listener]!;
    expect(JSON.stringify(l)).toContain('"route_config_name":"ranking"');
  });

  it('emit a cluster and a load assignment for every shard, referenced or not', () => {
    const { snapshot } = compileFull();
    const shards = ['shard-a', 'shard-b', 'shard-c', 'shard-spare'];
    expect(snapshot.type(TypeUrl.Cluster)!.names).toEqual(shards);
    expect(snapshot.type(TypeUrl.ClusterLoadAssignment)!.names).toEqual(shards);
  });

  it('group endpoints into localities weighted by the sum of their endpoint weights', () => {
    const { snapshot } = compileFull();
    const cla = decodeSnapshot(snapshot)[TypeUrl.ClusterLoadAssignment]!.find((c) => c.cluster_name === 'shard-a') as {
      endpoints: { locality: { zone: string }; load_balancing_weight: { value: number }; lb_endpoints: unknown[] }[];
    };
    expect(cla.endpoints.map((l) => [l.locality.zone, l.load_balancing_weight.value, l.lb_endpoints.length])).toEqual([
      ['us-east-1a', 4, 2],
      ['us-east-1b', 1, 1],
    ]);
  });

  it('order routes: routing-key routes by key, then objective fallbacks by objective', () => {
    const names = decodedRoutes(compileFull().snapshot).map((r) => r.name);
    expect(names).toEqual([
      'rk:ContinueWatchingRanking/ranker-exp',
      'rk:ContinueWatchingRanking/ranker-v1',
      'rk:ContinueWatchingRanking/ranker-v2',
      'rk:ContinueWatchingRanking/ranker-v3',
      'rk:SearchRanking/search-test',
      'rk:SearchRanking/search-v3',
      'rk:SearchRanking/search-v4',
      'objective:ContinueWatchingRanking',
      'objective:SearchRanking',
    ]);
  });

  it('sort routing-key routes by the whole key, not by objective then model', () => {
    const rs = ruleSet([
      shard('s', [{ address: '10.0.0.1', port: 80 }]),
      model('x', 's'),
      model('y', 's'),
      objective('a', 'x'),
      objective('a-b', 'y'),
    ]);
    const names = decodedRoutes(createSnapshot(compile(rs).resources)).map((r) => r.name);
    // "a-b/y" < "a/x" because "-" (0x2d) sorts before "/" (0x2f).
    expect(names).toEqual(['rk:a-b/y', 'rk:a/x', 'objective:a', 'objective:a-b']);
  });

  it('match the routing key exactly and carry the objective timeout, retries and model header', () => {
    const r = routeByName(compileFull().snapshot, 'rk:SearchRanking/search-v3');
    expect(r.match).toEqual({ prefix: '/', headers: [{ name: 'x-routing-key', string_match: { exact: 'SearchRanking/search-v3' } }] });
    expect(r.route.cluster).toBe('shard-b');
    expect(r.route.timeout).toEqual({ seconds: '1', nanos: 250_000_000 });
    expect(r.route.retry_policy).toBeUndefined(); // retries: 0
    expect(r.response_headers_to_add.map((h) => h.header)).toEqual([{ key: 'x-switchyard-model', value: 'search-v3' }]);
    const c = routeByName(compileFull().snapshot, 'rk:ContinueWatchingRanking/ranker-v1');
    expect(c.route.retry_policy).toEqual({ retry_on: 'unavailable,resource-exhausted', num_retries: { value: 1 } });
  });

  it('give weighted clusters to a migrating model only, and only while the migration is partial', () => {
    const routes = decodedRoutes(compileFull().snapshot);
    const weighted = routes.filter((r) => r.route.weighted_clusters).map((r) => r.name);
    expect(weighted).toEqual(['rk:ContinueWatchingRanking/ranker-v2']);
    const r = routeByName(compileFull().snapshot, 'rk:ContinueWatchingRanking/ranker-v2');
    expect(r.route.weighted_clusters!.clusters).toEqual([
      { name: 'shard-a', weight: { value: 70 } },
      { name: 'shard-c', weight: { value: 30 } },
    ]);
    expect(r.route.cluster).toBeUndefined();
    // 0 %: the from shard only; 100 %: the to shard only.
    expect(routeByName(compileFull().snapshot, 'rk:SearchRanking/search-v4').route.cluster).toBe('shard-b');
    expect(routeByName(compileFull().snapshot, 'rk:ContinueWatchingRanking/ranker-exp').route.cluster).toBe('shard-b');
  });

  it('scale fractional migration percents to integer weights', () => {
    const rs = ruleSet([
      shard('old', [{ address: '10.0.0.1', port: 80 }]),
      shard('new', [{ address: '10.0.0.2', port: 80 }]),
      model('m', 'old'),
      objective('o', 'm'),
      migration('mig', 'm', 'old', 'new', 12.5),
    ]);
    const r = routeByName(createSnapshot(compile(rs).resources), 'rk:o/m');
    expect(r.route.weighted_clusters!.clusters).toEqual([
      { name: 'old', weight: { value: 875_000 } },
      { name: 'new', weight: { value: 125_000 } },
    ]);
  });

  it('mirror an objective to its shadows on every route of the objective except the shadow model own route', () => {
    const { snapshot } = compileFull();
    const mirrored = decodedRoutes(snapshot)
      .filter((r) => r.route.request_mirror_policies)
      .map((r) => r.name);
    expect(mirrored).toEqual([
      'rk:ContinueWatchingRanking/ranker-exp',
      'rk:ContinueWatchingRanking/ranker-v1',
      'rk:ContinueWatchingRanking/ranker-v2',
      'objective:ContinueWatchingRanking',
    ]);
    expect(routeByName(snapshot, 'objective:ContinueWatchingRanking').route.request_mirror_policies).toEqual([
      { cluster: 'shard-c', runtime_fraction: { default_value: { numerator: 100_000, denominator: 'MILLION' } } },
    ]);
  });

  it('mirror to the shard a migrating shadow model currently lives on, and skip 0 % shadows', () => {
    const rs = ruleSet([
      shard('old', [{ address: '10.0.0.1', port: 80 }]),
      shard('new', [{ address: '10.0.0.2', port: 80 }]),
      model('live', 'old'),
      model('cand', 'old'),
      model('cand2', 'old'),
      objective('o', 'live'),
      migration('mig', 'cand', 'old', 'new', 100),
      shadow('s1', 'o', 'cand', 2.5),
      shadow('s0', 'o', 'cand2', 0),
    ]);
    const r = routeByName(createSnapshot(compile(rs).resources), 'objective:o');
    expect(r.route.request_mirror_policies).toEqual([{ cluster: 'new', runtime_fraction: { default_value: { numerator: 25_000, denominator: 'MILLION' } } }]);
  });

  it('route clients that do not resolve to the default model on x-objective, with the same treatment', () => {
    const { snapshot } = compileFull();
    const f = routeByName(snapshot, 'objective:SearchRanking');
    expect(f.match.headers).toEqual([{ name: 'x-objective', string_match: { exact: 'SearchRanking' } }]);
    expect(f.route.cluster).toBe('shard-b');
    expect(f.response_headers_to_add[0]!.header).toEqual({ key: 'x-switchyard-model', value: 'search-v3' });
    const keyed = routeByName(snapshot, 'rk:SearchRanking/search-v3');
    expect(f.route).toEqual(keyed.route);
  });

  it('does not let the shadow model become reachable', () => {
    const { result } = compileFull();
    expect(Object.keys(result.resolverTable.objectives.ContinueWatchingRanking!.routingKeys)).toEqual([
      'ranker-exp',
      'ranker-v1',
      'ranker-v2',
      'ranker-v3', // through the qa-ranker override, not the shadow
    ]);
  });
});
