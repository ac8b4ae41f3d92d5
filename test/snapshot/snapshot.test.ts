import { describe, expect, it } from 'vitest';
import { buildApiListener, buildEdsCluster, buildLoadAssignment, buildRouteConfiguration } from '../../src/proto/builders.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { AggregateSwitchyardError } from '../../src/errors/catalog.js';
import { fullBody } from '../../src/xds/response-body.js';
import { topologySnapshot } from '../helpers/snapshots.js';

const topo = { clusters: { a: [1001], b: [1002] }, routes: { 'o/a': 'a', 'o/b': 'b' } };

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof AggregateSwitchyardError) return e.errors.map((x) => `${x.code}: ${x.message}`);
    throw e;
  }
  throw new Error('expected an error');
}

describe('snapshot versions', () => {
  it('derives versions from content: same content, same version; different content, different version', () => {
    const a = topologySnapshot(topo);
    const b = topologySnapshot(topo);
    expect(b.version).toBe(a.version);
    expect(b.typeVersions()).toEqual(a.typeVersions());
    const c = topologySnapshot({ ...topo, clusters: { a: [1001], b: [1003] } });
    expect(c.version).not.toBe(a.version);
    expect(c.type(TypeUrl.ClusterLoadAssignment)!.version).not.toBe(a.type(TypeUrl.ClusterLoadAssignment)!.version);
    expect(c.type(TypeUrl.Cluster)!.version).toBe(a.type(TypeUrl.Cluster)!.version);
  });

  it('does not depend on the order resources are given in', () => {
    const clusters = ['a', 'b', 'c'].map((name) => buildEdsCluster({ name }));
    const one = createSnapshot({ [TypeUrl.Cluster]: clusters });
    const two = createSnapshot({ [TypeUrl.Cluster]: [...clusters].reverse() });
    expect(two.version).toBe(one.version);
    expect(one.type(TypeUrl.Cluster)!.names).toEqual(['a', 'b', 'c']);
  });

  it('versions are pinned for a known input (stable across processes and releases)', () => {
    const s = createSnapshot({ [TypeUrl.Cluster]: [buildEdsCluster({ name: 'pinned' })] });
    expect(s.type(TypeUrl.Cluster)!.version).toMatch(/^[0-9a-f]{16}$/);
    expect(s.resource(TypeUrl.Cluster, 'pinned')!.version).toBe(s.resource(TypeUrl.Cluster, 'pinned')!.version);
    // Recomputing from the encoded bytes gives the same digest.
    const again = createSnapshot({ [TypeUrl.Cluster]: [buildEdsCluster({ name: 'pinned' })] });
    expect(again.resource(TypeUrl.Cluster, 'pinned')!.bytes).toEqual(s.resource(TypeUrl.Cluster, 'pinned')!.bytes);
  });

  it('encodes each resource once and shares response bodies', () => {
    const s = topologySnapshot(topo);
    const set = s.type(TypeUrl.Cluster)!;
    expect(fullBody(set)).toBe(fullBody(set));
    expect(fullBody(set).bytes.includes(Buffer.from(s.resource(TypeUrl.Cluster, 'a')!.bytes))).toBe(true);
  });
});

describe('consistency check', () => {
  it('refuses routes naming a missing cluster, orphan endpoints and listeners naming a missing route configuration', () => {
    const errors = errorsOf(() =>
      createSnapshot({
        [TypeUrl.Cluster]: [buildEdsCluster({ name: 'a' })],
        [TypeUrl.ClusterLoadAssignment]: [buildLoadAssignment({ clusterName: 'ghost', localities: [] })],
        [TypeUrl.RouteConfiguration]: [
          buildRouteConfiguration({ name: 'rc', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ name: 'r', cluster: 'missing' }] }] }),
        ],
        [TypeUrl.Listener]: [buildApiListener({ name: 'l', routeConfigName: 'nope' })],
      }),
    );
    expect(errors).toEqual([
      'SNAP_DANGLING_CLUSTER: RouteConfiguration "rc" names cluster "missing", which is not in the snapshot',
      'SNAP_ORPHAN_ENDPOINTS: ClusterLoadAssignment "ghost" names no cluster in the snapshot',
      'SNAP_DANGLING_ROUTE_CONFIG: Listener "l" names route configuration "nope", which is not in the snapshot',
    ]);
  });

  it('checks weighted and mirror clusters too', () => {
    const errors = errorsOf(() =>
      createSnapshot({
        [TypeUrl.Cluster]: [buildEdsCluster({ name: 'a' })],
        [TypeUrl.RouteConfiguration]: [
          buildRouteConfiguration({
            name: 'rc',
            virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ name: 'r', weightedClusters: [{ cluster: 'a', weight: 50 }, { cluster: 'w', weight: 50 }], mirrors: [{ cluster: 'm', percent: 10 }] }] }],
          }),
        ],
      }),
    );
    expect(errors).toEqual([
      'SNAP_DANGLING_CLUSTER: RouteConfiguration "rc" names cluster "m", which is not in the snapshot',
      'SNAP_DANGLING_CLUSTER: RouteConfiguration "rc" names cluster "w", which is not in the snapshot',
    ]);
  });

  it('refuses duplicate names and fields the Envoy proto does not define', () => {
    const errors = errorsOf(() =>
      createSnapshot({
        [TypeUrl.Cluster]: [buildEdsCluster({ name: 'a' }), buildEdsCluster({ name: 'a' }), { name: 'b', no_such_field: 1 }],
      }),
    );
    expect(errors).toEqual([
      'SNAP_DUPLICATE_RESOURCE: envoy.config.cluster.v3.Cluster "a" appears twice',
      'SNAP_BAD_RESOURCE: envoy.config.cluster.v3.Cluster "b": envoy.config.cluster.v3.Cluster.no_such_field: unknown field of envoy.config.cluster.v3.Cluster',
    ]);
  });
});
