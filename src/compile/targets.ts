// Where a model's traffic goes: its shard's cluster, or two weighted shard clusters while the model
// migrates between shards (the only case that produces weighted clusters).
import type { WeightedTarget } from '../proto/builders.js';
import type { MigrationRule, ModelRule } from '../rules/model.js';

export interface RouteTarget {
  /** Exactly one of cluster and weightedClusters is set. */
  readonly cluster?: string;
  readonly weightedClusters?: WeightedTarget[];
}

/**
 * Weights of the `from` and `to` shards: 100 - percent and percent; a fractional percent (up to
 * four decimals) is scaled to parts per million so that weights stay integers.
 */
export function migrationWeights(percent: number): { from: number; to: number } {
  if (Number.isInteger(percent)) return { from: 100 - percent, to: percent };
  const to = Math.round(percent * 10_000);
  return { from: 1_000_000 - to, to };
}

export function modelTarget(model: ModelRule, migration: MigrationRule | undefined): RouteTarget {
  if (!migration || migration.from === migration.to) return { cluster: migration?.to ?? model.shard };
  const w = migrationWeights(migration.percent);
  const clusters: WeightedTarget[] = [];
  if (w.from > 0) clusters.push({ cluster: migration.from, weight: w.from });
  if (w.to > 0) clusters.push({ cluster: migration.to, weight: w.to });
  // A zero-weight side is dropped; one remaining side is a plain cluster route.
  if (clusters.length === 1) return { cluster: clusters[0]!.cluster };
  return { weightedClusters: clusters };
}

/**
 * The single cluster a shadow of `model` is mirrored to (Envoy mirrors to one cluster per policy):
 * the migration's `to` shard once the migration has reached 100 percent, its `from` shard before,
 * and the model's own shard when it does not migrate.
 */
export function mirrorCluster(model: ModelRule, migration: MigrationRule | undefined): string {
  if (!migration) return model.shard;
  return migration.percent >= 100 ? migration.to : migration.from;
}
