// The resolver client: an ADS subscriber for the resolver table plus an in-process resolver.
//
// It subscribes over state-of-the-world ADS to type.googleapis.com/switchyard.v1.ResolverTable,
// name "resolver-table"; for each response it decodes and compiles the table, swaps it in (one
// reference assignment: a resolve sees the old table or the new one, never a mix), ACKs, announces
// it ('table') and saves it to the disk cache. A table that fails to decode or compile is NACKed
// with the RESOLVE_BAD_TABLE message and the last good table keeps serving (design rule 3). When
// the stream fails it reconnects after an exponential, bounded, jittered delay. At start, when the
// control plane cannot deliver a table (stream failure, or nothing within initialFetchTimeoutMs),
// the table saved on disk by an earlier run serves until the control plane is back.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { TypeUrl } from '../proto/type-urls.js';
import type { ResolveContext } from '../resolver/context.js';
import { ResolveError } from '../resolver/errors.js';
import { RESOLVER_TABLE_RESOURCE_NAME } from '../resolver/table-message.js';
import type { ResolveResult, Resolver } from '../resolver/types.js';
import type { ResolverTable } from '../compile/types.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { readCache, writeCache } from './cache.js';
import { ClientError } from './errors.js';
import { routingInterceptor, type RoutingInterceptor } from './interceptor.js';
import { routingHeaders, SERVED_MODEL_HEADER, ServedCounter, servedRecord, type RoutingHeaders, type ServeOutcome, type ServedCounts, type ServedRecord } from './reporting.js';
import { compileTableBytes, errorText } from './table.js';
import { decodeDiscoveryResponse, encodeDiscoveryRequest, jsonToStruct, type WireNode, type WireRequest, type WireResponse } from './wire.js';

/** gRPC method of state-of-the-world ADS. */
export const ADS_METHOD_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** Node.user_agent_name the client sends. */
export const CLIENT_USER_AGENT = 'switchyard-client';
export const CLIENT_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
/** Default wait for the first table from the control plane before the disk cache serves. */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 5000;

/** google.rpc.Code INVALID_ARGUMENT, the code of a NACK's error_detail. */
const NACK_CODE = 3;

/** Identifies this client to the control plane (envoy.config.core.v3.Node). */
export interface ClientNode {
  /** Unique per process, e.g. `${service}-${hostname}-${pid}`. Shown in the server's stream status. */
  id: string;
  /** The calling service. Default "switchyard-client". */
  cluster?: string;
  locality?: { region?: string; zone?: string; subZone?: string };
  /** JSON data sent as Node.metadata. */
  metadata?: Record<string, unknown>;
}

export interface SwitchyardClientOptions {
  /** The ADS server, "host:port". */
  address: string;
  node: ClientNode;
  /**
   * Where the last good table is kept on disk (written atomically after each new table from the
   * control plane, read at start). Omit for no disk cache.
   */
  cacheFile?: string;
  /**
   * How long start() waits for the first table from the control plane before it serves the disk
   * copy. A stream failure before the first table falls back at once. Default 5000 ms.
   */
  initialFetchTimeoutMs?: number;
  /** Reconnection delays. Default 250 ms doubling up to 30 s, ±20 % jitter. */
  backoff?: BackoffOptions;
  /** Default insecure. */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options for the ADS channel. */
  channelOptions?: grpc.ChannelOptions;
  /** Response header naming the model that served a call (interceptor reports). Default x-switchyard-model. */
  servedModelHeader?: string;
  /** Structured logs of table swaps, NACKs, stream and cache problems. Default: none. */
  logger?: Logger;
}

/** Where the active table came from. */
export type TableSource = 'ads' | 'disk';

/** What ready() resolves with: the first table the client could serve. */
export interface ReadyInfo {
  readonly source: TableSource;
  readonly version: string;
}

/** Emitted when a table becomes active. */
export interface TableEvent {
  readonly version: string;
  /** The table it replaced; undefined for the first one. */
  readonly previousVersion: string | undefined;
  readonly source: TableSource;
  readonly objectives: readonly string[];
  /** ISO 8601. */
  readonly at: string;
}

export interface PersistedEvent {
  readonly file: string;
  readonly version: string;
}

