// What state-of-the-world and delta streams share: one ordered send queue per stream (CDS, EDS,
// LDS, RDS, then Switchyard's own types), ACK gating of routes on their clusters, clusters that
// outlive the routes naming them, ACK/NACK bookkeeping and status.
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { EncodedResource } from '../snapshot/types.js';
import { PUSH_ORDER, pushRank, TypeUrl } from '../proto/type-urls.js';
import type { NodeInfo, ServedSnapshot, SnapshotProvider } from './provider.js';
import { TypeState, type InFlight, type ResourceMap } from './type-state.js';
import { typeStatus, type StreamStatus } from './stream-status.js';
import { nodeInfoFrom } from './node-info.js';
import type { DecodedNode } from './service.js';

export interface SendEvent {
  stream: AdsStream;
  typeUrl: string;
  version: string;
  nonce: string;
  snapshotVersion: string;
  resources: number;
  removed: number;
  bytes: number;
}

export interface AckEvent {
  stream: AdsStream;
  typeUrl: string;
  version: string;
  nonce: string;
  snapshotVersion: string;
  /** From the send of the ACKed response to its ACK (convergence is measured at the ACK). */
  latencyMs: number;
}

export interface NackEvent extends AckEvent {
  message: string;
}

export interface StreamEvents {
  open(stream: AdsStream): void;
  close(stream: AdsStream): void;
  send(e: SendEvent): void;
  ack(e: AckEvent): void;
  nack(e: NackEvent): void;
}

export interface StreamContext {
  provider: SnapshotProvider;
  events: StreamEvents;
  log: Logger;
  /** Node authorization (AdsServerOptions.authorizeNode): a reason refuses the stream. */
  authorize?: (node: NodeInfo, call: AdsCall<unknown>) => string | undefined;
}

export type AdsCall<Req> = ServerDuplexStream<Req, Buffer>;

/** The NACK message of a request, or undefined for an ACK. */
export function nackMessage(errorDetail: { message?: string } | null | undefined): string | undefined {
  if (!errorDetail) return undefined;
  return errorDetail.message || 'NACK without message';
}

let streamSeq = 0;

type Refs = { refs?: EncodedResource['refs'] };

// Per resource map (shared by every stream holding the same routes): the clusters they name.
const clustersNamedBy = new WeakMap<ResourceMap, ReadonlySet<string>>();
function clustersOf(map: ResourceMap): ReadonlySet<string> {
  let out = clustersNamedBy.get(map);
  if (!out) {
    const s = new Set<string>();
    for (const r of map.values()) for (const c of r.refs?.clusters ?? []) s.add(c);
    out = s;
    clustersNamedBy.set(map, out);
  }
  return out;
}

const unionMemo = new WeakMap<ResourceMap, WeakMap<ResourceMap, ReadonlySet<string>>>();

// Gating answers depend only on (ACKed clusters, CDS subscription, routes): shared by streams.
const WILDCARD = {};
const gateMemo = new WeakMap<ResourceMap, WeakMap<object, WeakMap<ResourceMap, readonly string[]>>>();

export abstract class AdsStream {
  readonly id = `s${++streamSeq}`;
  /** Epoch ms. */
  readonly connectedAt = Date.now();
  node: NodeInfo | undefined;
  closed = false;
  abstract readonly protocol: 'sotw' | 'delta';

  private readonly types = new Map<string, TypeState>();
  /** Type states in push order. */
  private ordered: TypeState[] = [];
  private writing = false;
  private nonceSeq = 0;

  constructor(
    protected readonly call: AdsCall<unknown>,
    protected readonly ctx: StreamContext,
    readonly peer: string,
  ) {}

  /** No child logger per stream (memory): every event carries the stream id instead. */
  protected get log(): Logger {
    return this.ctx.log;
  }

  /** Plans the next response for one type against a snapshot; undefined when nothing is due. */
  protected abstract plan(ts: TypeState, snapshot: ServedSnapshot): Buffer | undefined;

