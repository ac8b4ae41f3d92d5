// Rollout benchmark: from publish() of a new snapshot until the last wave of a 1,000-proxy fleet has
// ACKed it (canary wave, then 10 %, 50 %, 100 % of the rest), bake times subtracted. Compared with
// an urgent publish of the same change (every proxy at once), which is what the fleet costs without
// waves: the difference is the price of the ordering (one ACK round trip per wave plus the gating).
//
// One process: the AdsServer + RolloutProvider and the raw clients (100 streams per HTTP/2
// connection, each subscribed like Envoy: wildcard CDS, EDS for 100 clusters, RDS `model-serving`,
// ACKing every response; only version, type and nonce are read). The change touches the routes
// only (as a rule save usually does), so each proxy gets one RDS response per rollout.
//
//   node --import tsx bench/rollout.bench.ts [--streams=1000] [--per-connection=100] [--triggers=5] [--bake-ms=0]
import * as grpc from '@grpc/grpc-js';
import { pathToFileURL } from 'node:url';
import { AdsServer } from '../src/xds/server.js';
import { RolloutProvider, type RolloutEvent } from '../src/rollout/provider.js';
import { rolloutPolicy } from '../src/rollout/policy.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { wideSnapshot } from '../test/helpers/snapshots.js';
import { ADS_METHOD, CDS, CLUSTER_COUNT, EDS, RDS, ROUTE_CONFIG, clusterNames, lenField, readVersionTypeNonce, routeSalt, type VersionTypeNonce } from './fanout.bench.js';

export interface RolloutBenchOptions {
  streams?: number;
  perConnection?: number;
  /** Measured rollouts (and as many urgent publishes); medians are reported. */
  triggers?: number;
  /** Bake of every wave (canary included); subtracted from the figure. */
  bakeMs?: number;
  /** Canary proxies (cluster "canary"). */
  canaries?: number;
  log?: (line: string) => void;
}

const SUBSCRIPTION: Record<string, Buffer> = {
  [CDS]: lenField(4, CDS),
  [EDS]: Buffer.concat([...clusterNames().map((n) => lenField(3, n)), lenField(4, EDS)]),
  [RDS]: Buffer.concat([lenField(3, ROUTE_CONFIG), lenField(4, RDS)]),
};

/** envoy.config.core.v3.Node: id (1), cluster (2), locality (4) {zone (2)}, user_agent_name (6), user_agent_version (7). */
function nodeField(id: string, cluster: string): Buffer {
  return lenField(2, Buffer.concat([lenField(1, id), lenField(2, cluster), lenField(4, lenField(2, 'local')), lenField(6, 'envoy'), lenField(7, '1.31.0')]));
}

class RawStream {
  private readonly call: grpc.ClientDuplexStream<Buffer, VersionTypeNonce>;
  rdsResponses = 0;

  constructor(
    client: grpc.Client,
    id: string,
    cluster: string,
    private readonly onRds: () => void,
  ) {
    this.call = client.makeBidiStreamRequest(ADS_METHOD, (b: Buffer) => b, readVersionTypeNonce);
    this.call.on('data', (r: VersionTypeNonce) => {
      const names = SUBSCRIPTION[r.typeUrl];
      if (!names) return;
      this.call.write(Buffer.concat([lenField(1, r.version), names, lenField(5, r.nonce)]));
      if (r.typeUrl === RDS) {
        this.rdsResponses++;
        this.onRds();
      }
    });
    this.call.on('error', () => undefined);
    this.call.write(Buffer.concat([nodeField(id, cluster), SUBSCRIPTION[CDS]!]));
    this.call.write(SUBSCRIPTION[EDS]!);
    this.call.write(SUBSCRIPTION[RDS]!);
  }

