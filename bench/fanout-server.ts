// Server child of the fan-out benchmark: Switchyard's AdsServer with a SingleSnapshotProvider
// serving wideSnapshot(100) (100 EDS clusters + RouteConfiguration `model-serving`). Route changes
// publish snapshots built before the first stream connects, so a trigger measures the fan-out
// only, and the RSS growth counts streams only. Driven over IPC by bench/fanout.bench.ts.
import { AdsServer } from '../src/xds/server.js';
import { SingleSnapshotProvider } from '../src/xds/provider.js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { wideSnapshot } from '../test/helpers/snapshots.js';
import { CLUSTER_COUNT, routeSalt, serveBench, type BenchServer } from './fanout.bench.js';

/** Route changes prepared ahead (more than any run uses). */
const VARIANTS = Number(process.env.BENCH_VARIANTS ?? 32);

const snapshots: Snapshot[] = Array.from({ length: VARIANTS + 1 }, (_, seq) => wideSnapshot(CLUSTER_COUNT, routeSalt(seq)));
const provider = new SingleSnapshotProvider(snapshots[0]);
const ads = new AdsServer({ provider, host: '127.0.0.1', port: 0 });
const ackCounts = new Map<string, number>();
ads.on('ack', (e) => ackCounts.set(e.typeUrl, (ackCounts.get(e.typeUrl) ?? 0) + 1));
ads.on('nack', (e) => console.error(`[switchyard] unexpected NACK on ${e.typeUrl}: ${e.message}`));

const server: BenchServer = {
  kind: 'switchyard',
  start: () => ads.start(),
  publish(seq) {
    const s = snapshots[seq];
    if (!s) throw new Error(`no prepared snapshot for route change ${seq} (BENCH_VARIANTS=${VARIANTS})`);
    provider.publish(s);
  },
  acks: (typeUrl) => ackCounts.get(typeUrl) ?? 0,
  streams: () => ads.streamCount(),
};

await serveBench(server);