export interface ClientEventMap {
  /** A new table is active (from ADS, or from disk when the control plane is unreachable). */
  table: [TableEvent];
  /**
   * A stream failure, a NACKed table, an unusable or unwritable cache. Informational: the client
   * recovers on its own. Emitted only when an 'error' listener is attached (so an unobserved
   * error never throws), and always kept in status().lastError.
   */
  error: [ClientError];
  /** A served request was reported (report(), or an interceptor when its call ended). */
  served: [ServedRecord];
  /** The disk cache now holds this version. */
  persisted: [PersistedEvent];
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ClientStatus {
  readonly address: string;
  readonly nodeId: string;
  readonly state: ConnectionState;
  /** The active table, if any. */
  readonly table: { readonly version: string; readonly source: TableSource; readonly since: string; readonly objectives: readonly string[] } | undefined;
  /** version_info of the last ACK sent to the control plane ('' before the first). */
  readonly ackedVersion: string;
  readonly lastNack: { readonly version: string; readonly message: string; readonly at: string } | undefined;
  readonly lastError: { readonly kind: ClientError['kind']; readonly message: string; readonly at: string } | undefined;
  /** Stream failures since start. */
  readonly streamFailures: number;
  readonly cache:
    | {
        readonly file: string;
        /** Version read from disk at start, when the file was usable. */
        readonly loadedVersion: string | undefined;
        readonly lastWrite: { readonly version: string; readonly at: string } | undefined;
        readonly lastError: string | undefined;
      }
    | undefined;
}

interface ActiveTable {
  readonly resolver: Resolver;
  readonly table: ResolverTable;
  readonly version: string;
  readonly source: TableSource;
  readonly bytes: Uint8Array;
  readonly since: Date;
}

interface OpenStream {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  sentNode: boolean;
  responses: number;
}

interface ReadyWaiter {
  resolve(info: ReadyInfo): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** Result versions remembered with their source, for served records of in-flight requests. */
const SOURCE_MEMORY = 16;

/**
 * A resolver fed by the control plane. Create it, attach listeners, then `await start()`:
 *
 * ```ts
 * const client = new SwitchyardClient({ address: '127.0.0.1:18000', node: { id: 'homepage-1', cluster: 'homepage-service' }, cacheFile: '/var/cache/switchyard/resolver.json' });
 * client.on('error', (err) => log.warn({ err: err.toJSON() }, 'switchyard client'));
 * await client.start();                       // { source: 'ads' | 'disk', version }
 * const { routingKey, objectiveConfig } = client.resolve({ objective: 'ContinueWatchingRanking', userId });
 * ```
 */
export class SwitchyardClient extends EventEmitter<ClientEventMap> {
  private readonly options: SwitchyardClientOptions;
  private readonly log: Logger | undefined;
  private readonly backoff: Backoff;
  private readonly node: WireNode;
  private readonly counter = new ServedCounter();
  private readonly sourceByVersion = new Map<string, TableSource>();

  private current: ActiveTable | undefined;
  private grpcClient: grpc.Client | undefined;
  private stream: OpenStream | undefined;
  private connState: ConnectionState = 'idle';
  private started = false;
  private closing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private fetchTimer: NodeJS.Timeout | undefined;

  private readyInfo: ReadyInfo | undefined;
  private readyWaiters: ReadyWaiter[] = [];
  /** The control plane could not deliver a first table: serve the disk copy when it is there. */
  private fallbackDue = false;
  private diskTable: ActiveTable | undefined;

  private ackedVersion = '';
  private lastNack: ClientStatus['lastNack'];
  private lastError: ClientStatus['lastError'];
  private streamFailures = 0;

  private cacheLoadedVersion: string | undefined;
  private cacheLastWrite: { version: string; at: string } | undefined;
  private cacheLastError: string | undefined;
  /** Version the cache file holds (read or written), to skip rewriting the same table. */
  private cachedVersion: string | undefined;
  private pendingWrite: { version: string; bytes: Uint8Array } | undefined;
  private writing: Promise<void> | undefined;

