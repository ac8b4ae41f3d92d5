// Client child of the fan-out benchmark: every stream in one Node thread (the machine has two
// cores: one for the server, one for all clients). Each stream subscribes like Envoy over ADS:
// wildcard CDS (with the node), EDS for the 100 clusters, RDS `model-serving`, and ACKs every
// response with its version and nonce. Requests are pre-encoded per type (only version and nonce
// are appended per ACK); responses are not decoded, only fields 1, 4 and 5 are read.
//
// Streams share HTTP/2 connections: `perConnection` streams per grpc.Client, each client with its
// own subchannel pool (grpc.use_local_subchannel_pool), hence its own TCP connection. An Envoy
// fleet has one connection per proxy; 10,000 client and 10,000 server sockets on one 2-core box
// would mostly measure the kernel and per-session HTTP/2 costs on both sides of the same CPUs.
import * as grpc from '@grpc/grpc-js';
import {
  ADS_METHOD,
  CDS,
  EDS,
  RDS,
  ROUTE_CONFIG,
  clusterNames,
  lenField,
  percentile,
  readVersionTypeNonce,
  type FromClients,
  type ToClients,
  type VersionTypeNonce,
} from './fanout.bench.js';

/** Per type: resource_names (3) and type_url (4), the part every request of a stream repeats. */
const SUBSCRIPTION: Record<string, Buffer> = {
  [CDS]: lenField(4, CDS),
  [EDS]: Buffer.concat([...clusterNames().map((n) => lenField(3, n)), lenField(4, EDS)]),
  [RDS]: Buffer.concat([lenField(3, ROUTE_CONFIG), lenField(4, RDS)]),
};
const TYPE_BIT: Record<string, number> = { [CDS]: 1, [EDS]: 2, [RDS]: 4 };

/** envoy.config.core.v3.Node: id (1), cluster (2), locality (4) {zone (2)}, user_agent_name (6), user_agent_version (7). */
function nodeField(id: string): Buffer {
  return lenField(2, Buffer.concat([lenField(1, id), lenField(2, 'bench'), lenField(4, lenField(2, 'local')), lenField(6, 'envoy'), lenField(7, '1.31.0')]));
}

function send(m: FromClients): void {
  process.send?.(m);
}

interface Trigger {
  seq: number;
  t0: number;
  cpu0: NodeJS.CpuUsage;
  pending: number;
  latencies: Float64Array;
  timer: NodeJS.Timeout;
}

let trigger: Trigger | undefined;
let closing = false;
let streamErrors = 0;
let complete = 0;
let onComplete: (() => void) | undefined;

class BenchStream {
  private readonly call: grpc.ClientDuplexStream<Buffer, VersionTypeNonce>;
  private seen = 0;
  rdsVersion = '';
  versionAtTrigger = '';
  triggerDone = true;

  constructor(
    client: grpc.Client,
    readonly index: number,
  ) {
    this.call = client.makeBidiStreamRequest(ADS_METHOD, (b: Buffer) => b, readVersionTypeNonce);
    this.call.on('data', (r: VersionTypeNonce) => this.onResponse(r));
    this.call.on('error', (err: Error) => {
      if (closing) return;
      if (streamErrors++ < 5) console.error(`[clients] stream ${index} failed: ${err.message}`);
    });
    this.call.write(Buffer.concat([nodeField(`bench-envoy-${index}`), SUBSCRIPTION[CDS]!]));
    this.call.write(SUBSCRIPTION[EDS]!);
    this.call.write(SUBSCRIPTION[RDS]!);
  }

  private onResponse(r: VersionTypeNonce): void {
    const names = SUBSCRIPTION[r.typeUrl];
    if (!names) return;
    this.call.write(Buffer.concat([lenField(1, r.version), names, lenField(5, r.nonce)]));
    if (r.typeUrl === RDS) {
      const t = trigger;
      if (t && !this.triggerDone && r.version !== this.versionAtTrigger) {
        t.latencies[this.index] = performance.now() - t.t0;
        this.triggerDone = true;
        if (--t.pending === 0) finishTrigger(t);
      }
      this.rdsVersion = r.version;
    }
    if (this.seen !== 7) {
      this.seen |= TYPE_BIT[r.typeUrl] ?? 0;
      if (this.seen === 7) {
        complete++;
        onComplete?.();
      }
    }
  }

  cancel(): void {
    this.call.cancel();
  }
}

const clients: grpc.Client[] = [];
const streams: BenchStream[] = [];

function finishTrigger(t: Trigger): void {
  clearTimeout(t.timer);
  trigger = undefined;
  const cpu = process.cpuUsage(t.cpu0);
  const got = Array.from(t.latencies).filter((x) => x >= 0);
  got.sort((a, b) => a - b);
  send({
    type: 'result',
    seq: t.seq,
    received: got.length,
    missing: t.pending,
    p50: percentile(got, 50),
    p90: percentile(got, 90),
    p99: percentile(got, 99),
    max: got.at(-1) ?? NaN,
    min: got[0] ?? NaN,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  });
}

async function connect(m: Extract<ToClients, { type: 'connect' }>): Promise<void> {
  const t0 = performance.now();
  const address = `127.0.0.1:${m.port}`;
  const connections = Math.ceil(m.streams / m.perConnection);
  for (let i = 0; i < connections; i++) {
    clients.push(
      new grpc.Client(address, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.enable_retries': 0,
        'grpc.max_receive_message_length': -1,
        'grpc-node.flow_control_window': 16 * 1024 * 1024,
      }),
    );
  }
  let nextReport = 0;
  for (let start = 0; start < m.streams; start += m.batch) {
    const end = Math.min(m.streams, start + m.batch);
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`streams ${start}..${end - 1}: only ${complete} complete after 60 s (${streamErrors} errors)`)), 60_000);
      onComplete = () => {
        if (complete >= end) {
          clearTimeout(timer);
          onComplete = undefined;
          resolve();
        }
      };
    });
    for (let i = start; i < end; i++) streams.push(new BenchStream(clients[Math.floor(i / m.perConnection)]!, i));
    await done;
    if (end >= nextReport || end === m.streams) {
      console.log(`${m.label} ${end}/${m.streams} streams hold CDS, EDS and RDS (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      nextReport = end + Math.max(m.batch, Math.ceil(m.streams / 4));
    }
  }
  send({ type: 'connected', ms: performance.now() - t0, streams: streams.length, connections, rss: process.memoryUsage().rss });
}

function startTrigger(m: Extract<ToClients, { type: 'trigger' }>): void {
  const latencies = new Float64Array(streams.length).fill(-1);
  for (const s of streams) {
    s.versionAtTrigger = s.rdsVersion;
    s.triggerDone = false;
  }
  const t: Trigger = {
    seq: m.seq,
    pending: streams.length,
    latencies,
    cpu0: process.cpuUsage(),
    t0: 0,
    timer: setTimeout(() => {
      if (trigger === t) finishTrigger(t);
    }, m.timeoutMs),
  };
  trigger = t;
  t.t0 = performance.now();
  send({ type: 'publish', seq: m.seq });
}

process.on('message', (m: ToClients) => {
  switch (m.type) {
    case 'connect':
      connect(m).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
      return;
    case 'trigger':
      startTrigger(m);
      return;
    case 'close':
      closing = true;
      for (const s of streams) s.cancel();
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
