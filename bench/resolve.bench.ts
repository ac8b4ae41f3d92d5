// Resolver throughput: in-process resolves/s on one core for a generated table of 1,000 objectives
// (each with a 3-cell experiment, some with a traffic shift and an override) over a precomputed
// array of contexts, target >= 1,000,000/s; then the gRPC Resolve service: requests/s and latency
// at a fixed concurrency. For the gRPC figure the server and the client run in this one process
// (one event loop does both sides), so it is a lower bound of a dedicated server.
//   npx tsx -e "import('./bench/resolve.bench.ts').then(m=>m.benchResolve())"
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { ResolverModel, ResolverObjective, ResolverTable } from '../src/compile/types.js';
import type { ResolveContext } from '../src/resolver/context.js';
import { resolverServiceDefinition, resolverServiceImplementation } from '../src/resolver/grpc-service.js';
import { compileResolver } from '../src/resolver/resolve.js';
import type { Resolver } from '../src/resolver/types.js';
import { prng } from './prng.js';

export const RESOLVE_TARGET_PER_S = 1_000_000;

export interface BenchResolveOptions {
  objectives?: number;
  /** Precomputed contexts cycled through (default 100,000). */
  contexts?: number;
  /** Measured time of each in-process run (default 2,000 ms, after a 500 ms warm-up). */
  inProcessMs?: number;
  /** Bounded gRPC run (default 5 s, after a 1 s warm-up). */
  grpcSeconds?: number;
  /** gRPC calls in flight (default 64). */
  concurrency?: number;
  /** Print one line per figure (default true). */
  print?: boolean;
}


const pad = (i: number): string => String(i).padStart(4, '0');

/**
 * 1,000 objectives, each with a 3-cell experiment (50/25/25); every 4th also has a traffic shift
 * and every 10th a client override. With `shiftOnly`, the objectives have a shift and no
 * experiment instead (the shift step decides every request).
 */
export function generateResolverTable(objectives: number, shiftOnly = false): ResolverTable {
  const objs: Record<string, ResolverObjective> = {};
  const models: Record<string, ResolverModel> = {};
  for (let i = 0; i < objectives; i++) {
    const name = `Objective${pad(i)}`;
    const m = ['a', 'b', 'c', 'd', 'o'].map((s) => `model-${pad(i)}-${s}`);
    for (const [j, model] of m.entries()) models[model] = { name: model, version: `${j + 1}.0`, shard: `shard-${i % 50}`, params: { depth: j + 2, features: ['f1', 'f2'], temperature: 0.5 } };
    const withShift = shiftOnly || i % 4 === 0;
    objs[name] = {
      name,
      defaultModel: m[0]!,
      timeoutMs: 200,
      retries: 2,
      routingKeys: Object.fromEntries(m.map((model) => [model, `${name}/${model}`])),
      experiments: shiftOnly
        ? []
        : [
            {
              abTestId: String(10_000 + i),
              salt: `ab${10_000 + i}`,
              cells: [
                { id: 'control', model: m[0]!, percent: 50, bucketStart: 0, bucketEnd: 5000 },
                { id: 'cell2', model: m[1]!, percent: 25, bucketStart: 5000, bucketEnd: 7500 },
                { id: 'cell3', model: m[2]!, percent: 25, bucketStart: 7500, bucketEnd: 10_000 },
              ],
            },
          ],
      ...(withShift ? { shift: { name: `${name}-rollout`, from: m[0]!, to: m[3]!, percent: 25, stepIndex: 1, salt: `shift:${name}-rollout` } } : {}),
      overrides: i % 10 === 0 ? [{ name: `${name}-qa`, model: m[4]!, client: 'qa-bot' }] : [],
    };
  }
  return { objectives: objs, models, clients: { 'qa-bot': { testTraffic: true }, web: { testTraffic: false } } };
}

/** Contexts over random objectives and users: 5 % carry an allocation, 2 % come from the override client. */
export function generateContexts(count: number, objectives: number, seed = 1): ResolveContext[] {
  const random = prng(seed);
  return Array.from({ length: count }, (): ResolveContext => {
    const i = Math.floor(random() * objectives);
    const objective = `Objective${pad(i)}`;
    const userId = `user-${Math.floor(random() * 10_000_000)}`;
    const r = random();
    if (r < 0.05) return { objective, userId, allocations: { [String(10_000 + i)]: 'cell2' } };
    if (r < 0.07) return { objective, userId, client: 'qa-bot' };
    return { objective, userId, country: 'SE', device: 'tv', client: 'web' };
  });
}

function inProcess(resolver: Resolver, contexts: readonly ResolveContext[], warmupMs: number, runMs: number): number {
  let sink = 0;
  const n = contexts.length;
  const run = (ms: number): number => {
    let done = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      for (let i = 0; i < n; i++) sink += resolver.resolve(contexts[i]!).routingKey.length;
      done += n;
      elapsed = performance.now() - t0;
    }
    return done / (elapsed / 1000);
  };
  run(warmupMs);
  const perS = run(runMs);
  if (sink === 0) throw new Error('unreachable');
  return perS;
}

type UnaryClient = grpc.Client & {
  Resolve(req: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): grpc.ClientUnaryCall;
};

