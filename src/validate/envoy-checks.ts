// Checks Envoy applies in code rather than in PGV annotations, for the types Switchyard sends.
// Each cites the Envoy behaviour it mirrors; they run wherever the type appears (also inside an
// Any or an inline route configuration), like the PGV rules.
import { isObj, quote, toNumber, type Obj, type Walk } from './values.js';

const UINT32_MAX = 0xffffffff;

function set(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function wrapped(v: unknown): number {
  if (!isObj(v)) return v === undefined || v === null ? 0 : toNumber(v);
  return v.value === undefined || v.value === null ? 0 : toNumber(v.value);
}

/**
 * RouteAction.WeightedCluster (route_entry_impl.cc): every ClusterWeight names a cluster (the
 * proto lost its min_len rule in v3), the weights sum to more than 0 and fit in uint32, and a
 * deprecated total_weight, when set, equals that sum.
 */
function weightedCluster(obj: Obj, w: Walk): void {
  const clusters = Array.isArray(obj.clusters) ? (obj.clusters as unknown[]) : [];
  let sum = 0;
  w.path.push('clusters');
  for (let i = 0; i < clusters.length; i++) {
    const c = clusters[i];
    if (!isObj(c)) continue;
    sum += wrapped(c.weight);
    if (set(c.name) || set(c.cluster_header)) continue;
    w.path.push(i);
    w.fail('name', 'envoy.weighted_clusters.name', 'must not be empty (or set cluster_header): a weighted cluster must name a cluster');
    w.path.pop();
  }
  w.path.pop();
  if (clusters.length === 0) return; // repeated.min_items reports it
  const total = obj.total_weight !== undefined && obj.total_weight !== null ? wrapped(obj.total_weight) : 0;
  if (total > 0 && sum !== total) w.fail('clusters', 'envoy.weighted_clusters.total_weight', `weights must add up to total_weight ${total}, got ${sum}`);
  else if (sum <= 0) w.fail('clusters', 'envoy.weighted_clusters.total_weight', 'weights must add up to more than 0, got 0');
  else if (sum > UINT32_MAX) w.fail('clusters', 'envoy.weighted_clusters.total_weight', `weights must add up to at most ${UINT32_MAX}, got ${sum}`);
}

/**
 * Listener: Envoy needs an address (or an internal_listener) to bind; a proxyless gRPC listener
 * is an api_listener instead. One with neither serves nobody and Envoy rejects it.
 */
function listener(obj: Obj, w: Walk): void {
  if (set(obj.address) || set(obj.api_listener) || set(obj.internal_listener)) return;
  w.fail('api_listener', 'envoy.listener.address', `must be set, or address for an Envoy listener (listener ${quote(obj.name ?? '')} has neither)`);
}

/** Extra checks by message type full name (no leading dot). */
export const ENVOY_CHECKS: ReadonlyMap<string, (obj: Obj, w: Walk) => void> = new Map([
  ['envoy.config.route.v3.WeightedCluster', weightedCluster],
  ['envoy.config.listener.v3.Listener', listener],
]);
