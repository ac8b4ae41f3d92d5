// One EDS Cluster per shard: HTTP/2 upstream (gRPC), circuit breakers from the shard's limits,
// outlier detection, connect timeout and load-balancing policy.
import { buildEdsCluster, type EdsClusterInput } from '../proto/builders.js';
import type { ShardRule } from '../rules/model.js';

export function clusterInput(shard: ShardRule): EdsClusterInput {
  const { limits, outlierDetection: od } = shard;
  return {
    name: shard.name,
    http2: true,
    ...(shard.connectTimeoutMs !== undefined ? { connectTimeoutMs: shard.connectTimeoutMs } : {}),
    ...(shard.lbPolicy !== undefined ? { lbPolicy: shard.lbPolicy } : {}),
    ...(limits
      ? {
          circuitBreakers: {
            maxConnections: limits.maxConnections,
            maxPendingRequests: limits.maxPendingRequests,
            maxRequests: limits.maxRequests,
            maxRetries: limits.maxRetries,
          },
        }
      : {}),
    ...(od
      ? {
          outlierDetection: {
            consecutive5xx: od.consecutive5xx,
            intervalMs: od.intervalMs,
            baseEjectionTimeMs: od.baseEjectionTimeMs,
            maxEjectionPercent: od.maxEjectionPercent,
          },
        }
      : {}),
  };
}

/** Every shard gets a cluster, referenced or not: operators define shards ahead of models. */
export function buildClusters(shards: readonly ShardRule[]): object[] {
  return shards.map((s) => buildEdsCluster(clusterInput(s)));
}
