// `npm run bench`: the fan-out benchmark (bench/fanout.bench.ts), the compile benchmark
// (bench/compile.bench.ts, when present) and the reload benchmark (bench/reload.bench.ts: rule file
// edit to published version through the real pipeline and store). Prints the figures and writes
// bench/results/latest.json.
//
//   node --expose-gc --import tsx bench/run.ts [--quick] [--streams=1000,10000] [--triggers=12] [--rounds=3]
//        [--warmup=1] [--per-connection=100] [--batch=1000] [--servers=baseline,switchyard]
//        [--profile=cpu|heap] [--only=fanout|compile|reload|resolve|rollout]
// Environment equivalents: BENCH_STREAMS, BENCH_TRIGGERS, BENCH_ROUNDS, BENCH_WARMUP, BENCH_PER_CONNECTION,
// BENCH_BATCH, BENCH_SERVERS, BENCH_PROFILE, BENCH_ONLY (arguments win).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchFanout, summarizeCpuProfile, summarizeHeapGrowth, type FanoutOptions, type FanoutReport, type ServerKind } from './fanout.bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(here, 'results');

function args(): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of process.argv.slice(2)) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (see the header of bench/run.ts)`);
    out.set(m[1]!, m[2] ?? 'true');
  }
  return out;
}

const argv = args();
const opt = (name: string, env: string): string | undefined => argv.get(name) ?? process.env[env];
const num = (name: string, env: string, fallback: number): number => {
  const v = opt(name, env);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};
const list = (v: string | undefined): string[] | undefined => v?.split(',').map((s) => s.trim()).filter(Boolean);

const quick = argv.has('quick') || process.env.BENCH_QUICK === '1';
const only = opt('only', 'BENCH_ONLY');
const profile = opt('profile', 'BENCH_PROFILE');
if (profile !== undefined && profile !== 'cpu' && profile !== 'heap') throw new Error(`--profile must be cpu or heap, got ${profile}`);
const servers = (list(opt('servers', 'BENCH_SERVERS')) ?? ['baseline', 'switchyard']) as ServerKind[];
for (const s of servers) if (s !== 'baseline' && s !== 'switchyard') throw new Error(`unknown server ${s}`);

const fanoutOptions: FanoutOptions = {
  streams: (list(opt('streams', 'BENCH_STREAMS')) ?? (quick ? ['200'] : ['1000', '10000'])).map(Number),
  perConnection: num('per-connection', 'BENCH_PER_CONNECTION', 100),
  batch: num('batch', 'BENCH_BATCH', 1000),
  triggers: num('triggers', 'BENCH_TRIGGERS', quick ? 2 : 12),
  rounds: num('rounds', 'BENCH_ROUNDS', quick || profile ? 1 : 3),
  warmup: Number(opt('warmup', 'BENCH_WARMUP') ?? 1),
  servers,
  profileDir: path.join(resultsDir, 'profiles'),
  ...(profile ? { profile } : {}),
};
for (const n of fanoutOptions.streams) if (!Number.isInteger(n) || n <= 0) throw new Error(`bad stream count ${n}`);

const started = Date.now();
const loadAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
console.log(
  `switchyard bench: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB` +
    `, load average ${loadAtStart.join(' ')}${quick ? ', quick mode' : ''}${typeof (globalThis as { gc?: unknown }).gc === 'function' ? '' : ' (no --expose-gc in this process)'}`,
);

if ((loadAtStart[0] ?? 0) > 1) console.log(`WARNING: load average ${loadAtStart[0]} on ${os.cpus().length} CPUs: other processes are running; figures will be noisy.`);

let fanout: FanoutReport | undefined;
let compile: Record<string, number> | undefined;
let compileSkipped: string | undefined;

if (only === undefined || only === 'fanout') {
  console.log(`\n== fan-out: streams ${fanoutOptions.streams.join(', ')}; servers ${servers.join(', ')} ==`);
  fanout = await benchFanout(fanoutOptions);
}

if (only === undefined || only === 'compile') {
  const compileBench = path.join(here, 'compile.bench.ts');
  if (existsSync(compileBench)) {
    console.log('\n== compile ==');
    const mod = (await import(compileBench.endsWith('.ts') ? new URL('./compile.bench.ts', import.meta.url).href : compileBench)) as {
      benchCompile?: (o?: object) => Promise<Record<string, number>>;
    };
    if (typeof mod.benchCompile === 'function') {
      compile = await mod.benchCompile(quick ? { warmup: 1, runs: 3 } : {});
    } else {
      compileSkipped = 'bench/compile.bench.ts does not export benchCompile()';
    }
  } else {
    compileSkipped = 'bench/compile.bench.ts not present';
  }
  if (compileSkipped) console.log(`\n== compile: skipped (${compileSkipped}) ==`);
}

let reload: Record<string, number> | undefined;
if (only === undefined || only === 'reload') {
  console.log('\n== reload (rule edit to published) ==');
  const { benchReload } = await import('./reload.bench.js');
  reload = await benchReload(quick ? { edits: 5, watcherEdits: 2 } : {});
}

let resolve: Record<string, number> | undefined;
if (only === undefined || only === 'resolve') {
  console.log('\n== resolver (in process, and the gRPC resolve service) ==');
  const { benchResolve } = await import('./resolve.bench.js');
  resolve = await benchResolve(quick ? { inProcessMs: 500, grpcSeconds: 1 } : {});
}

let rollout: Record<string, number> | undefined;
if (only === undefined || only === 'rollout') {
  console.log('\n== rollout (publish to the last wave ACKed, 1,000 proxies) ==');
  const { benchRollout } = await import('./rollout.bench.js');
  rollout = await benchRollout(quick ? { streams: 200, triggers: 2 } : {});
}

mkdirSync(resultsDir, { recursive: true });
const out = path.join(resultsDir, 'latest.json');
const results = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
  loadAverageAtStart: loadAtStart,
  quick,
  durationS: Math.round((Date.now() - started) / 1000),
  fanout: fanout ? { options: fanout.options, rows: fanout.rows } : undefined,
  compile,
  ...(compileSkipped ? { compileSkipped } : {}),
  reload,
  resolve,
  rollout,
};
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
if (fanout && profile) {
  console.log(`\n== server profiles (${fanoutOptions.profileDir}) ==`);
  for (const row of fanout.rows) {
    for (const run of [row.baseline, row.switchyard]) {
      for (const file of run?.profiles ?? []) {
        try {
          if (file.endsWith('.cpuprofile')) console.log(`\n[${run!.server} N=${run!.streams}] ${summarizeCpuProfile(file)}`);
          else if (file.endsWith('-idle.heapsnapshot') && (run!.server === 'switchyard' || !row.switchyard)) {
            const prefix = (f: string): string => f.replace(/-idle\.heapsnapshot$/, '');
            const reference = run!.server === 'switchyard' ? row.baseline?.profiles?.find((f) => f.endsWith('-idle.heapsnapshot')) : undefined;
            console.log(`\n[N=${row.streams}] ${summarizeHeapGrowth(prefix(file), reference && prefix(reference), row.streams)}`);
          }
        } catch (err) {
          console.log(`${file}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }
}
if (fanout) console.log(fanout.table);
console.log(`results written to ${path.relative(process.cwd(), out)} (${results.durationS} s)`);
const missed = fanout?.rows.some((r) => r.p99Verdict === 'MISS' || r.memoryVerdict === 'MISS');
if (missed) console.log('fan-out: at least one target MISSED (see the table above)');