  protected typeState(requested: string): TypeState {
    let ts = this.types.get(requested);
    if (!ts) {
      // Key by the shared constant, not the decoded request string (one copy for every stream).
      const typeUrl = PUSH_ORDER.find((t) => t === requested) ?? requested;
      ts = new TypeState(typeUrl);
      this.types.set(typeUrl, ts);
      this.ordered = [...this.types.values()].sort((a, b) => pushRank(a.typeUrl) - pushRank(b.typeUrl) || a.typeUrl.localeCompare(b.typeUrl));
    }
    return ts;
  }

  protected existingType(typeUrl: string): TypeState | undefined {
    return this.types.get(typeUrl);
  }

  protected nextNonce(): string {
    return String(++this.nonceSeq);
  }

  /**
   * The provider may hold a new snapshot for this node: re-plan every type whose content changed.
   * A type whose version is the one its last plan concluded on would plan to the same result
   * (whatever else a plan reads, requests and ACKs mark dirty themselves): it only moves to the
   * new snapshot. On a route change that spares every stream its CDS and EDS plans.
   */
  snapshotChanged(): void {
    const snapshot = this.node && !this.closed ? this.ctx.provider.snapshotFor(this.node) : undefined;
    for (const ts of this.ordered) {
      if (!ts.dirty && snapshot && this.stillPlanned(ts, snapshot)) continue;
      ts.dirty = true;
    }
    this.pump(snapshot);
  }

  private stillPlanned(ts: TypeState, snapshot: ServedSnapshot): boolean {
    const set = snapshot.type(ts.typeUrl);
    if (!set || set.version !== ts.plannedTypeVersion || ts.heldBack || ts.forceAll || ts.forcedNames().size > 0) return false;
    if (ts.plannedSnapshot !== '') {
      ts.plannedSnapshot = snapshot.version;
      if (ts.inflight.length === 0 && ts.ackedKey === ts.sentKey) ts.ackedSnapshot = snapshot.version;
    }
    return true;
  }

  /** The write callback, one per stream rather than one closure per write. */
  private readonly written = (): void => {
    this.writing = false;
    this.pump();
  };

  /**
   * Sends at most one response at a time, the first due type in push order. The next response is
   * planned only when the previous write completed, so a stream that does not read holds at most
   * the latest state per type (planned from the newest snapshot), never a backlog.
   */
  protected pump(known?: ServedSnapshot): void {
    if (this.writing || this.closed || !this.node) return;
    // snapshotChanged() has just asked the provider: one lookup per stream and change, not two.
    const snapshot = known ?? this.ctx.provider.snapshotFor(this.node);
    if (!snapshot) return;
    for (const ts of this.ordered) {
      if (!ts.dirty) continue;
      const bytes = this.plan(ts, snapshot);
      // Concluded (sent or settled, not waiting on cluster ACKs): remember on which content.
      if (!ts.dirty) ts.plannedTypeVersion = snapshot.type(ts.typeUrl)?.version ?? '';
      if (!bytes) continue;
      this.writing = true;
      this.call.write(bytes, this.written);
      return;
    }
  }

  /** Clusters named by these routes that this stream subscribes to but has not ACKed yet. */
  protected unackedClusters(routes: Iterable<Refs>): readonly string[] {
    const cds = this.types.get(TypeUrl.Cluster);
    if (!cds) return [];
    const missing = new Set<string>();
    for (const r of routes) {
      for (const c of r.refs?.clusters ?? []) if (cds.covers(c) && !cds.acked.has(c)) missing.add(c);
    }
    return [...missing].sort();
  }

  /** unackedClusters for a shared route map, memoized across streams. */
  protected unackedClustersOf(routes: ResourceMap): readonly string[] {
    const cds = this.types.get(TypeUrl.Cluster);
    if (!cds) return [];
    let bySub = gateMemo.get(cds.acked);
    if (!bySub) gateMemo.set(cds.acked, (bySub = new WeakMap()));
    const subKey = cds.wildcard ? WILDCARD : cds.subscription;
    let byRoutes = bySub.get(subKey);
    if (!byRoutes) bySub.set(subKey, (byRoutes = new WeakMap()));
    let out = byRoutes.get(routes);
    if (!out) byRoutes.set(routes, (out = this.unackedClusters(routes.values())));
    return out;
  }

