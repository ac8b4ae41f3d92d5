// Server child of the fan-out benchmark: Switchyard's AdsServer with a SingleSnapshotProvider
// serving wideSnapshot(100) (100 EDS clusters + RouteConfiguration `model-serving`). The snapshot
// of each route change is built before its trigger (after the previous change was fully ACKed),
// so a trigger measures the fan-out only. Like a real control plane, the process holds the live
// snapshot and the next one, not the whole series: extra snapshots would only grow the heap every
// garbage collection walks. Driven over IPC by bench/fanout.bench.ts.
import { AdsServer } from '../src/xds/server.js';
import { SingleSnapshotProvider } from '../src/xds/provider.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { wideSnapshot } from '../test/helpers/snapshots.js';
import { CLUSTER_COUNT, routeSalt, serveBench, type BenchServer } from './fanout.bench.js';

const build = (seq: number): Snapshot => wideSnapshot(CLUSTER_COUNT, routeSalt(seq));
let next: { seq: number; snapshot: Snapshot } = { seq: 1, snapshot: build(1) };
const provider = new SingleSnapshotProvider(build(0));
const ads = new AdsServer({ provider, host: '127.0.0.1', port: 0 });
const ackCounts = new Map<string, number>();
ads.on('ack', (e) => ackCounts.set(e.typeUrl, (ackCounts.get(e.typeUrl) ?? 0) + 1));
ads.on('nack', (e) => console.error(`[switchyard] unexpected NACK on ${e.typeUrl}: ${e.message}`));

const server: BenchServer = {
  kind: 'switchyard',
  start: () => ads.start(),
  publish(seq) {
    if (next.seq !== seq) throw new Error(`route change ${seq} was not prepared (next is ${next.seq})`);
    provider.publish(next.snapshot);
  },
  prepare(seq) {
    next = { seq: seq + 1, snapshot: build(seq + 1) };
  },
  acks: (typeUrl) => ackCounts.get(typeUrl) ?? 0,
  streams: () => ads.streamCount(),
};

await serveBench(server);
