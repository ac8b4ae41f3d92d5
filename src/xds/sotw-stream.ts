// State-of-the-world ADS (StreamAggregatedResources).
import { isFullStateType, TypeUrl } from '../proto/type-urls.js';
import { typeVersion } from '../snapshot/snapshot.js';
import type { EncodedResource } from '../snapshot/types.js';
import type { ServedSnapshot } from './provider.js';
import type { DiscoveryRequest } from './service.js';
import { AdsStream, nackMessage, type AdsCall, type StreamContext } from './stream.js';
import { buildBody, fullBody, namedBody, withOwnNonce, type SotwBody } from './response-body.js';
import type { TypeState } from './type-state.js';
import { isGrpcClient } from './node-info.js';

export class SotwStream extends AdsStream {
  readonly protocol = 'sotw' as const;

  constructor(call: AdsCall<DiscoveryRequest>, ctx: StreamContext, peer: string) {
    super(call as AdsCall<unknown>, ctx, peer);
  }

  onRequest(req: DiscoveryRequest): void {
    const begun = this.beginRequest(req.node, req.type_url);
    if (!begun) return;
    const { ts, firstRequest } = begun;
    if (req.response_nonce) {
      const matched = this.acknowledge(ts, req.response_nonce, req.version_info, nackMessage(req.error_detail), true);
      // A nonce this stream never sent: a reconnecting client reporting what it holds (rule 7).
      if (!matched && ts.lastSentNonce === '' && req.version_info) ts.ackedVersion = req.version_info;
    } else if (firstRequest && req.version_info) {
      ts.ackedVersion = req.version_info;
    }
    if (this.applySubscription(ts, req.resource_names, firstRequest)) ts.dirty = true;
    this.pump();
  }

  /** Applies the request's names; returns true when the subscription changed. */
  private applySubscription(ts: TypeState, names: readonly string[], firstRequest: boolean): boolean {
    const wasWildcard = ts.wildcard;
    if (names.includes('*')) {
      ts.wildcard = true;
    } else if (names.length > 0) {
      ts.wildcard = false; // naming something ends legacy wildcard (rule 5)
    } else if (firstRequest && isFullStateType(ts.typeUrl) && !(this.node && isGrpcClient(this.node))) {
      ts.wildcard = true; // legacy wildcard: empty names on the first LDS/CDS request
    } else if (ts.everNamed) {
      ts.wildcard = false; // a client that named resources and now names none wants none
    }
    if (names.length > 0) ts.everNamed = true;
    const before = ts.subscription;
    const added = ts.setNames(names);
    for (const n of added) ts.force(n); // newly subscribed names get a response (rule 6)
    return before !== ts.subscription || wasWildcard !== ts.wildcard;
  }

  protected plan(ts: TypeState, snapshot: ServedSnapshot): Buffer | undefined {
    const set = snapshot.type(ts.typeUrl);
    const fullState = isFullStateType(ts.typeUrl);
    if (!set || (!ts.wildcard && ts.names.size === 0 && !(ts.forceAll && fullState))) {
      ts.dirty = false;
      ts.forceAll = false;
      return undefined;
    }
    let body = ts.wildcard ? fullBody(set) : namedBody(set, ts.subscription, fullState);
    if (ts.typeUrl === TypeUrl.Cluster) body = this.keepHeldClusters(ts, body);
    if (ts.typeUrl === TypeUrl.RouteConfiguration) {
      const waiting = this.unackedClustersOf(body.resources);
      ts.waitingFor = waiting;
      // Stays dirty: re-planned when the clusters are ACKed (rule 1).
      if (waiting.length > 0) return undefined;
    }
    const forced = ts.forceAll || (ts.forcedNames().size > 0 && (fullState || [...ts.forcedNames()].some((n) => body.resources.has(n))));
    ts.forceAll = false;
    ts.clearForced();
    // Content keys, not maps, are compared: one string comparison per stream and type.
    if (!forced && (body.contentKey === ts.sentKey || body.contentKey === ts.rejectedKey)) {
      this.markSettled(ts, snapshot.version, ts.ackedKey === body.contentKey, ts.sentKey === body.contentKey);
      return undefined;
    }
    const previous = ts.sent;
    // Bodies are shared, so is their nonce: no per-stream copy. A body older than one this stream
    // already got (e.g. a subscription toggled back) gets a nonce of the stream's own instead.
    let nonce = body.nonce;
    let bytes = body.withNonce;
    if (body.seq > ts.maxBodySeq) {
      ts.maxBodySeq = body.seq;
    } else {
      nonce = this.nextNonce();
      bytes = withOwnNonce(body, nonce);
    }
    this.recordSend(ts, { nonce, version: body.version, snapshotVersion: snapshot.version, resources: body.resources, contentKey: body.contentKey, sentAt: Date.now() }, 0, bytes.length);
    ts.dirty = false;
    if (ts.typeUrl === TypeUrl.Cluster) this.resendEndpointsOfChangedClusters(previous, body.resources.values());
    return bytes;
  }

  /** CDS keeps clusters still named by routes the client holds, until it ACKs routes without them. */
  private keepHeldClusters(ts: TypeState, body: SotwBody): SotwBody {
    const held = this.heldRouteClusters();
    if (ts.wildcard && allPresent(held, body)) {
      ts.heldBack = false;
      return body;
    }
    const extra: EncodedResource[] = [];
    for (const name of held) {
      if (body.resources.has(name) || !ts.covers(name)) continue;
      const held = ts.sent.get(name) ?? ts.acked.get(name);
      if (held?.sotwField) extra.push(held as EncodedResource);
    }
    ts.heldBack = extra.length > 0;
    if (extra.length === 0) return body;
    const merged = new Map<string, EncodedResource>([...body.resources, ...extra.map((r) => [r.name, r] as const)].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    return buildBody(ts.typeUrl, typeVersion(merged.values()), merged);
  }
}

// Whether a body already holds every held cluster, memoized: streams share both the held set (per
// route map) and the body (per snapshot), so one answer serves a whole fleet.
const presentMemo = new WeakMap<ReadonlySet<string>, WeakMap<SotwBody, boolean>>();
function allPresent(held: ReadonlySet<string>, body: SotwBody): boolean {
  let byBody = presentMemo.get(held);
  if (!byBody) presentMemo.set(held, (byBody = new WeakMap()));
  let answer = byBody.get(body);
  if (answer === undefined) {
    answer = true;
    for (const name of held) {
      if (!body.resources.has(name)) {
        answer = false;
        break;
      }
    }
    byBody.set(body, answer);
  }
  return answer;
}
