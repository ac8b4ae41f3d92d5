// Shared plumbing for the proxyless end-to-end suites: owns every ADS server, xDS client, backend
// and port placeholder a test starts so afterEach can shut all of them down (the process must
// exit), records every NACK any server saw, and turns the server's 'ack' events into awaitable
// convergence conditions.
import net from 'node:net';
import { AdsServer } from '../../src/xds/server.js';
import type { SnapshotProvider } from '../../src/xds/provider.js';
import type { AckEvent, NackEvent } from '../../src/xds/stream.js';
import type { StreamStatus, TypeStatus } from '../../src/xds/stream-status.js';
import { shortName, TypeUrl } from '../../src/proto/type-urls.js';
import type { SnapshotView } from '../../src/snapshot/types.js';
import { EchoBackends } from '../helpers/grpc-backends.js';
import { ProxylessClient, type ProxylessClientOptions } from '../helpers/xds-client.js';
import { deferred, waitForEvent } from '../helpers/wait.js';

/** The four types a proxyless gRPC client subscribes to, in push order. */
export const PROXYLESS_TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration] as const;

/** Generous: a loaded 2-core CI machine, and a reconnect goes through the client's ~1 s backoff. */
export const CONVERGE_TIMEOUT_MS = 15_000;

/** A listener on a dead control plane's port that accepts and drops every connection, so the
 * test learns (by an event, not a sleep) that the client noticed the outage and is redialing. */
export class PortPlaceholder {
  private readonly server: net.Server;
  private readonly first = deferred();
  attempts = 0;

  private constructor(readonly port: number) {
    this.server = net.createServer((socket) => {
      this.attempts++;
      socket.destroy();
      this.first.resolve();
    });
  }

  static async listen(port: number): Promise<PortPlaceholder> {
    const p = new PortPlaceholder(port);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(port, '127.0.0.1', () => {
        p.server.off('error', reject);
        resolve();
      });
    });
    return p;
  }

  /** Resolves at the first connection attempt. */
  firstAttempt(): Promise<void> {
    return this.first.promise;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}

export class E2eHarness {
  /** Every NACK seen by any server of this harness, for the whole suite. */
  readonly nacks: NackEvent[] = [];
  private servers = new Set<AdsServer>();
  private clients = new Set<ProxylessClient>();
  private fleets = new Set<EchoBackends>();
  private placeholders = new Set<PortPlaceholder>();

  /** Starts an ADS server (port 0 = any free port). NACK recording and `beforeStart` (e.g. more
   * listeners) are attached before it listens, so no event can be missed. */
  async startServer(provider: SnapshotProvider, port = 0, beforeStart?: (server: AdsServer) => void): Promise<{ server: AdsServer; port: number }> {
    const server = new AdsServer({ provider, port });
    server.on('nack', (e) => this.nacks.push(e));
    beforeStart?.(server);
    this.servers.add(server);
    return { server, port: await server.start() };
  }

  /** Crash-like stop: every connection dropped at once. */
  kill(server: AdsServer): void {
    server.kill();
    // tryShutdown on an already force-shut server never calls back: do not stop() it again.
    this.servers.delete(server);
  }

  client(opts: ProxylessClientOptions): ProxylessClient {
    const c = new ProxylessClient(opts);
    this.clients.add(c);
    return c;
  }

  async backends(names: readonly string[]): Promise<EchoBackends> {
    const b = await EchoBackends.start(names);
    this.fleets.add(b);
    return b;
  }

  async placeholder(port: number): Promise<PortPlaceholder> {
    const p = await PortPlaceholder.listen(port);
    this.placeholders.add(p);
    return p;
  }

  async releasePlaceholder(p: PortPlaceholder): Promise<void> {
    this.placeholders.delete(p);
    await p.close();
  }

  /** Closes clients first (ends their ADS streams), then servers, backends and placeholders. */
  async cleanup(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients.clear();
    const servers = [...this.servers];
    this.servers.clear();
    const fleets = [...this.fleets];
    this.fleets.clear();
    const placeholders = [...this.placeholders];
    this.placeholders.clear();
    await Promise.all([...servers.map((s) => s.stop(200)), ...fleets.map((f) => f.stop()), ...placeholders.map((p) => p.close())]);
  }
}

