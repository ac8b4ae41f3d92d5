// Small hand-built snapshots for server tests: N shard clusters with endpoints, routes on
// x-routing-key, a proxyless listener.
import { buildApiListener, buildEdsCluster, buildLoadAssignment, buildRouteConfiguration, type RouteInput } from '../../src/proto/builders.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { createSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';

export interface TestTopology {
  /** cluster name -> backend ports on 127.0.0.1 */
  clusters: Record<string, number[]>;
  /** routing key -> cluster */
  routes: Record<string, string>;
  /** route configuration name (and listener name). */
  name?: string;
  /** Extra route options applied to every route. */
  routeExtras?: Partial<RouteInput>;
}

export function topologySnapshot(t: TestTopology): Snapshot {
  const name = t.name ?? 'model-serving';
  const clusters = Object.keys(t.clusters).sort();
  const routes: RouteInput[] = Object.keys(t.routes)
    .sort()
    .map((key) => ({ name: `rk:${key}`, headers: [{ name: 'x-routing-key', exact: key }], cluster: t.routes[key]!, ...t.routeExtras }));
  return createSnapshot({
    [TypeUrl.Cluster]: clusters.map((c) => buildEdsCluster({ name: c })),
    [TypeUrl.ClusterLoadAssignment]: clusters.map((c) =>
      buildLoadAssignment({ clusterName: c, localities: [{ zone: 'local', weight: 1, endpoints: t.clusters[c]!.map((port) => ({ address: '127.0.0.1', port })) }] }),
    ),
    [TypeUrl.Listener]: [buildApiListener({ name, routeConfigName: name })],
    [TypeUrl.RouteConfiguration]: [buildRouteConfiguration({ name, virtualHosts: [{ name: 'all', domains: ['*'], routes }] })],
  });
}

/** Many clusters, one route each: the shape of the fan-out benchmark. */
export function wideSnapshot(clusterCount: number, routeSalt = 'a'): Snapshot {
  const clusters: Record<string, number[]> = {};
  const routes: Record<string, string> = {};
  for (let i = 0; i < clusterCount; i++) {
    const c = `shard-${String(i).padStart(3, '0')}`;
    clusters[c] = [20000 + i];
    routes[`objective-${i}/${routeSalt}`] = c;
  }
  return topologySnapshot({ clusters, routes });
}
