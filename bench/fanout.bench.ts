// Fan-out benchmark: N state-of-the-world ADS streams, each subscribed like Envoy (wildcard CDS,
// EDS for 100 clusters, RDS `model-serving`); after a route change, how long until every stream
// holds the new route version, and how much server memory an idle stream costs. The same clients
// measure a baseline server that only writes pre-encoded responses, so the figures are ratios to
// "what grpc-js costs anyway" on this machine.
//
// Processes (so the server's RSS is measured alone):
//   orchestrator (this module, inside bench/run.ts)
//     ├─ server   bench/fanout-server.ts (Switchyard AdsServer) or bench/fanout-baseline-server.ts
//     └─ clients  bench/fanout-clients.ts: every stream, one Node thread, 127.0.0.1 only
// A trigger is timed on the clients' clock: the clients note t0, ask the orchestrator to publish,
// the orchestrator relays to the server over IPC (two IPC hops, ~0.1 ms, same for both servers),
// and each stream's latency is t(receipt of an RDS response with a new version) - t0.
//
// This module also holds what the three child scripts share: the IPC messages, the ADS names and
// a minimal protobuf wire reader/writer.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { TypeUrl } from '../src/proto/type-urls.js';

// ---------------------------------------------------------------------------------------------
// Shared: names and wire helpers
// ---------------------------------------------------------------------------------------------

export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const CDS = TypeUrl.Cluster;
export const EDS = TypeUrl.ClusterLoadAssignment;
export const RDS = TypeUrl.RouteConfiguration;
export const ROUTE_CONFIG = 'model-serving';
export const CLUSTER_COUNT = 100;

/** The cluster names of test/helpers/snapshots.ts wideSnapshot(100). */
export function clusterNames(count = CLUSTER_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `shard-${String(i).padStart(3, '0')}`);
}

/** Route salt of the snapshot served after trigger `seq` (0 = the initial snapshot). */
export function routeSalt(seq: number): string {
  return seq === 0 ? 'a' : `r${seq}`;
}

export function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** One length-delimited protobuf field. */
export function lenField(field: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((field << 3) | 2), varint(p.length), p]);
}

export interface VersionTypeNonce {
  version: string;
  typeUrl: string;
  nonce: string;
}

/**
 * Reads fields 1, 4 and 5 (strings) of a DiscoveryRequest or DiscoveryResponse, which share that
 * layout (version_info, type_url, nonce / response_nonce), skipping everything else unread.
 */
