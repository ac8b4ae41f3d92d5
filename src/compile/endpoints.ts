// One ClusterLoadAssignment per shard: IP endpoints grouped into localities by (region, zone), each
// locality weighted by the sum of its endpoint weights (proxyless gRPC drops unweighted localities).
import { buildLoadAssignment, type LocalityInput } from '../proto/builders.js';
import type { ShardEndpoint, ShardRule } from '../rules/model.js';
import { compareStrings } from './order.js';

const DEFAULT_ENDPOINT_WEIGHT = 1;

function compareEndpoints(a: ShardEndpoint, b: ShardEndpoint): number {
  return compareStrings(a.address, b.address) || a.port - b.port;
}

/** Localities sorted by (region, zone), endpoints sorted by (address, port): file order does not matter. */
export function localities(shard: ShardRule): LocalityInput[] {
  const groups = new Map<string, { region: string; zone: string; endpoints: ShardEndpoint[] }>();
  for (const e of shard.endpoints) {
    const region = e.region ?? '';
    const zone = e.zone ?? '';
    const key = `${region}\u0000${zone}`;
    const g = groups.get(key);
    if (g) g.endpoints.push(e);
    else groups.set(key, { region, zone, endpoints: [e] });
  }
  return [...groups.values()]
    .sort((a, b) => compareStrings(a.region, b.region) || compareStrings(a.zone, b.zone))
    .map((g) => {
      const endpoints = [...g.endpoints].sort(compareEndpoints).map((e) => ({
        address: e.address,
        port: e.port,
        weight: e.weight ?? DEFAULT_ENDPOINT_WEIGHT,
      }));
      return {
        ...(g.region ? { region: g.region } : {}),
        ...(g.zone ? { zone: g.zone } : {}),
        weight: endpoints.reduce((sum, e) => sum + e.weight, 0),
        endpoints,
      };
    });
}

export function buildEndpoints(shards: readonly ShardRule[]): object[] {
  return shards.map((s) => buildLoadAssignment({ clusterName: s.name, localities: localities(s) }));
}