function typeOf(st: StreamStatus, typeUrl: string): TypeStatus | undefined {
  return st.types.find((t) => t.typeUrl === typeUrl);
}

export function streamOf(server: AdsServer, nodeId: string): StreamStatus | undefined {
  return server.streamStatuses().find((s) => s.node.id === nodeId);
}

/** One line per type, for timeout messages. */
export function describeStream(server: AdsServer, nodeId: string): string {
  const st = streamOf(server, nodeId);
  if (!st) return `no stream from node ${nodeId} (streams: ${server.streamStatuses().map((s) => s.node.id).join(', ') || 'none'})`;
  return st.types
    .map((t) => `${t.type} subscribed=[${t.subscribed.join(',')}] sent=${t.lastSentVersion} acked=${t.ackedVersion} ackedSnapshot=${t.ackedSnapshot} pending=${t.pendingAck} waitingFor=[${t.waitingFor.join(',')}]${t.lastNack ? ` NACK=${t.lastNack.message}` : ''}`)
    .join('; ');
}

/**
 * The stream holds the snapshot: every proxyless type ACKed for this snapshot version with nothing
 * in flight, and CDS/EDS subscribed to (at least) the clusters the routes name. The subscription
 * check matters: right after RDS is ACKed the client has not yet asked for a newly named cluster,
 * and the types it does hold may already be settled on the new version.
 */
export function holdsSnapshot(st: StreamStatus | undefined, snapshot: SnapshotView, clusters: readonly string[]): boolean {
  if (!st) return false;
  for (const typeUrl of PROXYLESS_TYPES) {
    const t = typeOf(st, typeUrl);
    if (!t || t.pendingAck || t.ackedSnapshot !== snapshot.version) return false;
  }
  for (const typeUrl of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]) {
    const subscribed = new Set(typeOf(st, typeUrl)!.subscribed);
    if (!clusters.every((c) => subscribed.has(c))) return false;
  }
  return true;
}

const onAck =
  (server: AdsServer) =>
  (listener: (e: AckEvent) => void): (() => void) => {
    server.on('ack', listener);
    return () => server.off('ack', listener);
  };

/**
 * Resolves when the client of `nodeId` has ACKed everything `snapshot` holds for it. Driven by the
 * server's 'ack' events (convergence is measured at the ACK, design rule 10). grpc-js-xds writes
 * its ACK before it notifies its watchers on process.nextTick, and the server reads the ACK in a
 * later event-loop turn of this same process, so once this resolves the channel already routes
 * with the new configuration.
 */
export function converged(server: AdsServer, nodeId: string, snapshot: SnapshotView, clusters: readonly string[]): Promise<unknown> {
  return waitForEvent(onAck(server), (e) => e.stream.node?.id === nodeId && holdsSnapshot(e.stream.status(), snapshot, clusters), {
    timeoutMs: CONVERGE_TIMEOUT_MS,
    initially: () => holdsSnapshot(streamOf(server, nodeId), snapshot, clusters),
    describe: () => `node ${nodeId} did not converge on snapshot ${snapshot.version}: ${describeStream(server, nodeId)}`,
  });
}

/** Resolves with the first ACK of `typeUrl` from `nodeId` for a response planned from `snapshotVersion`. */
export async function ackOf(server: AdsServer, nodeId: string, typeUrl: string, snapshotVersion: string): Promise<AckEvent> {
  const args = await waitForEvent(onAck(server), (e) => e.stream.node?.id === nodeId && e.typeUrl === typeUrl && e.snapshotVersion === snapshotVersion, {
    timeoutMs: CONVERGE_TIMEOUT_MS,
    describe: () => `no ${shortName(typeUrl)} ACK of snapshot ${snapshotVersion} from node ${nodeId}: ${describeStream(server, nodeId)}`,
  });
  return args![0];
}

/** Starts recording which types `nodeId` ACKs on `server` (attach before the client can connect). */
export function recordAckedTypes(server: AdsServer, nodeId: string): Set<string> {
  const types = new Set<string>();
  server.on('ack', (e) => {
    if (e.stream.node?.id === nodeId) types.add(e.typeUrl);
  });
  return types;
}
