// Per-proxy sync status as operators read it (like istioctl proxy-status): for each ADS stream and
// each type, SYNCED when the content it ACKed is its target's (the snapshot the server delivers to
// it now: the live one, or during a rollout the last good one until its wave opens), STALE when it
// ACKed an older one (or has not ACKed what was sent), NACKED when its last NACK is newer than its
// last ACK, NOT SENT when it subscribed and got nothing yet, NOT SUBSCRIBED when it never asked.
import { isGrpcClient } from '../xds/node-info.js';
import type { NodeInfo, ServedSnapshot } from '../xds/provider.js';
import type { StreamStatus, TypeStatus } from '../xds/stream-status.js';
import { PUSH_ORDER, shortName, TypeUrl } from '../proto/type-urls.js';
import type { ClientKind, ProxyView, SyncStatus, TypeSyncView } from './types.js';

/** The columns of `switchyard status`, and the types every proxy view lists. */
export const STATUS_TYPES: readonly string[] = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration];

export function clientKind(node: NodeInfo): ClientKind {
  if (isGrpcClient(node)) return 'grpc';
  if (/^envoy\b/i.test(node.userAgent)) return 'envoy';
  return 'other';
}

/**
 * Types a proxy must hold for its configuration to be complete: proxyless gRPC clients ask for all
 * four; Envoy gets its listener from its bootstrap (LDS counts when it subscribes); other clients
 * need whatever they subscribed to.
 */
function requiredTypes(kind: ClientKind, present: ReadonlySet<string>): string[] {
  if (kind === 'grpc') return [...STATUS_TYPES];
  if (kind === 'envoy') return STATUS_TYPES.filter((t) => t !== TypeUrl.Listener || present.has(t));
  return [...present];
}

export function syncStatus(t: TypeStatus, target: string | undefined): SyncStatus {
  if (t.lastNack && (t.ackedAt === null || Date.parse(t.lastNack.at) >= Date.parse(t.ackedAt))) return 'NACKED';
  if (t.lastSentVersion === '') return 'NOT SENT';
  if (target !== undefined && t.ackedSnapshot === target) return 'SYNCED';
  return 'STALE';
}

function typeView(t: TypeStatus, target: string | undefined): TypeSyncView {
  return {
    typeUrl: t.typeUrl,
    type: t.type,
    status: syncStatus(t, target),
    ackedVersion: t.ackedVersion,
    ackedSnapshot: t.ackedSnapshot,
    lastSentVersion: t.lastSentVersion,
    lastSentAt: t.lastSentAt,
    ackedAt: t.ackedAt,
    pendingAck: t.pendingAck,
    wildcard: t.wildcard,
    subscribed: t.subscribed.length,
    waitingFor: [...t.waitingFor],
    lastNack: t.lastNack ? { ...t.lastNack } : null,
  };
}

function notSubscribed(typeUrl: string): TypeSyncView {
  return {
    typeUrl,
    type: shortName(typeUrl),
    status: 'NOT SUBSCRIBED',
    ackedVersion: '',
    ackedSnapshot: '',
    lastSentVersion: '',
    lastSentAt: null,
    ackedAt: null,
    pendingAck: false,
    wildcard: false,
    subscribed: 0,
    waitingFor: [],
    lastNack: null,
  };
}

/**
 * Clusters named by the routes this stream subscribes to are subscribed in CDS and EDS too; and a
 * client that names its clusters (proxyless gRPC) has dropped those its routes no longer name: it
 * unsubscribes only after it ACKed the new routes, so until then it is still converging.
 */
function clustersCovered(st: StreamStatus, live: ServedSnapshot): boolean {
  const byType = new Map(st.types.map((t) => [t.typeUrl, t]));
  const rds = byType.get(TypeUrl.RouteConfiguration);
  if (!rds) return true;
  const routeNames = rds.wildcard ? (live.type(TypeUrl.RouteConfiguration)?.names ?? []) : rds.subscribed;
  const cds = byType.get(TypeUrl.Cluster);
  // A client that names its clusters is proxyless gRPC: it never asks for mirror-only clusters.
  const named = cds !== undefined && !cds.wildcard;
  const routed = new Set<string>();
  for (const rn of routeNames) {
    const refs = live.resource(TypeUrl.RouteConfiguration, rn)?.refs;
    for (const c of refs?.clusters ?? []) if (!(named && refs?.mirrorOnly?.includes(c))) routed.add(c);
  }
  for (const typeUrl of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]) {
    const t = byType.get(typeUrl);
    if (!t) return false;
    if (t.wildcard) continue;
    const names = new Set(t.subscribed);
    for (const c of routed) if (!names.has(c)) return false;
    if (named) for (const n of names) if (!routed.has(n)) return false;
  }
  return true;
}

/**
 * @param target the snapshot the server delivers to this proxy now (a rollout's snapshotFor(node));
 *   the live one when there is no rollout.
 */
export function proxyView(st: StreamStatus, target: ServedSnapshot | undefined): ProxyView {
  const targetVersion = target?.version;
  const kind = clientKind(st.node);
  const present = new Map(st.types.map((t) => [t.typeUrl, t]));
  const typeUrls = [...STATUS_TYPES, ...[...present.keys()].filter((t) => !STATUS_TYPES.includes(t)).sort((a, b) => PUSH_ORDER.indexOf(a) - PUSH_ORDER.indexOf(b))];
  const types = typeUrls.map((t) => (present.has(t) ? typeView(present.get(t)!, targetVersion) : notSubscribed(t)));
  const acked = new Set(types.filter((t) => t.status !== 'NOT SUBSCRIBED' && t.ackedSnapshot !== '').map((t) => t.ackedSnapshot));
  const required = requiredTypes(kind, new Set(present.keys()));
  const converged =
    target !== undefined &&
    required.length > 0 &&
    required.every((u) => {
      const t = types.find((x) => x.typeUrl === u);
      return t !== undefined && t.status === 'SYNCED' && !t.pendingAck;
    }) &&
    clustersCovered(st, target);
  return {
    streamId: st.streamId,
    nodeId: st.node.id,
    cluster: st.node.cluster,
    userAgent: st.node.userAgent,
    client: kind,
    protocol: st.protocol,
    peer: st.peer,
    locality: st.node.locality ? { ...st.node.locality } : null,
    connectedSince: st.connectedSince,
    version: acked.size === 1 ? [...acked][0]! : null,
    target: targetVersion ?? null,
    converged,
    types,
  };
}

/**
 * Proxies sorted by node id, then stream id (stable output). `targetFor` answers which snapshot
 * the server delivers to a node now (the rollout provider's snapshotFor); without it, `live`.
 */
export function proxyViews(statuses: readonly StreamStatus[], live: ServedSnapshot | undefined, targetFor?: (node: NodeInfo) => ServedSnapshot | undefined): ProxyView[] {
  return statuses
    .map((s) => proxyView(s, targetFor && s.node.id !== '' ? (targetFor(s.node) ?? live) : live))
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0) || Number(a.streamId.slice(1)) - Number(b.streamId.slice(1)));
}