  /** Clusters named by routes the client holds or is being sent: they must not be removed yet. */
  protected heldRouteClusters(): ReadonlySet<string> {
    const rds = this.types.get(TypeUrl.RouteConfiguration);
    if (!rds) return new Set();
    const acked = clustersOf(rds.acked);
    if (rds.sent === rds.acked) return acked;
    let bySent = unionMemo.get(rds.acked);
    if (!bySent) unionMemo.set(rds.acked, (bySent = new WeakMap()));
    let union = bySent.get(rds.sent);
    if (!union) bySent.set(rds.sent, (union = new Set([...acked, ...clustersOf(rds.sent)])));
    return union;
  }

  /** Records a response as sent. */
  protected recordSend(ts: TypeState, inflight: InFlight, removed: number, bytes: number): void {
    ts.inflight.push(inflight);
    ts.sent = inflight.resources;
    ts.sentKey = inflight.contentKey;
    ts.lastSentVersion = inflight.version;
    ts.lastSentNonce = inflight.nonce;
    ts.lastSentAt = inflight.sentAt;
    ts.plannedSnapshot = inflight.snapshotVersion;
    ts.waitingFor = [];
    this.ctx.events.send({
      stream: this,
      typeUrl: ts.typeUrl,
      version: inflight.version,
      nonce: inflight.nonce,
      snapshotVersion: inflight.snapshotVersion,
      resources: inflight.changed?.length ?? inflight.resources.size,
      removed,
      bytes,
    });
  }

  /** Nothing is due for this type: if the client ACKed this content, it is in sync with the snapshot. */
  protected markSettled(ts: TypeState, snapshotVersion: string, ackedIsCurrent: boolean, sentIsCurrent: boolean): void {
    ts.dirty = false;
    // When what was sent is what this snapshot wants, an ACK still in flight counts for it.
    ts.plannedSnapshot = sentIsCurrent ? snapshotVersion : '';
    if (ts.inflight.length === 0 && ackedIsCurrent) ts.ackedSnapshot = snapshotVersion;
  }

  /**
   * Handles the ACK/NACK part of a request. Returns false when the nonce is stale or unknown.
   * State of the world answers only the latest nonce of a type (older ones are stale); delta
   * clients ACK every response, so any in-flight nonce counts.
   */
  protected acknowledge(ts: TypeState, nonce: string, versionInfo: string, errorMessage: string | undefined, latestOnly: boolean): boolean {
    const last = ts.inflight.length - 1;
    // SotW answers only the latest nonce: one comparison, no search (the ACK path of every push).
    let i = last;
    if (last < 0 || ts.inflight[last]!.nonce !== nonce) {
      if (latestOnly) return false;
      i = ts.inflight.findIndex((f) => f.nonce === nonce);
      if (i === -1) return false;
    }
    const f = ts.inflight[i]!;
    // Emptied in place with pop(), which keeps the array's capacity (length = 0 would drop it and the
    // next push allocate again): no garbage per ACK on the fan-out path.
    if (i === last) while (ts.inflight.length > 0) ts.inflight.pop();
    else ts.inflight = ts.inflight.slice(i + 1);
    const now = Date.now();
    const latencyMs = now - f.sentAt;
    const base = { stream: this, typeUrl: ts.typeUrl, version: f.version, nonce, snapshotVersion: f.snapshotVersion, latencyMs };
    if (errorMessage === undefined) {
      ts.acked = f.resources;
      ts.ackedKey = f.contentKey;
      // The sent string when equal: the decoded copy would be kept per stream until the next ACK.
      ts.ackedVersion = !versionInfo || versionInfo === f.version ? f.version : versionInfo;
      ts.ackedAt = now;
      // A response planned for an older snapshot holds what a newer one wants when nothing was
      // sent since and the content is the same (the type did not change): it counts for the newer.
      ts.ackedSnapshot = ts.inflight.length === 0 && f.contentKey === ts.sentKey && ts.plannedSnapshot !== '' ? ts.plannedSnapshot : f.snapshotVersion;
      ts.rejectedKey = '';
      if (ts.rejectedVersions) for (const r of f.changed ?? []) ts.rejectedVersions.delete(r.name);
      this.ctx.events.ack(base);
    } else {
      ts.ackedVersion = versionInfo;
      ts.lastNack = { version: f.version, message: errorMessage, at: now };
      ts.rejectedKey = f.contentKey;
      for (const r of f.changed ?? []) (ts.rejectedVersions ??= new Map()).set(r.name, r.version);
      // The client kept what it had: later responses are planned from its accepted state.
      if (ts.inflight.length === 0) {
        ts.sent = ts.acked;
        ts.sentKey = ts.ackedKey;
      }
      this.log.warn({ event: 'nack', stream: this.id, type: ts.typeUrl, version: f.version, node: this.node?.id, error: errorMessage }, 'client rejected a response');
      this.ctx.events.nack({ ...base, message: errorMessage });
    }
    // A cluster ACK may release routes waiting for it; a route ACK may release clusters kept for it.
    if (ts.typeUrl === TypeUrl.Cluster) {
      const rds = this.types.get(TypeUrl.RouteConfiguration);
      if (rds && rds.waitingFor.length > 0) rds.dirty = true;
    }
    if (ts.typeUrl === TypeUrl.RouteConfiguration) {
      const cds = this.types.get(TypeUrl.Cluster);
      if (cds?.heldBack) cds.dirty = true;
    }
    return true;
  }