export function readVersionTypeNonce(buf: Buffer): VersionTypeNonce {
  let version = '';
  let typeUrl = '';
  let nonce = '';
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    let tag = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[pos++]!;
      tag |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    const wire = tag & 7;
    if (wire === 2) {
      let len = 0;
      shift = 0;
      do {
        b = buf[pos++]!;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      const field = tag >>> 3;
      if (field === 1) version = buf.toString('latin1', pos, pos + len);
      else if (field === 4) typeUrl = buf.toString('latin1', pos, pos + len);
      else if (field === 5) nonce = buf.toString('latin1', pos, pos + len);
      pos += len;
    } else if (wire === 0) {
      while (buf[pos++]! & 0x80);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return { version, typeUrl, nonce };
}

// ---------------------------------------------------------------------------------------------
// Shared: IPC messages
// ---------------------------------------------------------------------------------------------

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Orchestrator -> server. */
export type ToServer =
  | { type: 'idle'; streams: number }
  /**
   * Profiling, sent before anything else: a V8 CPU profile of the connect phase (ready -> idle)
   * written to `${cpuPrefix}-connect.cpuprofile` and of the route changes (idle -> stop) to
   * `${cpuPrefix}-changes.cpuprofile`; heap snapshots `${heapPrefix}-before.heapsnapshot` (before
   * any stream) and `${heapPrefix}-idle.heapsnapshot`, each after the memory figures (writing a
   * heap snapshot grows RSS: RSS figures of a heap-profiled run are not comparable).
   */
  | { type: 'profile'; cpuPrefix?: string; heapPrefix?: string }
  | { type: 'publish'; seq: number }
  | { type: 'waitAcks'; seq: number; rds: number }
  | { type: 'stop' };

/** Server -> orchestrator. */
export type FromServer =
  | { type: 'ready'; port: number; mem: MemoryFigures; kind: string }
  | { type: 'idle'; mem: MemoryFigures; streams: number; acks: Record<string, number> }
  | { type: 'published'; seq: number; syncMs: number }
  | { type: 'acked'; rds: number; cpuMs: number; ms: number }
  | { type: 'error'; message: string };

/** Orchestrator -> clients. */
export type ToClients =
  | { type: 'connect'; port: number; streams: number; perConnection: number; batch: number; label: string }
  | { type: 'trigger'; seq: number; timeoutMs: number }
  | { type: 'close' };

export interface TriggerResult {
  type: 'result';
  seq: number;
  received: number;
  missing: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
  clientCpuMs: number;
}

/** Clients -> orchestrator. */
export type FromClients =
  | { type: 'connected'; ms: number; streams: number; connections: number; rss: number }
  | { type: 'publish'; seq: number }
  | TriggerResult
  | { type: 'error'; message: string };

export function memoryFigures(): MemoryFigures {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Forced full GCs (needs --expose-gc), then memory figures. */
export async function settledMemory(): Promise<MemoryFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return memoryFigures();
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** What a server child implements; {@link serveBench} does the IPC. */
export interface BenchServer {
  readonly kind: string;
  start(): Promise<number>;
  publish(seq: number): void;
  /** Called once the route change `seq` is fully ACKed, outside the measured window: get `seq + 1` ready. */
  prepare?(seq: number): void;
  /** ACKs received so far, per type URL. */
  acks(typeUrl: string): number;
  streams(): number;
}

/** The IPC loop of a server child (bench/fanout-server.ts, bench/fanout-baseline-server.ts). */
export async function serveBench(server: BenchServer): Promise<void> {
  const send = (m: FromServer): void => {
    process.send?.(m);
  };
  const waitFor = async (done: () => boolean, timeoutMs: number): Promise<boolean> => {
    const until = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
    return true;
  };
  let heapPrefix: string | undefined;
  let cpuPrefix: string | undefined;
  let profiler: Session | undefined;
  const startCpuProfile = async (): Promise<void> => {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 250 });
    await profiler.post('Profiler.start');
  };
  const stopCpuProfile = async (file: string): Promise<void> => {
    if (!profiler) return;
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(file, JSON.stringify(profile));
  };
  let publishedAt = 0;
  let cpuAtPublish = process.cpuUsage();
  process.on('message', (m: ToServer) => {
    void (async () => {
      switch (m.type) {
        case 'idle': {
          const ok = await waitFor(() => server.acks(CDS) >= m.streams && server.acks(EDS) >= m.streams && server.acks(RDS) >= m.streams, 120_000);
          if (!ok) return send({ type: 'error', message: `streams did not settle: ${server.acks(CDS)}/${server.acks(EDS)}/${server.acks(RDS)} ACKs of ${m.streams}` });
          if (cpuPrefix) await stopCpuProfile(`${cpuPrefix}-connect.cpuprofile`);
          await new Promise((r) => setTimeout(r, 500));
          const mem = await settledMemory();
          if (heapPrefix) writeHeapSnapshot(`${heapPrefix}-idle.heapsnapshot`);
          if (cpuPrefix) await startCpuProfile();
          return send({ type: 'idle', mem, streams: server.streams(), acks: { CDS: server.acks(CDS), EDS: server.acks(EDS), RDS: server.acks(RDS) } });
        }
        case 'profile':
          heapPrefix = m.heapPrefix;
          cpuPrefix = m.cpuPrefix;
          if (cpuPrefix) await startCpuProfile();
          return;
        case 'publish': {
          cpuAtPublish = process.cpuUsage();
          publishedAt = performance.now();
          server.publish(m.seq);
          return send({ type: 'published', seq: m.seq, syncMs: performance.now() - publishedAt });
        }
        case 'waitAcks': {
          const ok = await waitFor(() => server.acks(RDS) >= m.rds, 60_000);
          if (!ok) return send({ type: 'error', message: `only ${server.acks(RDS)} of ${m.rds} RDS ACKs` });
          const cpu = process.cpuUsage(cpuAtPublish);
          const ms = performance.now() - publishedAt;
          server.prepare?.(m.seq);
          // Both servers start every route change from a collected heap (as after a quiet period):
          // when a full GC lands inside the window is then up to the change's own garbage, not chance.
          (globalThis as { gc?: () => void }).gc?.();
          return send({ type: 'acked', rds: server.acks(RDS), cpuMs: (cpu.user + cpu.system) / 1000, ms });
        }
        case 'stop':
          if (cpuPrefix) await stopCpuProfile(`${cpuPrefix}-changes.cpuprofile`);
          setTimeout(() => process.exit(0), 50);
          return;
      }
    })().catch((err: unknown) => send({ type: 'error', message: String(err) }));
  });
  process.on('disconnect', () => process.exit(0));
  const port = await server.start();
  const mem = await settledMemory();
  // The 'profile' message, if any, was sent before anything else and has been handled by now.
  if (heapPrefix) writeHeapSnapshot(`${heapPrefix}-before.heapsnapshot`);
  send({ type: 'ready', port, kind: server.kind, mem });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator
// ---------------------------------------------------------------------------------------------

export type ServerKind = 'switchyard' | 'baseline';

export interface FanoutOptions {
  /** Stream counts to run, e.g. [1000, 10000]. */
  streams: number[];
  /** Streams per HTTP/2 connection (distinct grpc-js channels with a local subchannel pool). */
  perConnection: number;
  /** Streams opened at a time while connecting. */
  batch: number;
  /** Measured route changes per server and stream count, over all rounds (the median of each percentile is reported). */
  triggers: number;
  /**
   * Rounds per stream count: each round runs every server once (a fresh server and fresh
   * clients), alternating which goes first, and the route changes of all rounds are pooled. Load
   * from other processes drifts over minutes; interleaving spreads it over both servers instead of
   * landing on whichever ran second. Default 1.
   */
  rounds?: number;
  /** Route changes before measuring (JIT warm-up), not reported. */
  warmup: number;
  servers: ServerKind[];
  /** Server-side profiling: V8 CPU profiles (connect phase, route changes) or a heap snapshot when idle. */
  profile?: 'cpu' | 'heap';
  /** Where profiles go. */
  profileDir: string;
  log?: (line: string) => void;
}

export interface TriggerFigures {
  seq: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Time inside provider.publish() / the baseline's write loop (synchronous part of the fan-out). */
  publishSyncMs: number;
  /** Server CPU time from the publish until every stream's RDS ACK was received. */
  serverCpuMs: number;
  /** From the publish until the server received every RDS ACK. */
  serverAckedMs: number;
  clientCpuMs: number;
  /**
   * CPU time used on the machine during the route change by processes other than the benchmark's
   * (machine busy time - server - clients - orchestrator): other work skews the figures.
   */
  foreignCpuMs: number;
  wallMs: number;
}

export interface FanoutRun {
  server: ServerKind;
  streams: number;
  connections: number;
  connectMs: number;
  memBefore: MemoryFigures;
  memIdle: MemoryFigures;
  /** (rss idle - rss before) / streams, in KB (1 KB = 1024 bytes). */
  rssPerStreamKB: number;
  /** (heapUsed + external) growth per stream, KB: the JS-visible part of the above. */
  heapPerStreamKB: number;
  triggers: TriggerFigures[];
  /** Medians over the measured triggers. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serverCpuMs: number;
  publishSyncMs: number;
  /** Profile files written for this run. */
  profiles?: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

interface Child<In, Out> {
  proc: ChildProcess;
  send(m: In): void;
  next<T extends Out>(predicate: (m: Out) => m is T, timeoutMs: number, what: string): Promise<T>;
  exited: Promise<number | null>;
}

/** Extra node flags for the server child only (diagnosis, e.g. BENCH_SERVER_NODE_FLAGS=--trace-gc). */
function serverNodeFlags(): string[] {
  return (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
}

function forkChild<In, Out extends { type: string }>(script: string, extraExecArgv: string[], onMessage?: (m: Out) => void): Child<In, Out> {
  const proc = fork(path.join(here, script), [], {
    cwd: repoRoot,
    execArgv: ['--expose-gc', '--import', 'tsx', ...extraExecArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: Out[] = [];
  const waiters: Array<(m: Out) => boolean> = [];
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  proc.on('message', (raw) => {
    const m = raw as Out;
    onMessage?.(m);
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i]!(m)) {
        waiters.splice(i, 1);
        return;
      }
    }
    queue.push(m);
  });
  return {
    proc,
    exited,
    send: (m: In) => {
      proc.send(m as object);
    },
    next<T extends Out>(predicate: (m: Out) => m is T, timeoutMs: number, what: string): Promise<T> {
      const i = queue.findIndex((m) => predicate(m) || m.type === 'error');
      if (i >= 0) {
        const m = queue.splice(i, 1)[0]!;
        return m.type === 'error' ? Promise.reject(new Error(`${script}: ${JSON.stringify(m)}`)) : Promise.resolve(m as T);
      }
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          const w = waiters.indexOf(waiter);
          if (w >= 0) waiters.splice(w, 1);
          reject(new Error(`${script}: no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = (): void => {
          clearTimeout(timer);
          reject(new Error(`${script} exited (code ${exitCode}) while waiting for ${what}`));
        };
        void exited.then(onExit);
        const waiter = (m: Out): boolean => {
          if (m.type === 'error') {
            clearTimeout(timer);
            reject(new Error(`${script}: ${JSON.stringify(m)}`));
            return true;
          }
          if (!predicate(m)) return false;
          clearTimeout(timer);
          resolve(m);
          return true;
        };
        waiters.push(waiter);
      });
    },
  };
}

const is =
  <K extends string>(type: K) =>
  <M extends { type: string }>(m: M): m is Extract<M, { type: K }> =>
    m.type === type;

async function stopChild(child: Child<unknown, { type: string }>, stopMessage: object | undefined, what: string): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  if (stopMessage && child.proc.connected) child.proc.send(stopMessage);
  const timer = setTimeout(() => {
    if (child.proc.exitCode === null) {
      console.error(`${what} did not exit; killing pid ${child.proc.pid}`);
      child.proc.kill('SIGKILL');
    }
  }, 30_000);
  await child.exited;
  clearTimeout(timer);
}

/** Busy CPU time of the whole machine so far, in ms (Linux /proc/stat), or undefined elsewhere. */
function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: count user + nice + system + steal. irq and
    // softirq are left out: loopback traffic of the benchmark itself is processed there.
    return ((v[0]! + v[1]! + v[2]! + (v[7] ?? 0)) * 1000) / 100; // USER_HZ = 100
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to `maxMs`) for a 100 ms window in which the machine is nearly idle: between route
 * changes the benchmark's own processes are idle, so busy time is other processes' work.
 * Returns false when no such window came.
 */
async function quietMoment(maxMs: number): Promise<boolean> {
  const until = performance.now() + maxMs;
  for (;;) {
    const b0 = machineBusyMs();
    await new Promise((r) => setTimeout(r, 100));
    const b1 = machineBusyMs();
    if (b0 === undefined || b1 === undefined || b1 - b0 <= 20) return true;
    if (performance.now() > until) return false;
  }
}

const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** One server kind at one stream count (one round: `opts.triggers` measured route changes). */
export async function runFanout(kind: ServerKind, streams: number, opts: FanoutOptions): Promise<FanoutRun> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const label = `[${kind} N=${streams}]`;
  const script = kind === 'switchyard' ? 'fanout-server.ts' : 'fanout-baseline-server.ts';
  const server = forkChild<ToServer, FromServer>(script, serverNodeFlags());
  const profiles: string[] = [];
  if (opts.profile) {
    mkdirSync(opts.profileDir, { recursive: true });
    const base = path.join(opts.profileDir, `${kind}-${streams}`);
    if (opts.profile === 'cpu') {
      server.send({ type: 'profile', cpuPrefix: base });
      profiles.push(`${base}-connect.cpuprofile`, `${base}-changes.cpuprofile`);
    } else {
      server.send({ type: 'profile', heapPrefix: base });
      profiles.push(`${base}-before.heapsnapshot`, `${base}-idle.heapsnapshot`);
    }
  }
  let clients: Child<ToClients, FromClients> | undefined;
  try {
    const ready = await server.next(is('ready'), 60_000, 'ready');
    log(`${label} server pid ${server.proc.pid} listening on 127.0.0.1:${ready.port}, rss ${fmt(ready.mem.rss / 2 ** 20)} MiB`);
    // Clients ask for a publish; relay it at once (the trigger's clock runs in the clients).
    clients = forkChild<ToClients, FromClients>('fanout-clients.ts', ['--max-old-space-size=8192'], (m) => {
      if (m.type === 'publish') server.send({ type: 'publish', seq: m.seq });
    });
    const connections = Math.ceil(streams / opts.perConnection);
    log(`${label} opening ${streams} streams over ${connections} HTTP/2 connections (${opts.perConnection} per connection)`);
    clients.send({ type: 'connect', port: ready.port, streams, perConnection: opts.perConnection, batch: opts.batch, label });
    const connected = await clients.next(is('connected'), 180_000, 'connected');
    log(`${label} ${connected.streams} streams received CDS, EDS and RDS in ${fmt(connected.ms / 1000, 2)} s; waiting for every ACK`);
    server.send({ type: 'idle', streams });
    const idle = await server.next(is('idle'), 150_000, 'idle');
    const rssPerStreamKB = (idle.mem.rss - ready.mem.rss) / streams / 1024;
    const heapPerStreamKB = (idle.mem.heapUsed + idle.mem.external - ready.mem.heapUsed - ready.mem.external) / streams / 1024;
    log(`${label} idle: ${idle.streams} streams, rss ${fmt(idle.mem.rss / 2 ** 20)} MiB (+${fmt(rssPerStreamKB, 2)} KB/stream; heap+external +${fmt(heapPerStreamKB, 2)} KB/stream)`);

    const triggers: TriggerFigures[] = [];
    const total = opts.warmup + opts.triggers;
    for (let seq = 1; seq <= total; seq++) {
      if (!(await quietMoment(3000))) log(`${label} machine still busy with other processes after 3 s; going on`);
      const busy0 = machineBusyMs();
      const own0 = process.cpuUsage();
      const wall0 = performance.now();
      clients.send({ type: 'trigger', seq, timeoutMs: 60_000 });
      const published = server.next(is('published'), 70_000, `published ${seq}`);
      const result = await clients.next(is('result'), 70_000, `result ${seq}`);
      const pub = await published;
      if (result.missing > 0) throw new Error(`${label} trigger ${seq}: ${result.missing} streams never received the new route version`);
      server.send({ type: 'waitAcks', seq, rds: streams * (seq + 1) });
      const acked = await server.next(is('acked'), 70_000, `acked ${seq}`);
      const wallMs = performance.now() - wall0;
      const own = process.cpuUsage(own0);
      const busy1 = machineBusyMs();
      const foreignCpuMs = busy0 === undefined || busy1 === undefined ? NaN : Math.max(0, busy1 - busy0 - acked.cpuMs - result.clientCpuMs - (own.user + own.system) / 1000);
      const warm = seq <= opts.warmup;
      log(
        `${label} route change ${seq}${warm ? ' (warm-up)' : ''}: p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, max ${fmt(result.max)} ms; ` +
          `publish() ${fmt(pub.syncMs)} ms, server CPU ${fmt(acked.cpuMs, 0)} ms until all ACKed (${fmt(acked.ms, 0)} ms), client CPU ${fmt(result.clientCpuMs, 0)} ms` +
          (foreignCpuMs > 0.1 * wallMs ? `; WARNING other processes used ${fmt(foreignCpuMs, 0)} ms CPU meanwhile` : ''),
      );
      if (!warm) {
        triggers.push({
          seq,
          p50: result.p50,
          p90: result.p90,
          p99: result.p99,
          max: result.max,
          publishSyncMs: pub.syncMs,
          serverCpuMs: acked.cpuMs,
          serverAckedMs: acked.ms,
          clientCpuMs: result.clientCpuMs,
          foreignCpuMs,
          wallMs,
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      server: kind,
      streams,
      connections: connected.connections,
      connectMs: connected.ms,
      memBefore: ready.mem,
      memIdle: idle.mem,
      rssPerStreamKB,
      heapPerStreamKB,
      ...triggerMedians(triggers),
      ...(profiles.length > 0 ? { profiles } : {}),
    };
  } finally {
    if (clients) await stopChild(clients as Child<unknown, { type: string }>, { type: 'close' }, 'clients');
    await stopChild(server as Child<unknown, { type: string }>, { type: 'stop' }, 'server');
  }
}

type TriggerMedians = Pick<FanoutRun, 'triggers' | 'p50' | 'p90' | 'p99' | 'max' | 'serverCpuMs' | 'publishSyncMs'>;

function triggerMedians(triggers: TriggerFigures[]): TriggerMedians {
  const med = (k: keyof TriggerFigures): number => median(triggers.map((t) => t[k]));
  return { triggers, p50: med('p50'), p90: med('p90'), p99: med('p99'), max: med('max'), serverCpuMs: med('serverCpuMs'), publishSyncMs: med('publishSyncMs') };
}

/** Rounds of one server pooled: route changes together, memory the median round's. */
function poolRounds(runs: FanoutRun[]): FanoutRun {
  if (runs.length === 1) return runs[0]!;
  const byRss = [...runs].sort((a, b) => a.rssPerStreamKB - b.rssPerStreamKB);
  const mid = byRss[Math.floor((byRss.length - 1) / 2)]!;
  const profiles = runs.flatMap((r) => r.profiles ?? []);
  return {
    ...mid,
    ...triggerMedians(runs.flatMap((r) => r.triggers)),
    ...(profiles.length > 0 ? { profiles } : {}),
  };
}

export const TARGET_P99_RATIO = 1.2;
export const TARGET_KB_PER_STREAM = 20;
/** The memory target applies at this stream count. */
export const MEMORY_TARGET_STREAMS = 10_000;

export interface FanoutRow {
  streams: number;
  switchyard?: FanoutRun;
  baseline?: FanoutRun;
  p99Ratio?: number;
  /** Server CPU per route change, Switchyard / baseline (less sensitive to other load than latency). */
  cpuRatio?: number;
  p99Verdict?: 'PASS' | 'MISS';
  memoryVerdict?: 'PASS' | 'MISS' | 'n/a';
}

export interface FanoutReport {
  options: Omit<FanoutOptions, 'log'>;
  rows: FanoutRow[];
  table: string;
}

/** Runs every stream count against every server kind; the caller prints the table. */
export async function benchFanout(opts: FanoutOptions): Promise<FanoutReport> {
  const rows: FanoutRow[] = [];
  const rounds = Math.max(1, opts.rounds ?? 1);
  const log = opts.log ?? ((l: string) => console.log(l));
  for (const n of opts.streams) {
    const row: FanoutRow = { streams: n };
    const runs = new Map<ServerKind, FanoutRun[]>(opts.servers.map((k) => [k, []]));
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so a drift in background load is shared.
      const order = round % 2 === 0 ? opts.servers : [...opts.servers].reverse();
      if (rounds > 1) log(`-- N=${n} round ${round + 1}/${rounds}: ${order.join(', ')}`);
      // Triggers spread over the rounds; profiles (one file per server and N) in the first round only.
      const perRound = Math.ceil(opts.triggers / rounds);
      const roundOpts = round === 0 ? { ...opts, triggers: perRound } : { ...opts, triggers: perRound, profile: undefined };
      for (const kind of order) runs.get(kind)!.push(await runFanout(kind, n, roundOpts));
    }
    for (const [kind, list] of runs) row[kind] = poolRounds(list);
    if (row.switchyard && row.baseline) {
      row.p99Ratio = row.switchyard.p99 / row.baseline.p99;
      row.cpuRatio = row.switchyard.serverCpuMs / row.baseline.serverCpuMs;
      row.p99Verdict = row.p99Ratio <= TARGET_P99_RATIO ? 'PASS' : 'MISS';
    }
    if (row.switchyard) row.memoryVerdict = n >= MEMORY_TARGET_STREAMS ? (row.switchyard.rssPerStreamKB <= TARGET_KB_PER_STREAM ? 'PASS' : 'MISS') : 'n/a';
    rows.push(row);
  }
  const table = formatTable(rows, opts);
  const { log: _log, ...rest } = opts;
  return { options: rest, rows, table };
}

function noiseNote(rows: FanoutRow[]): string[] {
  const runs = rows.flatMap((r) => [r.baseline, r.switchyard]).filter((r): r is FanoutRun => r !== undefined);
  const foreign = runs.flatMap((r) => r.triggers).reduce((s, t) => s + (Number.isFinite(t.foreignCpuMs) ? t.foreignCpuMs : 0), 0);
  const wall = runs.flatMap((r) => r.triggers).reduce((s, t) => s + t.wallMs, 0);
  if (wall === 0 || foreign < 0.1 * wall || foreign < 250) return [];
  return [`NOTE: other processes used ${((100 * foreign) / wall).toFixed(0)}% of one core during the route changes (${fmt(foreign / 1000, 1)} s CPU over ${fmt(wall / 1000, 1)} s): figures are noisy, rerun on a quiet machine.`];
}

function roundedTriggers(opts: FanoutOptions): number {
  const rounds = Math.max(1, opts.rounds ?? 1);
  return Math.ceil(opts.triggers / rounds) * rounds;
}

function formatTable(rows: FanoutRow[], opts: FanoutOptions): string {
  const head = ['N', 'server', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'publish() ms', 'srv CPU ms', 'RSS KB/stream', 'heap KB/stream', 'p99/base', 'CPU/base', 'verdict'];
  const lines: string[][] = [];
  for (const r of rows) {
    for (const kind of ['baseline', 'switchyard'] as const) {
      const run = r[kind];
      if (!run) continue;
      const verdict =
        kind === 'switchyard'
          ? [r.p99Verdict ? `p99 ${r.p99Verdict}` : '', r.memoryVerdict && r.memoryVerdict !== 'n/a' ? `mem ${r.memoryVerdict}` : ''].filter(Boolean).join(', ')
          : '';
      lines.push([
        String(r.streams),
        kind,
        fmt(run.p50),
        fmt(run.p90),
        fmt(run.p99),
        fmt(run.max),
        fmt(run.publishSyncMs),
        fmt(run.serverCpuMs, 0),
        fmt(run.rssPerStreamKB, 2),
        fmt(run.heapPerStreamKB, 2),
        kind === 'switchyard' && r.p99Ratio !== undefined ? `${fmt(r.p99Ratio, 2)}x` : '',
        kind === 'switchyard' && r.cpuRatio !== undefined ? `${fmt(r.cpuRatio, 2)}x` : '',
        verdict,
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    '',
    `Fan-out: route change to N SotW streams (wildcard CDS + EDS x${CLUSTER_COUNT} + RDS "${ROUTE_CONFIG}"), ${opts.perConnection} streams per HTTP/2 connection, ` +
      `median of ${roundedTriggers(opts)} route changes per server${(opts.rounds ?? 1) > 1 ? ` pooled from ${opts.rounds} interleaved rounds (fresh server and clients each, ${opts.warmup} warm-up each)` : ` after ${opts.warmup} warm-up`}; ` +
      'latency = trigger -> RDS response with the new version, per stream.',
    `Targets: p99 <= ${TARGET_P99_RATIO}x baseline p99; RSS <= ${TARGET_KB_PER_STREAM} KB per idle stream at ${MEMORY_TARGET_STREAMS} streams (KB = 1024 B; RSS KB/stream = (RSS idle - RSS before streams) / N).`,
    row(head),
    row(widths.map((w) => '-'.repeat(w))),
    ...lines.map(row),
    ...noiseNote(rows),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Profile summaries (`--profile=cpu|heap`)
// ---------------------------------------------------------------------------------------------

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives, coarse enough to act on. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const m = /\/(src\/[^?]+|bench\/[^?]+|test\/[^?]+)/.exec(url);
  if (m && !url.includes('node_modules')) return m[1]!.replace(/\/[^/]+$/, '/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(\w+).*/, 'node:$1');
  return url;
}

function short(url: string): string {
  return url.replace(/^file:\/\/.*?\/(src|bench|test|node_modules)\//, '$1/').replace(/^node:internal\//, 'node:');
}

/** Top self and inclusive times of a V8 CPU profile, by function and by area. */
export function summarizeCpuProfile(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const key = (n: CpuProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    total += us;
    if (n.callFrame.functionName === '(idle)') idle += us;
    self.set(key(n), (self.get(key(n)) ?? 0) + us);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const list = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true): string[] =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${ms(us)} ${pct(us)}  ${k}`);
  const notRoot = (k: string): boolean => !/^\((root|program|idle|garbage collector)\)/.test(k) && !k.startsWith('(anonymous) :');
  return [
    `CPU profile ${path.basename(file)}: ${(busy / 1000).toFixed(0)} ms busy (${(idle / 1000).toFixed(0)} ms idle); % of busy time`,
    'by area (self time):',
    ...list(areas, 15),
    'by function (self time):',
    ...list(self, top),
    'by function (inclusive time, Switchyard code):',
    ...list(incl, Math.ceil(top / 2), (k) => / (src|test)\//.test(k)),
    'by function (inclusive time, everything):',
    ...list(incl, Math.ceil(top / 2), notRoot),
  ].join('\n');
}

export interface HeapClassFigure {
  count: number;
  bytes: number;
}

/** Self size per node class (type:constructor) of a V8 heap snapshot. */
export function heapByClass(file: string): Map<string, HeapClassFigure> {
  const size = statSync(file).size;
  if (size > 450 * 2 ** 20) throw new Error(`${file} is ${(size / 2 ** 20).toFixed(0)} MiB: too large to parse here; profile fewer streams`);
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const out = new Map<string, HeapClassFigure>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + fType]!]!;
    let name = snap.strings[snap.nodes[i + fName]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    else if (type === 'code' || type === 'hidden') name = name.replace(/\s.*$/, '').slice(0, 40);
    else name = name.slice(0, 60);
    const k = `${type}:${name}`;
    const f = out.get(k) ?? { count: 0, bytes: 0 };
    f.count++;
    f.bytes += snap.nodes[i + fSize]!;
    out.set(k, f);
  }
  return out;
}

function heapGrowth(before: string, idle: string): Map<string, HeapClassFigure> {
  const a = heapByClass(idle);
  const b = heapByClass(before);
  const out = new Map<string, HeapClassFigure>();
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k) ?? { count: 0, bytes: 0 };
    const y = b.get(k) ?? { count: 0, bytes: 0 };
    out.set(k, { count: x.count - y.count, bytes: x.bytes - y.bytes });
  }
  return out;
}

/**
 * JS heap growth per stream by class, from the `-before`/`-idle` heap snapshots of a run: for
 * `subject`, and minus `reference`'s (e.g. switchyard minus baseline) when given.
 */
export function summarizeHeapGrowth(subjectPrefix: string, referencePrefix: string | undefined, streams: number, top = 25): string {
  const a = heapGrowth(`${subjectPrefix}-before.heapsnapshot`, `${subjectPrefix}-idle.heapsnapshot`);
  const b = referencePrefix ? heapGrowth(`${referencePrefix}-before.heapsnapshot`, `${referencePrefix}-idle.heapsnapshot`) : new Map<string, HeapClassFigure>();
  const rows = [...new Set([...a.keys(), ...b.keys()])].map((k) => {
    const x = a.get(k) ?? { count: 0, bytes: 0 };
    const y = b.get(k) ?? { count: 0, bytes: 0 };
    return { k, own: x.bytes / streams, count: x.count / streams, ref: y.bytes / streams, diff: (x.bytes - y.bytes) / streams };
  });
  rows.sort((p, q) => q.diff - p.diff);
  const sum = (m: Map<string, HeapClassFigure>): number => [...m.values()].reduce((s, f) => s + f.bytes, 0) / streams;
  return [
    `JS heap growth per idle stream (self sizes; before streams -> idle): ${path.basename(subjectPrefix)} ${sum(a).toFixed(0)} B` +
      (referencePrefix ? `, ${path.basename(referencePrefix)} ${sum(b).toFixed(0)} B, difference ${(sum(a) - sum(b)).toFixed(0)} B` : ''),
    `  ${'B/stream'.padStart(9)}  ${'objs/stream'.padStart(11)}${referencePrefix ? `  ${'ref B'.padStart(7)}  ${'diff B'.padStart(7)}` : ''}  class`,
    ...rows
      .slice(0, top)
      .map(
        (r) =>
          `  ${r.own.toFixed(0).padStart(9)}  ${r.count.toFixed(2).padStart(11)}${referencePrefix ? `  ${r.ref.toFixed(0).padStart(7)}  ${r.diff.toFixed(0).padStart(7)}` : ''}  ${r.k}`,
      ),
  ].join('\n');
}