  constructor(options: SwitchyardClientOptions) {
    super();
    if (!options.address) throw new TypeError('SwitchyardClient: options.address ("host:port") is required');
    if (!options.node?.id) throw new TypeError('SwitchyardClient: options.node.id is required');
    this.options = options;
    this.log = options.logger;
    this.backoff = new Backoff(options.backoff);
    const loc = options.node.locality;
    this.node = {
      id: options.node.id,
      cluster: options.node.cluster ?? CLIENT_USER_AGENT,
      user_agent_name: CLIENT_USER_AGENT,
      user_agent_version: CLIENT_VERSION,
      ...(loc ? { locality: { region: loc.region ?? '', zone: loc.zone ?? '', sub_zone: loc.subZone ?? '' } } : {}),
      ...(options.node.metadata ? { metadata: jsonToStruct(options.node.metadata) } : {}),
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Reads the disk cache (when configured), opens the ADS stream and resolves like ready().
   * Idempotent. Attach 'error' and 'table' listeners before calling it.
   */
  start(): Promise<ReadyInfo> {
    if (this.closing) return Promise.reject(new Error('SwitchyardClient: start() after close()'));
    if (!this.started) {
      this.started = true;
      if (this.options.cacheFile) void this.loadCache(this.options.cacheFile);
      const timeoutMs = this.options.initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
      this.fetchTimer = setTimeout(() => {
        this.fetchTimer = undefined;
        this.fallBackToDisk(`no table from ${this.options.address} within ${timeoutMs} ms`);
      }, timeoutMs);
      this.fetchTimer.unref();
      this.connect();
    }
    return this.ready();
  }

  /**
   * Resolves once a table is available, from either source, with the first one's source and
   * version: `'ads'` when the control plane delivered it, `'disk'` when the control plane was
   * unreachable at start (stream failure or initialFetchTimeoutMs) and the cache file held a
   * usable table. Without a disk table it waits for the control plane, however long it takes,
   * unless `timeoutMs` is given: then it rejects with ResolveError RESOLVE_NO_TABLE. It rejects
   * when the client is closed first. It does not start the client.
   */
  ready(options: { timeoutMs?: number } = {}): Promise<ReadyInfo> {
    if (this.readyInfo) return Promise.resolve(this.readyInfo);
    if (this.closing) return Promise.reject(new Error('SwitchyardClient closed before a resolver table was available'));
    return new Promise<ReadyInfo>((resolve, reject) => {
      const waiter: ReadyWaiter = { resolve, reject, timer: undefined };
      if (options.timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
          reject(new ResolveError('RESOLVE_NO_TABLE', `no resolver table within ${options.timeoutMs} ms (${this.whyNoTable()})`));
        }, options.timeoutMs);
      }
      this.readyWaiters.push(waiter);
    });
  }

  /**
   * Stops the stream and timers and waits for a pending cache write. The last table stays in
   * memory: resolve() keeps answering with it. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.connState = 'closed';
    clearTimeout(this.retryTimer);
    clearTimeout(this.fetchTimer);
    this.retryTimer = this.fetchTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.call.cancel();
    this.grpcClient?.close();
    this.grpcClient = undefined;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('SwitchyardClient closed before a resolver table was available'));
    }
    await this.flush();
  }

  /** Resolves when every cache write started so far has finished (or failed and been reported). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  // ---------------------------------------------------------------- resolving

  /**
   * Resolves a request context with the active table: synchronous, in process, no allocation on
   * the hot path. Throws a ResolveError for a bad context (see docs/resolver.md) and
   * RESOLVE_NO_TABLE before the first table. The result is immutable and shared.
   */
  resolve(context: ResolveContext): ResolveResult {
    const cur = this.current;
    if (cur === undefined) throw new ResolveError('RESOLVE_NO_TABLE', `the client has no resolver table yet (${this.whyNoTable()})`);
    return cur.resolver.resolve(context);
  }

  /** `{ 'x-routing-key', 'x-objective' }` for `context` (frozen, shared per decision). */
  headersFor(context: ResolveContext): RoutingHeaders {
    return routingHeaders(this.resolve(context));
  }

  /**
   * Resolves `context` now (throwing a ResolveError here, at the call site, for a bad context) and
   * returns a grpc-js interceptor for one call that sets the routing headers and, unless
   * `report: false`, reports the call with report() when it ends (the model the server named in
   * x-switchyard-model, status, latency). `interceptor.result` is the decision, for its
   * objectiveConfig (model params, timeout).
   *
   * ```ts
   * const routed = client.interceptorFor({ objective: 'ContinueWatchingRanking', userId });
   * stub.rank(request, { interceptors: [routed], deadline: Date.now() + routed.result.objectiveConfig.timeoutMs }, cb);
   * ```
   */
  interceptorFor(context: ResolveContext, options: { report?: boolean; requestId?: string } = {}): RoutingInterceptor {
    const result = this.resolve(context);
    const client = context.client ?? undefined;
    const requestId = options.requestId;
    return routingInterceptor(result, {
      servedModelHeader: this.options.servedModelHeader ?? SERVED_MODEL_HEADER,
      ...(options.report === false
        ? {}
        : {
            onDone: (outcome: ServeOutcome) =>
              this.report(result, { ...outcome, ...(client !== undefined ? { client } : {}), ...(requestId !== undefined ? { requestId } : {}) }),
          }),
    });
  }

