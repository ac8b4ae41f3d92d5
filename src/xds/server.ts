// The ADS server: state-of-the-world and delta streams on one gRPC port. It depends only on the
// SnapshotProvider interface, never on rules or the compiler.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { bindServer, shutdownServer } from '../util/grpc-server.js';
import pino, { type Logger } from 'pino';
import { adsServiceDefinition, type DeltaDiscoveryRequest, type DiscoveryRequest } from './service.js';
import type { NodeInfo, SnapshotProvider } from './provider.js';
import { peerIdentityOf, type PeerIdentity } from './identity.js';
import { AdsStream, type AckEvent, type NackEvent, type SendEvent, type StreamContext } from './stream.js';
import { SotwStream } from './sotw-stream.js';
import { DeltaStream } from './delta-stream.js';
import type { StreamStatus } from './stream-status.js';

export const DEFAULT_ADS_HOST = '127.0.0.1';
export const DEFAULT_ADS_PORT = 18000;

export interface AdsServerOptions {
  provider: SnapshotProvider;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  credentials?: grpc.ServerCredentials;
  /** Extra services on the same port (e.g. the resolver service). */
  extraServices?: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }>;
  /**
   * Checks a stream's node (from its first request) against what the transport proved about the
   * peer (its verified client certificate): undefined accepts, a string is the reason to refuse,
   * and the stream ends with PERMISSION_DENIED. See src/xds/tls.ts and docs/tls.md.
   */
  authorizeNode?: (node: NodeInfo, peer: PeerIdentity) => string | undefined;
  /**
   * Also listen in plaintext on 127.0.0.1:<port> (0 = any free port), next to a TLS port: for
   * proxyless gRPC clients on the same host, which cannot use TLS to the control plane
   * (@grpc/grpc-js-xds 1.14). Streams there are local processes: authorizeNode does not apply.
   */
  plaintextLoopbackPort?: number;
}

export interface AdsServerEventMap {
  open: [AdsStream];
  close: [AdsStream];
  send: [SendEvent];
  ack: [AckEvent];
  nack: [NackEvent];
}

export class AdsServer extends EventEmitter<AdsServerEventMap> {
  private readonly grpcServer: grpc.Server;
  /** The plaintext loopback listener: its own grpc.Server (so a call's listener is known), the same streams and events. */
  private readonly plaintextServer: grpc.Server | undefined;
  private readonly streams = new Set<AdsStream>();
  private readonly ctx: StreamContext;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private boundPort = 0;
  private boundPlaintextPort: number | undefined;
  private killed = false;

  constructor(private readonly options: AdsServerOptions) {
    super();
    this.log = options.logger ?? pino({ level: 'silent' });
    this.ctx = {
      provider: options.provider,
      log: this.log,
      events: {
        open: (s) => this.emit('open', s),
        close: (s) => {
          this.streams.delete(s);
          this.emit('close', s);
        },
        send: (e) => this.emit('send', e),
        ack: (e) => this.emit('ack', e),
        nack: (e) => this.emit('nack', e),
      },
    };
    const authorizeNode = options.authorizeNode;
    if (authorizeNode) this.ctx.authorize = (node, call) => authorizeNode(node, peerIdentityOf(call));
    this.grpcServer = this.grpcServerWith(this.ctx);
    // Local processes on the loopback listener: no certificate to check a node identity against.
    const { authorize: _none, ...localCtx } = this.ctx;
    this.plaintextServer = options.plaintextLoopbackPort !== undefined ? this.grpcServerWith(localCtx) : undefined;
  }

  private grpcServerWith(ctx: StreamContext): grpc.Server {
    const server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': -1,
    });
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, Buffer>) => {
        const stream = new SotwStream(call, ctx, call.getPeer());
        this.attach(stream, call, (req) => stream.onRequest(req as DiscoveryRequest));
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, Buffer>) => {
        const stream = new DeltaStream(call, ctx, call.getPeer());
        this.attach(stream, call, (req) => stream.onRequest(req as DeltaDiscoveryRequest));
      },
    });
    for (const extra of this.options.extraServices ?? []) server.addService(extra.definition, extra.implementation);
    return server;
  }

  private attach(stream: AdsStream, call: grpc.ServerDuplexStream<unknown, Buffer>, onRequest: (req: unknown) => void): void {
    this.streams.add(stream);
    this.emit('open', stream);
    call.on('data', (req: unknown) => {
      try {
        onRequest(req);
      } catch (err) {
        this.log.error({ event: 'stream_error', stream: stream.id, err }, 'failed to handle a request');
        call.destroy(err as Error);
      }
    });
    const done = (): void => stream.close();
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('cancelled', done);
    call.on('error', done);
    call.on('close', done);
  }

  /** Binds and starts serving; resolves with the bound port. */
  async start(): Promise<number> {
    const host = this.options.host ?? DEFAULT_ADS_HOST;
    const port = this.options.port ?? DEFAULT_ADS_PORT;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await bindServer(this.grpcServer, address, this.options.credentials);
    if (this.plaintextServer) {
      // Same streams and events: the rollout sees these proxies like any other.
      this.boundPlaintextPort = await bindServer(this.plaintextServer, `127.0.0.1:${this.options.plaintextLoopbackPort ?? 0}`);
      this.log.info({ event: 'ads_listening', address: `127.0.0.1:${this.boundPlaintextPort}`, plaintext: true }, 'ADS plaintext loopback listener for local proxyless clients');
    }
    this.unsubscribe = this.options.provider.onChange(() => this.fanOut());
    this.log.info({ event: 'ads_listening', address: `${host}:${this.boundPort}` }, 'ADS server listening');
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The plaintext loopback port, when one was asked for (see AdsServerOptions.plaintextLoopbackPort). */
  get plaintextPort(): number | undefined {
    return this.boundPlaintextPort;
  }

  /** Every stream re-plans against the snapshot the provider now holds for its node. */
  private fanOut(): void {
    for (const s of this.streams) s.snapshotChanged();
  }

  streamCount(): number {
    return this.streams.size;
  }

  streamStatuses(): StreamStatus[] {
    return [...this.streams].map((s) => s.status());
  }

  /** Stops accepting streams and ends open ones; after `graceMs` forces the rest closed. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.killed) return; // forceShutdown already closed everything; tryShutdown would never call back
    this.unsubscribe?.();
    for (const s of this.streams) s.end();
    await Promise.all([shutdownServer(this.grpcServer, graceMs), ...(this.plaintextServer ? [shutdownServer(this.plaintextServer, graceMs)] : [])]);
    this.log.info({ event: 'ads_stopped' }, 'ADS server stopped');
  }

  /** Drops every connection at once, as a crash would (tests use it to prove client caching). */
  kill(): void {
    this.killed = true;
    this.unsubscribe?.();
    this.grpcServer.forceShutdown();
    this.plaintextServer?.forceShutdown();
    for (const s of this.streams) s.close();
  }
}

