// Incremental ADS (DeltaAggregatedResources): per-resource versions, removed_resources, and
// subscription changes applied even when the nonce is stale (rule 6).
import { isFullStateType, TypeUrl } from '../proto/type-urls.js';
import { stringField } from '../snapshot/wire.js';
import type { EncodedResource } from '../snapshot/types.js';
import { typeVersion } from '../snapshot/snapshot.js';
import type { ServedSnapshot } from './provider.js';
import type { DeltaDiscoveryRequest } from './service.js';
import { AdsStream, nackMessage, type AdsCall, type StreamContext } from './stream.js';
import { sameContent } from './response-body.js';
import type { HeldResource, TypeState } from './type-state.js';
import { isGrpcClient } from './node-info.js';

const NO_REFS = { clusters: [], routeConfigs: [] };

export class DeltaStream extends AdsStream {
  readonly protocol = 'delta' as const;

  constructor(call: AdsCall<DeltaDiscoveryRequest>, ctx: StreamContext, peer: string) {
    super(call as AdsCall<unknown>, ctx, peer);
  }

  onRequest(req: DeltaDiscoveryRequest): void {
    const begun = this.beginRequest(req.node, req.type_url);
    if (!begun) return;
    const { ts, firstRequest } = begun;
    if (firstRequest) this.adoptInitialVersions(ts, req.initial_resource_versions ?? {});
    if (req.response_nonce) {
      this.acknowledge(ts, req.response_nonce, '', nackMessage(req.error_detail), false);
    }
    if (this.applySubscription(ts, req, firstRequest)) ts.dirty = true;
    this.pump();
  }

  /** After a reconnect the client says what it holds; only differences are sent (and removals). */
  private adoptInitialVersions(ts: TypeState, versions: Record<string, string>): void {
    const held = new Map<string, HeldResource>();
    for (const [name, version] of Object.entries(versions)) held.set(name, { name, version, refs: NO_REFS });
    ts.sent = held;
    ts.acked = held;
    ts.sentKey = ts.ackedKey = typeVersion(held.values());
    // Resources the client already holds are not "new": they need no forced response.
    ts.forceAll = false;
  }

  private applySubscription(ts: TypeState, req: DeltaDiscoveryRequest, firstRequest: boolean): boolean {
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    const wasWildcard = ts.wildcard;
    if (firstRequest && subscribe.length === 0 && isFullStateType(ts.typeUrl) && !(this.node && isGrpcClient(this.node))) ts.wildcard = true;
    if (subscribe.includes('*')) ts.wildcard = true;
    if (unsubscribe.includes('*')) ts.wildcard = false;
    const names = new Set(ts.names);
    for (const n of subscribe) names.add(n);
    for (const n of unsubscribe) names.delete(n);
    if (subscribe.length > 0) ts.everNamed = true;
    const before = ts.subscription;
    ts.setNames(names);
    const changed = before !== ts.subscription;
    if (unsubscribe.length > 0) {
      // The client forgets unsubscribed resources; a later subscribe must resend them.
      const forget = (m: ReadonlyMap<string, HeldResource>): Map<string, HeldResource> => {
        const next = new Map(m);
        for (const n of unsubscribe) if (!ts.covers(n)) next.delete(n);
        return next;
      };
      ts.sent = forget(ts.sent);
      ts.acked = forget(ts.acked);
    }
    // A newly subscribed name the client does not hold gets an answer even if unchanged (rule 6):
    // the resource, or removed_resources when it does not exist.
    for (const n of subscribe) if (n !== '*' && !ts.sent.has(n)) ts.force(n);
    return changed || wasWildcard !== ts.wildcard || subscribe.length > 0 || firstRequest;
  }

  protected plan(ts: TypeState, snapshot: ServedSnapshot): Buffer | undefined {
    const set = snapshot.type(ts.typeUrl);
    if (!set) {
      ts.dirty = false;
      return undefined;
    }
    const candidates = new Set<string>(ts.wildcard ? [...set.names, ...ts.sent.keys()] : ts.names);
    for (const n of ts.forcedNames()) candidates.add(n);
    const held = ts.typeUrl === TypeUrl.Cluster ? this.heldRouteClusters() : undefined;
    const toSend: EncodedResource[] = [];
    const removed: string[] = [];
    let heldBack = false;
    let skippedRejected = false;
    for (const name of [...candidates].sort()) {
      const r = set.resources.get(name);
      const have = ts.sent.get(name);
      const forced = ts.isForced(name);
      if (r) {
        if (have?.version === r.version && !forced) continue;
        if (ts.rejectedVersions?.get(name) === r.version && !forced) {
          skippedRejected = true;
          continue;
        }
        toSend.push(r);
      } else if (have ? !held?.has(name) : forced) {
        // Gone from the snapshot, or unknown when subscribed: removed_resources (rule 6).
        removed.push(name);
      } else if (have) {
        heldBack = true; // kept for routes the client still holds (rule 1)
      }
    }
    if (ts.typeUrl === TypeUrl.RouteConfiguration) {
      const waiting = this.unackedClusters(toSend);
      if (waiting.length > 0) {
        ts.waitingFor = waiting;
        return undefined;
      }
    }
    ts.heldBack = heldBack;
    ts.clearForced();
    ts.forceAll = false;
    if (toSend.length === 0 && removed.length === 0) {
      this.markSettled(ts, snapshot.version, sameContent(ts.acked, this.expected(ts, set.resources)), !skippedRejected && !heldBack);
      return undefined;
    }
    const previous = ts.sent;
    const next = new Map(ts.sent);
    for (const r of toSend) next.set(r.name, r);
    for (const n of removed) next.delete(n);
    const nonce = this.nextNonce();
    const parts: Buffer[] = [stringField(1, set.version)];
    for (const r of toSend) parts.push(r.deltaField);
    parts.push(stringField(4, ts.typeUrl), stringField(5, nonce));
    for (const n of removed) parts.push(stringField(6, n));
    const bytes = Buffer.concat(parts);
    const contentKey = typeVersion(next.values());
    this.recordSend(ts, { nonce, version: set.version, snapshotVersion: snapshot.version, resources: next, contentKey, sentAt: Date.now(), changed: toSend }, removed.length, bytes.length);
    ts.dirty = false;
    if (ts.typeUrl === TypeUrl.Cluster) this.resendEndpointsOfChangedClusters(previous, toSend);
    return bytes;
  }

  /** What the client should hold for its subscription if fully in sync. */
  private expected(ts: TypeState, all: ReadonlyMap<string, EncodedResource>): Map<string, EncodedResource> {
    const out = new Map<string, EncodedResource>();
    for (const [n, r] of all) if (ts.covers(n)) out.set(n, r);
    return out;
  }
}