  // ---------------------------------------------------------------- reporting

  /**
   * Records which model served a request: builds a ServedRecord from the decision and what the
   * caller observed, counts it (servedCounts) and emits it ('served', onServed). Real and test
   * traffic are told apart by `objectiveConfig.testTraffic` (context.testTraffic, or a Client rule
   * with testTraffic).
   */
  report(result: ResolveResult, outcome: ServeOutcome = {}): ServedRecord {
    const v = result.objectiveConfig.tableVersion;
    const record = servedRecord(result, outcome, this.sourceByVersion.get(v) ?? this.current?.source ?? 'ads');
    this.counter.add(record);
    if (this.listenerCount('served') > 0) this.emit('served', record);
    return record;
  }

  /** Subscribes to served records; returns the function that unsubscribes. */
  onServed(listener: (record: ServedRecord) => void): () => void {
    this.on('served', listener);
    return () => this.off('served', listener);
  }

  /** Served requests per objective and resolved model, real and test traffic apart. */
  servedCounts(): ServedCounts {
    return this.counter.snapshot();
  }

  resetServedCounts(): void {
    this.counter.reset();
  }

  // ---------------------------------------------------------------- state

  /** Version of the active table; undefined before the first. */
  get tableVersion(): string | undefined {
    return this.current?.version;
  }

  /** Source of the active table; undefined before the first. */
  get tableSource(): TableSource | undefined {
    return this.current?.source;
  }

  /**
   * The active resolver table as decoded (experiments with their cells and percents, shifts,
   * overrides, models): for diagnostics and dashboards. Do not mutate it.
   */
  get table(): ResolverTable | undefined {
    return this.current?.table;
  }

  /** Objective names of the active table (sorted); empty before the first. */
  get objectives(): readonly string[] {
    return this.current?.resolver.objectives ?? [];
  }

  get state(): ConnectionState {
    return this.connState;
  }

  status(): ClientStatus {
    const cur = this.current;
    return {
      address: this.options.address,
      nodeId: this.options.node.id,
      state: this.connState,
      table: cur ? { version: cur.version, source: cur.source, since: cur.since.toISOString(), objectives: cur.resolver.objectives } : undefined,
      ackedVersion: this.ackedVersion,
      lastNack: this.lastNack,
      lastError: this.lastError,
      streamFailures: this.streamFailures,
      cache: this.options.cacheFile
        ? { file: this.options.cacheFile, loadedVersion: this.cacheLoadedVersion, lastWrite: this.cacheLastWrite, lastError: this.cacheLastError }
        : undefined,
    };
  }

  // ---------------------------------------------------------------- ADS stream

  private connect(): void {
    if (this.closing) return;
    this.grpcClient ??= new grpc.Client(this.options.address, this.options.credentials ?? grpc.credentials.createInsecure(), {
      // Detect a dead connection (no RST) instead of waiting on it forever.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      ...this.options.channelOptions,
    });
    const identity = (b: Buffer): Buffer => b;
    const call = this.grpcClient.makeBidiStreamRequest(ADS_METHOD_PATH, identity, identity);
    const stream: OpenStream = { call, sentNode: false, responses: 0 };
    this.stream = stream;
    this.connState = 'connecting';
    call.on('data', (bytes: Buffer) => {
      if (this.stream === stream) this.onResponse(stream, bytes);
    });
    // Every failure also ends in 'status', which drives the reconnection; without an 'error'
    // listener the stream would throw.
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => {
      if (this.stream === stream) this.onStreamEnd(stream, s);
    });
    // The first request names what it holds (a reconnecting client, design rule 7).
    this.send(stream, { version_info: this.current?.version ?? '', resource_names: [RESOLVER_TABLE_RESOURCE_NAME], type_url: TypeUrl.ResolverTable, response_nonce: '' });
  }

  private send(stream: OpenStream, req: WireRequest): void {
    if (!stream.sentNode) {
      // The node goes on the first request of a stream only (design rule 7).
      req.node = this.node;
      stream.sentNode = true;
    }
    stream.call.write(encodeDiscoveryRequest(req));
  }