interface LoadResult {
  perS: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs `concurrency` callers in a loop for a bounded time on a server with `definition`. */
async function underLoad(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  requests: readonly unknown[],
  concurrency: number,
  warmupS: number,
  runS: number,
): Promise<LoadResult> {
  const server = new grpc.Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(definition, 'Bench');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as UnaryClient;
  const call = (req: unknown): Promise<boolean> => new Promise((resolve) => client.Resolve(req, {}, (err) => resolve(err === null)));
  try {
    const phase = async (seconds: number, record: boolean) => {
      const latencies: number[] = [];
      let errors = 0;
      let next = 0;
      const end = performance.now() + seconds * 1000;
      const worker = async () => {
        while (performance.now() < end) {
          const req = requests[next++ % requests.length];
          const t0 = performance.now();
          const ok = await call(req);
          if (record) latencies.push(performance.now() - t0);
          if (!ok) errors++;
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { latencies, errors, elapsedS: (performance.now() - t0) / 1000 };
    };
    await phase(warmupS, false);
    const { latencies, errors, elapsedS } = await phase(runS, true);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? NaN;
    return { perS: latencies.length / elapsedS, p50: pct(50), p99: pct(99), errors };
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}

/** The Resolve service under load. */
function overGrpc(resolver: Resolver, contexts: readonly ResolveContext[], concurrency: number, warmupS: number, runS: number): Promise<LoadResult> {
  return underLoad(resolverServiceDefinition(), resolverServiceImplementation(() => resolver), contexts, concurrency, warmupS, runS);
}

/** Baseline: a grpc-js unary echo of fixed bytes (no protobuf, no resolve), same process and load. */
function echoBaseline(concurrency: number, warmupS: number, runS: number): Promise<LoadResult> {
  const identity = (b: Buffer): Buffer => b;
  const definition: grpc.ServiceDefinition = {
    Resolve: { path: '/bench.Echo/Resolve', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  };
  const response = Buffer.alloc(200, 1);
  const implementation: grpc.UntypedServiceImplementation = {
    Resolve: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, response),
  };
  return underLoad(definition, implementation, [Buffer.alloc(60, 1)], concurrency, warmupS, runS);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const round2 = (n: number): number => Math.round(n * 100) / 100;

export async function benchResolve(options: BenchResolveOptions = {}): Promise<Record<string, number>> {
  const objectives = options.objectives ?? 1000;
  const runMs = options.inProcessMs ?? 2000;
  const grpcSeconds = options.grpcSeconds ?? 5;
  const concurrency = options.concurrency ?? 64;
  const print = options.print ?? true;
  const log = (line: string) => {
    if (print) console.log(line);
  };

  const generated = generateResolverTable(objectives);
  const t0 = performance.now();
  const resolver = compileResolver(generated, 'bench');
  const compileMs = performance.now() - t0;
  const contexts = generateContexts(options.contexts ?? 100_000, objectives);
  const perS = inProcess(resolver, contexts, 500, runMs);
  log(`resolve.compile_ms ${round2(compileMs)} (compileResolver, ${objectives} objectives)`);
  log(`resolve.inprocess.per_s ${fmt(perS)} (${round2(perS / RESOLVE_TARGET_PER_S)}x the target ${fmt(RESOLVE_TARGET_PER_S)}/s; one core, ${objectives} objectives with 3-cell experiments, ${contexts.length} contexts)`);

  const shiftResolver = compileResolver(generateResolverTable(objectives, true), 'bench-shift');
  const shiftPerS = inProcess(shiftResolver, contexts, 300, runMs);
  log(`resolve.inprocess.shift_only.per_s ${fmt(shiftPerS)} (${round2(shiftPerS / RESOLVE_TARGET_PER_S)}x target; ${objectives} objectives decided by a traffic shift)`);

  const g = await overGrpc(resolver, contexts, concurrency, 1, grpcSeconds);
  log(`resolve.grpc.per_s ${fmt(g.perS)} (${concurrency} in flight, ${grpcSeconds} s; server and client in one process on one event loop)`);
  log(`resolve.grpc.p50_ms ${round2(g.p50)}`);
  log(`resolve.grpc.p99_ms ${round2(g.p99)}`);
  if (g.errors > 0) log(`resolve.grpc.errors ${g.errors}`);
  const echoSeconds = Math.min(grpcSeconds, 3);
  const echo = await echoBaseline(concurrency, 1, echoSeconds);
  log(`resolve.grpc.echo_baseline.per_s ${fmt(echo.perS)} (grpc-js unary echo of fixed bytes, same process and load, ${echoSeconds} s: the transport's own ceiling here)`);
  log(`resolve.grpc.echo_baseline.p99_ms ${round2(echo.p99)}`);

  return {
    'resolve.objectives': objectives,
    'resolve.compile_ms': round2(compileMs),
    'resolve.inprocess.per_s': Math.round(perS),
    'resolve.inprocess.target_ratio': round2(perS / RESOLVE_TARGET_PER_S),
    'resolve.inprocess.shift_only.per_s': Math.round(shiftPerS),
    'resolve.grpc.per_s': Math.round(g.perS),
    'resolve.grpc.p50_ms': round2(g.p50),
    'resolve.grpc.p99_ms': round2(g.p99),
    'resolve.grpc.concurrency': concurrency,
    'resolve.grpc.errors': g.errors,
    'resolve.grpc.echo_baseline.per_s': Math.round(echo.perS),
    'resolve.grpc.echo_baseline.p99_ms': round2(echo.p99),
  };
}