  cancel(): void {
    this.call.cancel();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (n: number): number => Math.round(n * 10) / 10;

export async function benchRollout(opts: RolloutBenchOptions = {}): Promise<Record<string, number>> {
  const streamsWanted = opts.streams ?? 1000;
  const perConnection = opts.perConnection ?? 100;
  const triggers = opts.triggers ?? 5;
  const bakeMs = opts.bakeMs ?? 0;
  const canaries = opts.canaries ?? 10;
  const log = opts.log ?? ((line: string) => console.log(line));

  const policy = rolloutPolicy({ name: 'bench', canaryClusters: ['canary'], canaryBakeMs: bakeMs, waves: [10, 50, 100].map((percent) => ({ percent, bakeMs })) });
  const totalBakeMs = policy.waves.reduce((sum, w) => sum + w.bakeMs, 0);
  // Snapshot 0 is served at connect; then one per rollout and one per urgent publish.
  const snapshots: Snapshot[] = Array.from({ length: 2 * triggers + 2 }, (_, seq) => wideSnapshot(CLUSTER_COUNT, routeSalt(seq)));
  const provider = new RolloutProvider({ initial: snapshots[0], policy });
  const server = new AdsServer({ provider, host: '127.0.0.1', port: 0 });
  provider.attach(server);
  let nacks = 0;
  server.on('nack', () => nacks++);
  const port = await server.start();

  const clients: grpc.Client[] = [];
  const streams: RawStream[] = [];
  let rdsTotal = 0;
  let rdsWaiter: { target: number; resolve: () => void } | undefined;
  const onRds = (): void => {
    rdsTotal++;
    if (rdsWaiter && rdsTotal >= rdsWaiter.target) {
      const w = rdsWaiter;
      rdsWaiter = undefined;
      w.resolve();
    }
  };
  const rdsReach = (target: number): Promise<void> => (rdsTotal >= target ? Promise.resolve() : new Promise((resolve) => (rdsWaiter = { target, resolve })));

  const connectStarted = performance.now();
  for (let i = 0; i < streamsWanted; i++) {
    if (i % perConnection === 0) clients.push(new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const canary = i < canaries;
    streams.push(new RawStream(clients.at(-1)!, `${canary ? 'canary' : 'proxy'}-${String(i).padStart(5, '0')}`, canary ? 'canary' : 'edge', onRds));
  }
  await rdsReach(streamsWanted);
  const connectMs = performance.now() - connectStarted;
  log(`rollout bench: ${streamsWanted} streams on ${clients.length} connections connected in ${round(connectMs)} ms; policy ${policy.waves.map((w) => w.name).join(', ')}, bake ${bakeMs} ms per wave`);

  // Wave timings of the current rollout, on this process's clock.
  let marks: Array<{ type: string; wave: number; members: number; t: number }> = [];
  let completed: { target: string; resolve: () => void } | undefined;
  provider.onEvent((e: RolloutEvent) => {
    if (e.type === 'wave-opened' || e.type === 'wave-acked') marks.push({ type: e.type, wave: e.wave, members: e.members, t: performance.now() });
    if (e.type === 'completed' && completed && e.target === completed.target) completed.resolve();
  });

  const rollouts: number[] = [];
  const urgents: number[] = [];
  const perWave: number[][] = policy.waves.map(() => []);
  let seq = 1;
  for (let i = 0; i < triggers; i++) {
    // A rollout through the waves.
    const target = snapshots[seq++]!;
    marks = [];
    const done = new Promise<void>((resolve) => (completed = { target: target.version, resolve }));
    const t0 = performance.now();
    provider.publish(target);
    await done;
    const elapsed = performance.now() - t0;
    rollouts.push(elapsed - totalBakeMs);
    for (let w = 0; w < policy.waves.length; w++) {
      const opened = marks.find((m) => m.type === 'wave-opened' && m.wave === w);
      const acked = marks.find((m) => m.type === 'wave-acked' && m.wave === w);
      if (opened && acked) perWave[w]!.push(acked.t - opened.t);
    }
    const members = policy.waves.map((_, w) => marks.find((m) => m.type === 'wave-opened' && m.wave === w)?.members ?? 0);
    log(`  rollout ${i + 1}: ${round(elapsed - totalBakeMs)} ms to the last wave's ACK (bake ${totalBakeMs} ms subtracted); wave members ${members.join('/')}`);

    // The same kind of change, urgently: every proxy at once, timed to the last RDS ACK the server saw.
    const urgent = snapshots[seq++]!;
    const acked = new Set<string>();
    let onAck: ((e: { typeUrl: string; snapshotVersion: string; stream: { id: string } }) => void) | undefined;
    const allAcked = new Promise<void>((resolve) => {
      onAck = (e) => {
        if (e.typeUrl !== RDS || e.snapshotVersion !== urgent.version) return;
        acked.add(e.stream.id);
        if (acked.size === streamsWanted) resolve();
      };
      server.on('ack', onAck);
    });
    const u0 = performance.now();
    provider.publishUrgent(urgent);
    await allAcked;
    server.off('ack', onAck!);
    urgents.push(performance.now() - u0);
  }

  for (const s of streams) s.cancel();
  for (const c of clients) c.close();
  await server.stop(200);

  const result: Record<string, number> = {
    streams: streamsWanted,
    perConnection,
    triggers,
    bakeMsPerWave: bakeMs,
    connectMs: round(connectMs),
    rolloutMedianMs: round(median(rollouts)),
    rolloutMinMs: round(Math.min(...rollouts)),
    rolloutMaxMs: round(Math.max(...rollouts)),
    urgentMedianMs: round(median(urgents)),
    nacks,
  };
  perWave.forEach((xs, w) => {
    if (xs.length > 0) result[`wave${w}AckMedianMs`] = round(median(xs));
  });
  log(
    `rollout: median ${result.rolloutMedianMs} ms from publish() to the last wave's ACK over ${streamsWanted} proxies (min ${result.rolloutMinMs}, max ${result.rolloutMaxMs}; ` +
      `per wave open->all ACKed: ${perWave.map((xs) => (xs.length ? round(median(xs)) : '-')).join(' / ')} ms); urgent publish to all: median ${result.urgentMedianMs} ms`,
  );
  return result;
}

function arg(name: string): number | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchRollout({
    ...(arg('streams') !== undefined ? { streams: arg('streams')! } : {}),
    ...(arg('per-connection') !== undefined ? { perConnection: arg('per-connection')! } : {}),
    ...(arg('triggers') !== undefined ? { triggers: arg('triggers')! } : {}),
    ...(arg('bake-ms') !== undefined ? { bakeMs: arg('bake-ms')! } : {}),
  });
  console.log(JSON.stringify(figures));
}