  private onStreamEnd(stream: OpenStream, s: grpc.StatusObject): void {
    this.stream = undefined;
    if (this.closing) return;
    this.streamFailures++;
    // A fresh channel per attempt: the attempt happens when our back-off says, not when the
    // channel's own reconnect back-off would allow it.
    this.grpcClient?.close();
    this.grpcClient = undefined;
    const delay = this.backoff.next();
    this.connState = 'backoff';
    const what = s.code === grpc.status.OK ? 'was ended by the server' : `failed: ${grpc.status[s.code] ?? s.code} ${s.details}`;
    this.reportError(
      new ClientError('stream', `ADS stream to ${this.options.address} ${what} after ${stream.responses} response(s); reconnecting in ${delay} ms`, { grpcCode: s.code, retryInMs: delay }),
    );
    if (!this.current) this.fallBackToDisk(`the control plane at ${this.options.address} is unreachable`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private onResponse(stream: OpenStream, bytes: Buffer): void {
    let res: WireResponse;
    try {
      res = decodeDiscoveryResponse(bytes);
    } catch (err) {
      // Without a nonce there is nothing to NACK: drop the stream and reconnect.
      this.reportError(new ClientError('stream', `undecodable DiscoveryResponse from ${this.options.address}: ${(err as Error).message}`, { cause: err }));
      stream.call.cancel();
      return;
    }
    stream.responses++;
    this.connState = 'connected';
    this.backoff.reset();
    if (res.type_url !== TypeUrl.ResolverTable) {
      this.log?.warn({ event: 'resolver_client_unexpected_type', type: res.type_url }, 'ignored a response of a type the client did not subscribe to');
      return;
    }
    const fail = (message: string, cause?: unknown): void => this.nack(stream, res, message, cause);
    if (!res.version_info) return fail('RESOLVE_BAD_TABLE: response without version_info');
    const foreign = res.resources.find((r) => r.type_url !== TypeUrl.ResolverTable);
    if (foreign) return fail(`RESOLVE_BAD_TABLE: a ${foreign.type_url} resource in a ResolverTable response`);
    if (res.resources.length === 0) {
      // The control plane no longer has the table. Keep serving the last one (like gRPC's
      // ignore_resource_deletion): requests must not start failing because a table vanished.
      this.ack(stream, res);
      this.reportError(new ClientError('missing-table', `response ${res.version_info} holds no "${RESOLVER_TABLE_RESOURCE_NAME}"; keeping table ${this.current?.version ?? '(none)'}`, { version: res.version_info }));
      return;
    }
    if (res.resources.length > 1) return fail(`RESOLVE_BAD_TABLE: ${res.resources.length} resources in a ResolverTable response, expected one "${RESOLVER_TABLE_RESOURCE_NAME}"`);
    const tableBytes = res.resources[0]!.value;
    const cur = this.current;
    if (cur?.source === 'ads' && cur.version === res.version_info && Buffer.from(cur.bytes).equals(tableBytes)) {
      this.ack(stream, res); // the same table again (e.g. after a reconnect)
      return;
    }
    let compiled: { table: ResolverTable; resolver: Resolver };
    try {
      compiled = compileTableBytes(tableBytes, res.version_info);
    } catch (err) {
      return fail(errorText(err), err);
    }
    const previous = this.activate({ ...compiled, version: res.version_info, source: 'ads', bytes: tableBytes, since: new Date() });
    this.ack(stream, res);
    this.announce(previous);
    this.persist(res.version_info, tableBytes);
  }

  private ack(stream: OpenStream, res: WireResponse): void {
    this.send(stream, { version_info: res.version_info, resource_names: [RESOLVER_TABLE_RESOURCE_NAME], type_url: TypeUrl.ResolverTable, response_nonce: res.nonce });
    this.ackedVersion = res.version_info;
  }

  /** Rejects a response: error_detail carries the reason, version_info the last accepted version. */
  private nack(stream: OpenStream, res: WireResponse, message: string, cause?: unknown): void {
    const accepted = this.current?.version ?? '';
    this.send(stream, {
      version_info: accepted,
      resource_names: [RESOLVER_TABLE_RESOURCE_NAME],
      type_url: TypeUrl.ResolverTable,
      response_nonce: res.nonce,
      error_detail: { code: NACK_CODE, message },
    });
    this.lastNack = { version: res.version_info, message, at: new Date().toISOString() };
    this.reportError(
      new ClientError('nack', `rejected resolver table ${res.version_info}: ${message}; keeping ${accepted ? `table ${accepted}` : 'no table'}`, { version: res.version_info, cause }),
    );
  }

  // ---------------------------------------------------------------- tables

  /** Swaps the active table (one assignment); returns the previous one. */
  private activate(next: ActiveTable): ActiveTable | undefined {
    const previous = this.current;
    this.current = next;
    this.sourceByVersion.delete(next.version);
    this.sourceByVersion.set(next.version, next.source);
    if (this.sourceByVersion.size > SOURCE_MEMORY) this.sourceByVersion.delete(this.sourceByVersion.keys().next().value!);
    if (next.source === 'ads') {
      clearTimeout(this.fetchTimer);
      this.fetchTimer = undefined;
    }
    if (!this.readyInfo) {
      this.readyInfo = Object.freeze({ source: next.source, version: next.version });
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.resolve(this.readyInfo);
      }
    }
    return previous;
  }

  private announce(previous: ActiveTable | undefined): void {
    const cur = this.current!;
    this.log?.info({ event: 'resolver_table', version: cur.version, previous: previous?.version, source: cur.source, objectives: cur.resolver.objectives.length }, 'resolver table active');
    this.emit('table', { version: cur.version, previousVersion: previous?.version, source: cur.source, objectives: cur.resolver.objectives, at: cur.since.toISOString() });
  }

  private fallBackToDisk(reason: string): void {
    if (this.current || this.closing) return;
    this.fallbackDue = true;
    clearTimeout(this.fetchTimer);
    this.fetchTimer = undefined;
    const disk = this.diskTable;
    if (!disk) return;
    this.log?.warn({ event: 'resolver_table_from_disk', version: disk.version, reason }, 'serving the disk copy of the resolver table');
    this.announce(this.activate(disk));
  }

  private async loadCache(file: string): Promise<void> {
    try {
      const cached = await readCache(file);
      if (!cached) return;
      const compiled = compileTableBytes(cached.bytes, cached.version);
      this.cacheLoadedVersion = this.cachedVersion = cached.version;
      this.diskTable = { ...compiled, version: cached.version, source: 'disk', bytes: cached.bytes, since: new Date() };
      if (this.fallbackDue) this.fallBackToDisk(`the control plane at ${this.options.address} is unreachable`);
    } catch (err) {
      this.cacheLastError = errorText(err);
      this.reportError(new ClientError('cache-read', `ignoring the resolver cache ${file}: ${errorText(err)}`, { cause: err }));
    }
  }

  private persist(version: string, bytes: Uint8Array): void {
    if (!this.options.cacheFile || version === this.cachedVersion) return;
    this.pendingWrite = { version, bytes };
    this.writing ??= this.drainWrites(this.options.cacheFile).finally(() => {
      this.writing = undefined;
    });
  }

  /** Writes the newest pending table, then any that arrived meanwhile; never two at once. */
  private async drainWrites(file: string): Promise<void> {
    for (let w = this.pendingWrite; w !== undefined; w = this.pendingWrite) {
      this.pendingWrite = undefined;
      try {
        await writeCache(file, w);
        this.cachedVersion = w.version;
        this.cacheLastWrite = { version: w.version, at: new Date().toISOString() };
        this.cacheLastError = undefined;
        this.emit('persisted', { file, version: w.version });
      } catch (err) {
        this.cacheLastError = errorText(err);
        this.reportError(new ClientError('cache-write', `could not save resolver table ${w.version} to ${file}: ${errorText(err)}`, { cause: err, version: w.version }));
      }
    }
  }

  // ---------------------------------------------------------------- errors

  private reportError(err: ClientError): void {
    this.lastError = { kind: err.kind, message: err.message, at: new Date().toISOString() };
    this.log?.warn({ event: `resolver_client_${err.kind.replace('-', '_')}`, err: err.toJSON() }, err.message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private whyNoTable(): string {
    const parts = [`control plane ${this.options.address}: ${this.connState}`];
    if (this.lastError) parts.push(`last error: ${this.lastError.message}`);
    if (this.options.cacheFile) parts.push(this.cacheLastError ? `cache unusable: ${this.cacheLastError}` : this.diskTable ? 'cache loaded' : 'no cache file');
    if (!this.started) parts.push('start() not called');
    return parts.join('; ');
  }
}