  /** Envoy keeps a changed cluster warming until it gets EDS for it, changed or not (rule 2). */
  protected resendEndpointsOfChangedClusters(before: ReadonlyMap<string, { version: string }>, sent: Iterable<EncodedResource>): void {
    const eds = this.types.get(TypeUrl.ClusterLoadAssignment);
    if (!eds) return;
    for (const r of sent) {
      const old = before.get(r.name);
      if (old && old.version !== r.version && eds.covers(r.name)) {
        eds.force(r.name);
        eds.dirty = true;
      }
    }
  }

  /**
   * What every request starts with: the node from the first request (design rule 7: later ones
   * may omit it), a type URL, and that type's state. Undefined when the request is to be ignored.
   */
  protected beginRequest(node: DecodedNode | null | undefined, typeUrl: string): { ts: TypeState; firstRequest: boolean } | undefined {
    if (!this.node) this.adoptNode(nodeInfoFrom(node));
    if (this.closed) return undefined;
    if (!typeUrl) {
      this.log.warn({ event: 'bad_request', stream: this.id }, 'request without type_url ignored');
      return undefined;
    }
    const ts = this.typeState(typeUrl);
    return { ts, firstRequest: ts.requests++ === 0 };
  }

  /** Sets the node from the first request. */
  protected adoptNode(node: NodeInfo): void {
    this.node = node;
    if (this.ctx.authorize && this.refuse(node)) return;
    this.log.info({ event: 'stream_open', stream: this.id, protocol: this.protocol, node: node.id, cluster: node.cluster, userAgent: node.userAgent, peer: this.peer }, 'stream opened');
  }

  /** Ends the stream with PERMISSION_DENIED when the authorize hook refuses its node. */
  private refuse(node: NodeInfo): boolean {
    const reason = this.ctx.authorize!(node, this.call);
    if (reason === undefined) return false;
    this.log.warn({ event: 'stream_denied', code: 'TLS_NODE_DENIED', stream: this.id, protocol: this.protocol, node: node.id, cluster: node.cluster, peer: this.peer, reason }, 'stream refused: node not authorized');
    // Closed first: pump() sends nothing on this stream from now on.
    this.close();
    // grpc-js ends a server stream with the status of an emitted error ({code, details}).
    this.call.emit('error', Object.assign(new Error(reason), { code: GrpcStatus.PERMISSION_DENIED, details: `TLS_NODE_DENIED ${reason}` }));
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.log.info({ event: 'stream_close', stream: this.id, node: this.node?.id }, 'stream closed');
    this.ctx.events.close(this);
  }

  /** Ends the stream from the server side (e.g. shutdown). */
  end(): void {
    try {
      this.call.end();
    } catch {
      // already gone
    }
    this.close();
  }

  status(): StreamStatus {
    return {
      streamId: this.id,
      protocol: this.protocol,
      peer: this.peer,
      node: this.node ?? { id: '', cluster: '', userAgent: '' },
      connectedSince: new Date(this.connectedAt).toISOString(),
      types: this.ordered.map(typeStatus),
    };
  }
}
