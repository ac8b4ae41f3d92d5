// Baseline server child of the fan-out benchmark: the least a grpc-js ADS server can do. Same
// method path and server options as AdsServer; every response is encoded once at start-up from
// the same snapshots Switchyard serves (same byte sizes: bodies plus a nonce of the same length as
// Switchyard's per-stream nonces 1, 2, 3, 4...). Per stream it answers each type's first request
// with the pre-encoded response and counts ACKs; on a route change it writes one pre-encoded RDS
// response to every stream. No per-stream state, no request decoding beyond three fields, no
// ordering, no ACK gating: whatever this costs, grpc-js and the kernel cost anyway.
import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../src/snapshot/snapshot.js';
import { wideSnapshot } from '../test/helpers/snapshots.js';
import { ADS_METHOD, CDS, CLUSTER_COUNT, EDS, RDS, lenField, readVersionTypeNonce, routeSalt, serveBench, type BenchServer } from './fanout.bench.js';

const VARIANTS = Number(process.env.BENCH_VARIANTS ?? 32);

/** DiscoveryResponse: version_info (1), every resource of the type (2), type_url (4), nonce (5). */
function response(snapshot: Snapshot, typeUrl: string, nonce: string): Buffer {
  const set = snapshot.type(typeUrl);
  if (!set) throw new Error(`snapshot without ${typeUrl}`);
  return Buffer.concat([lenField(1, set.version), ...[...set.resources.values()].map((r) => r.sotwField), lenField(4, typeUrl), lenField(5, nonce)]);
}

/** Every response, encoded once; the snapshots themselves are dropped (only bytes are kept). */
function prepare(): { initial: Map<string, Buffer>; routes: Buffer[] } {
  const snapshots: Snapshot[] = Array.from({ length: VARIANTS + 1 }, (_, seq) => wideSnapshot(CLUSTER_COUNT, routeSalt(seq)));
  const first = snapshots[0]!;
  return {
    initial: new Map<string, Buffer>([
      [CDS, response(first, CDS, '1')],
      [EDS, response(first, EDS, '2')],
    ]),
    // RDS response after route change `seq` (0 = initial), nonce seq + 3 as on a Switchyard stream.
    routes: snapshots.map((s, seq) => response(s, RDS, String(seq + 3))),
  };
}

const { initial, routes } = prepare();
let currentRoutes = routes[0]!;

const identity = (b: Buffer): Buffer => b;
const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
const acks = new Map<string, number>();

const grpcServer = new grpc.Server({
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': -1,
});
grpcServer.addService(
  {
    StreamAggregatedResources: {
      path: ADS_METHOD,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      calls.add(call);
      call.on('data', (req: Buffer) => {
        const { typeUrl, nonce } = readVersionTypeNonce(req);
        if (nonce) {
          acks.set(typeUrl, (acks.get(typeUrl) ?? 0) + 1);
          return;
        }
        const bytes = typeUrl === RDS ? currentRoutes : initial.get(typeUrl);
        if (bytes) call.write(bytes);
      });
      const done = (): void => {
        calls.delete(call);
      };
      call.on('end', () => {
        done();
        call.end();
      });
      call.on('cancelled', done);
      call.on('error', done);
      call.on('close', done);
    },
  },
);

const server: BenchServer = {
  kind: 'baseline',
  start: () =>
    new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    ),
  publish(seq) {
    const bytes = routes[seq];
    if (!bytes) throw new Error(`no prepared route change ${seq} (BENCH_VARIANTS=${VARIANTS})`);
    currentRoutes = bytes;
    for (const call of calls) call.write(bytes);
  },
  acks: (typeUrl) => acks.get(typeUrl) ?? 0,
  streams: () => calls.size,
};

await serveBench(server);
