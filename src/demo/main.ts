// `npm run demo`: the whole path, in one process, with no restart.
//
//   rules/ (temp copy) -> Switchyard (ADS) -> resolver client (switchyard/client) -> x-routing-key
//   -> proxyless gRPC channel (@grpc/grpc-js-xds, xds:///model-serving) -> model servers
//
// It copies rules/ to a temp dir, starts one model server per shard on a free port and points the
// copy's shards at them, starts Switchyard on the copy, then resolves and calls for a few thousand
// simulated users and prints the share of users per experiment cell against the rules' percents.
// It then edits experiment 12345's percents in the copy, waits for the new resolver table (client
// 'table' event) and for the channel to hold the new snapshot, runs the same users again and
// prints how the shares moved. Everything it started is stopped and removed at the end.
//
// Run: node --import tsx src/demo/main.ts [--users N] [--concurrency N]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { defaultConfig, packagedRulesDir } from '../app/config.js';
import { startSwitchyard, type RunningSwitchyard } from '../app/switchyard.js';
import { DEFAULT_LISTENER_NAME } from '../compile/constants.js';
import type { ResolverObjective } from '../compile/types.js';
import { silentLogger } from '../log.js';
import { TypeUrl } from '../proto/type-urls.js';
import { loadRuleDir } from '../rules/load.js';
import type { RuleSet } from '../rules/model.js';
import { SwitchyardClient, type ServedRecord, type TableEvent } from '../client/index.js';
import { decodePredictReply, PREDICT_METHOD_PATH, ShardServer, type PredictReply } from './backends.js';
import { copyRules, hostedModels, placeShards, setExperimentPercents } from './rules.js';

export const DEMO_OBJECTIVE = 'ContinueWatchingRanking';
export const DEMO_EXPERIMENT = '12345';
/** The Client rule whose requests are test traffic (rules/clients.yaml). */
export const DEMO_TEST_CLIENT = 'qa-harness';
/** What the demo changes: experiment 12345 from 50/25/25 to these percents. */
export const DEFAULT_NEW_PERCENTS: Readonly<Record<string, number>> = { control: 20, 'treatment-a': 30, 'treatment-b': 50 };

/** grpc-js-xds reads its bootstrap from this channel option when set (one XdsClient per channel). */
const XDS_BOOTSTRAP_CHANNEL_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const STEP_TIMEOUT_MS = 15_000;

export interface DemoOptions {
  /** Simulated users per round. Default 3000. */
  users?: number;
  /** Calls in flight at once. Default 64. */
  concurrency?: number;
  /** Test-traffic requests per round (Client qa-harness), reported apart. Default 50. */
  testRequests?: number;
  /** Rules to copy. Default: the rules/ shipped with the package. */
  rulesDir?: string;
  /** Experiment 12345's new percents. Default control 20, treatment-a 30, treatment-b 50. */
  newPercents?: Readonly<Record<string, number>>;
  /** Where progress and tables go, one line per call. Default console.log. */
  print?: (line: string) => void;
}

export interface CellShare {
  readonly cell: string;
  readonly model: string;
  /** The cell's percent in the rules (the table the client held). */
  readonly configuredPercent: number;
  readonly users: number;
  readonly sharePercent: number;
}

export interface RoundReport {
  readonly tableVersion: string;
  readonly users: number;
  readonly cells: readonly CellShare[];
  /** Real-traffic users per model that served them. */
  readonly models: Readonly<Record<string, number>>;
  /** Test traffic, reported apart: model -> requests. */
  readonly testTraffic: Readonly<Record<string, number>>;
  /** Calls that failed. */
  readonly failures: number;
  /** Calls whose server reported a model other than the resolved one. */
  readonly mismatches: number;
  readonly elapsedMs: number;
  /** userId -> model that served that user (real traffic). */
  readonly servedByUser: ReadonlyMap<string, string>;
}

export interface DemoReport {
  readonly before: RoundReport;
  readonly after: RoundReport;
  readonly edit: {
    readonly file: string;
    readonly tableVersionBefore: string;
    readonly tableVersionAfter: string;
    /** From the save to the client's 'table' event. */
    readonly tableMs: number;
    /** From the save to the channel holding the new snapshot (every type ACKed). */
    readonly convergedMs: number;
  };
  /** Users served by another model in round 2 than in round 1. */
  readonly movedUsers: number;
}

/** A unary call through the xDS channel, routed by the client's interceptor. */
function predict(channel: grpc.Client, client: SwitchyardClient, context: Parameters<SwitchyardClient['interceptorFor']>[0]): Promise<PredictReply> {
  const routed = client.interceptorFor(context);
  return new Promise<PredictReply>((resolve, reject) => {
    channel.makeUnaryRequest(
      PREDICT_METHOD_PATH,
      (b: Buffer) => b,
      decodePredictReply,
      Buffer.alloc(0),
      new grpc.Metadata(),
      // A loaded laptop is not a production shard: the objective's timeoutMs (150 ms) would turn
      // scheduling hiccups into failures and blur the shares, so the demo waits longer.
      { interceptors: [routed], deadline: Date.now() + 10_000 },
      (err, reply) => (err || !reply ? reject(err ?? new Error('empty reply')) : resolve(reply)),
    );
  });
}

/** Runs `task` for 0..n-1 with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

function pct(n: number, total: number): number {
  return total === 0 ? 0 : (100 * n) / total;
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

/** Left-aligned text columns, right-aligned numbers. */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => `  ${r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function experimentOf(client: SwitchyardClient): ResolverObjective['experiments'][number] {
  const objective = client.table?.objectives[DEMO_OBJECTIVE];
  const experiment = objective?.experiments.find((e) => e.abTestId === DEMO_EXPERIMENT);
  if (!experiment) throw new Error(`the resolver table has no experiment ${DEMO_EXPERIMENT} on ${DEMO_OBJECTIVE}`);
  return experiment;
}

/** Resolves when the channel's ADS stream has ACKed every type of the live snapshot. */
function channelConverged(app: RunningSwitchyard, nodeId: string): Promise<void> {
  const holds = (): boolean => {
    const snapshot = app.provider.snapshot;
    const st = app.ads.streamStatuses().find((s) => s.node.id === nodeId);
    return !!snapshot && !!st && st.types.length > 0 && st.types.every((t) => !t.pendingAck && t.ackedSnapshot === snapshot.version);
  };
  if (holds()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    // A stream whose subscribed types did not change settles on the new version without a
    // response, hence without an ACK, when its rollout wave opens: re-check on rollout events too.
    let offRollout: () => void = () => undefined;
    const onAck = (): void => {
      if (!holds()) return;
      clearTimeout(timer);
      app.ads.off('ack', onAck);
      offRollout();
      resolve();
    };
    const timer = setTimeout(() => {
      app.ads.off('ack', onAck);
      offRollout();
      reject(new Error(`the xDS channel (node ${nodeId}) did not converge on snapshot ${app.provider.snapshot?.version} within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    app.ads.on('ack', onAck);
    offRollout = app.provider.onEvent(onAck);
  });
}

/** The next 'table' event whose version differs from `version`. */
function nextTable(client: SwitchyardClient, app: RunningSwitchyard, version: string): Promise<TableEvent> {
  return new Promise<TableEvent>((resolve, reject) => {
    const onTable = (e: TableEvent): void => {
      if (e.version === version) return;
      clearTimeout(timer);
      client.off('table', onTable);
      resolve(e);
    };
    const timer = setTimeout(() => {
      client.off('table', onTable);
      const issues = app.pipeline.state().issues.map((i) => i.message);
      reject(new Error(`no new resolver table within ${STEP_TIMEOUT_MS} ms (still ${version}${issues.length ? `; rules rejected: ${issues.join('; ')}` : ''})`));
    }, STEP_TIMEOUT_MS);
    client.on('table', onTable);
  });
}

async function runRound(label: string, opts: { users: number; concurrency: number; testRequests: number }, client: SwitchyardClient, channel: grpc.Client, print: (l: string) => void): Promise<RoundReport> {
  const experiment = experimentOf(client);
  const tableVersion = client.tableVersion!;
  const records: ServedRecord[] = [];
  const off = client.onServed((r) => records.push(r));
  let failures = 0;
  const servedByUser = new Map<string, string>();
  const started = performance.now();
  const quarter = Math.max(1, Math.ceil(opts.users / 4));
  let done = 0;
  print(`${label}: ${opts.users} users of ${DEMO_OBJECTIVE} (resolver table ${tableVersion}, ${opts.concurrency} calls in flight)`);
  try {
    await pool(opts.users, opts.concurrency, async (i) => {
      try {
        const reply = await predict(channel, client, { objective: DEMO_OBJECTIVE, userId: `user-${i}` });
        servedByUser.set(`user-${i}`, reply.model);
      } catch {
        failures++;
      }
      if (++done % quarter === 0 || done === opts.users) print(`  ${done}/${opts.users} users served (${Math.round(performance.now() - started)} ms)`);
    });
    // Test traffic: the QA harness's requests are overridden to the newest model and must stay
    // out of the experiment's numbers; the served records say which is which.
    await pool(opts.testRequests, opts.concurrency, async (i) => {
      try {
        await predict(channel, client, { objective: DEMO_OBJECTIVE, userId: `qa-${i}`, client: DEMO_TEST_CLIENT });
      } catch {
        failures++;
      }
    });
  } finally {
    off();
  }
  const real = records.filter((r) => !r.testTraffic && r.ok);
  const byCell = new Map<string, number>();
  const models: Record<string, number> = {};
  const testTraffic: Record<string, number> = {};
  for (const r of real) {
    const cell = r.experiment?.cell ?? `(${r.decidedBy})`;
    byCell.set(cell, (byCell.get(cell) ?? 0) + 1);
    const served = r.servedModel ?? r.model;
    models[served] = (models[served] ?? 0) + 1;
  }
  for (const r of records) if (r.testTraffic && r.ok) testTraffic[r.servedModel ?? r.model] = (testTraffic[r.servedModel ?? r.model] ?? 0) + 1;
  const cells: CellShare[] = experiment.cells.map((c) => ({
    cell: c.id,
    model: c.model,
    configuredPercent: c.percent,
    users: byCell.get(c.id) ?? 0,
    sharePercent: pct(byCell.get(c.id) ?? 0, real.length),
  }));
  return {
    tableVersion,
    users: real.length,
    cells,
    models,
    testTraffic,
    failures,
    mismatches: records.filter((r) => r.modelMismatch).length,
    elapsedMs: Math.round(performance.now() - started),
    servedByUser,
  };
}

function printRound(r: RoundReport, print: (l: string) => void, before?: RoundReport): void {
  const header = before ? ['cell', 'model', 'rules before', 'share before', 'rules now', 'users', 'share now', 'vs rules'] : ['cell', 'model', 'rules', 'users', 'share', 'vs rules'];
  const rows = r.cells.map((c) => {
    const prev = before?.cells.find((b) => b.cell === c.cell);
    const tail = [`${fmt(c.configuredPercent)}%`, String(c.users), `${fmt(c.sharePercent)}%`, `${c.sharePercent - c.configuredPercent >= 0 ? '+' : ''}${fmt(c.sharePercent - c.configuredPercent)}`];
    return before ? [c.cell, c.model, `${fmt(prev?.configuredPercent ?? 0)}%`, `${fmt(prev?.sharePercent ?? 0)}%`, ...tail] : [c.cell, c.model, ...tail];
  });
  const numeric = new Set(header.map((_, i) => i).filter((i) => i >= 2));
  for (const l of table(header, rows, numeric)) print(l);
  const served = Object.entries(r.models)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([m, n]) => `${m} ${n} (${fmt(pct(n, r.users))}%)`)
    .join(', ');
  print(`  served by model (x-switchyard-model from the servers): ${served}`);
  const test = Object.entries(r.testTraffic).map(([m, n]) => `${n} -> ${m}`);
  print(`  test traffic (${DEMO_TEST_CLIENT}, kept out of the shares): ${test.join(', ') || 'none'}`);
  print(`  failures ${r.failures}, model mismatches ${r.mismatches}, ${r.elapsedMs} ms`);
}

/** Runs the demo; returns its figures. Stops and removes everything it started, even on failure. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const print = options.print ?? ((l: string) => console.log(l));
  const users = options.users ?? 3000;
  const concurrency = options.concurrency ?? 64;
  const testRequests = options.testRequests ?? 50;
  const newPercents = options.newPercents ?? DEFAULT_NEW_PERCENTS;
  const cleanups: Array<() => Promise<void> | void> = [];
  const t0 = performance.now();
  const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  try {
    // 1. Rules: a private copy, so the demo can edit it.
    const work = await mkdtemp(path.join(os.tmpdir(), 'switchyard-demo-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const rulesDir = path.join(work, 'rules');
    await copyRules(options.rulesDir ?? packagedRulesDir(), rulesDir);
    const loaded = await loadRuleDir(rulesDir);
    if (!loaded.ok) throw new Error(`the rules do not load: ${loaded.errors.map((e) => e.message).join('; ')}`);
    const rules: RuleSet = loaded.ruleSet;
    print(`[1/7] Copied the rules to ${rulesDir} (${rules.objectives.size} objectives, ${rules.models.size} models, ${rules.shards.size} shards)`);

    // 2. One model server per shard on a free port; the copy's shards point at them.
    const servers: ShardServer[] = [];
    cleanups.push(() => Promise.all(servers.map((s) => s.stop())).then(() => undefined));
    for (const [shard, models] of hostedModels(rules)) servers.push(await ShardServer.start(shard, models));
    await placeShards(rulesDir, rules, new Map(servers.map((s) => [s.shard, s.port])));
    print(`[2/7] Model servers: ${servers.map((s) => `${s.shard} [${[...s.models].sort().join(', ')}] on 127.0.0.1:${s.port}`).join('; ')}`);

    // 3. Switchyard on the copy, watching it.
    const config = { ...defaultConfig({}), rulesDir, adsPort: 0, snapshotDir: path.join(work, 'xds-snapshots'), logLevel: 'silent' as const, watch: true, quietMs: 50, maxDelayMs: 500 };
    const app = await startSwitchyard(config, silentLogger());
    cleanups.push(() => app.stop());
    if (app.initial.status === 'rejected') throw new Error(`Switchyard rejected the rules: ${app.initial.issues.map((i) => i.message).join('; ')}`);
    const snapshot = app.provider.snapshot!;
    print(`[3/7] Switchyard: ADS on 127.0.0.1:${app.adsPort}, snapshot ${snapshot.version}, resolver table ${snapshot.type(TypeUrl.ResolverTable)?.version ?? '(none)'}`);

    // 4. The resolver client (switchyard/client), with a disk cache.
    const client = new SwitchyardClient({ address: `127.0.0.1:${app.adsPort}`, node: { id: `demo-resolver-${process.pid}`, cluster: 'demo-service' }, cacheFile: path.join(work, 'cache', 'resolver-table.json') });
    cleanups.push(() => client.close());
    const clientErrors: string[] = [];
    client.on('error', (e) => clientErrors.push(e.message));
    const tClient = performance.now();
    void client.start().catch(() => undefined); // ready() below reports a failure, with a deadline
    const info = await client.ready({ timeoutMs: STEP_TIMEOUT_MS });
    const experiment = experimentOf(client);
    print(`[4/7] Resolver client ready from ${info.source} in ${Math.round(performance.now() - tClient)} ms: table ${info.version}, experiment ${DEMO_EXPERIMENT}: ${experiment.cells.map((c) => `${c.id} ${c.percent}% -> ${c.model}`).join(', ')}`);

    // 5. A proxyless gRPC channel that routes on x-routing-key.
    registerXds();
    const channelNode = `demo-channel-${process.pid}`;
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${app.adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: channelNode, cluster: 'demo-service', locality: { zone: 'local' } },
    };
    const channel = new grpc.Client(`xds:///${DEFAULT_LISTENER_NAME}`, grpc.credentials.createInsecure(), { [XDS_BOOTSTRAP_CHANNEL_OPTION]: JSON.stringify(bootstrap) });
    cleanups.push(() => channel.close());
    const tChannel = performance.now();
    const first = await predict(channel, client, { objective: DEMO_OBJECTIVE, userId: 'warm-up' });
    client.resetServedCounts();
    print(`[5/7] xDS channel xds:///${DEFAULT_LISTENER_NAME} ready in ${Math.round(performance.now() - tChannel)} ms (first call served by ${first.model} on ${first.shard})`);

    // 6. Round 1.
    const round = { users, concurrency, testRequests };
    const before = await runRound('[6/7] Round 1', round, client, channel, print);
    printRound(before, print);

    // 7. Edit the experiment in the copy; wait for the client and the channel; round 2.
    const versionBefore = client.tableVersion!;
    const tableChanged = nextTable(client, app, versionBefore);
    const tEdit = performance.now();
    const file = await setExperimentPercents(rulesDir, rules, DEMO_EXPERIMENT, newPercents);
    const change = experiment.cells.map((c) => `${c.id} ${c.percent}->${newPercents[c.id] ?? c.percent}`).join(', ');
    print(`[7/7] Saved ${file}: experiment ${DEMO_EXPERIMENT} ${change}; waiting for the new resolver table...`);
    const ev = await tableChanged;
    const tableMs = Math.round(performance.now() - tEdit);
    await channelConverged(app, channelNode);
    const convergedMs = Math.round(performance.now() - tEdit);
    print(`  resolver table ${versionBefore} -> ${ev.version} in ${tableMs} ms (client 'table' event); channel converged on snapshot ${app.provider.snapshot!.version} at ${convergedMs} ms`);
    const after = await runRound('  Round 2', round, client, channel, print);
    printRound(after, print, before);
    let movedUsers = 0;
    for (const [user, model] of after.servedByUser) if (before.servedByUser.get(user) !== model) movedUsers++;
    print(`  ${movedUsers} of ${after.servedByUser.size} users (${fmt(pct(movedUsers, after.servedByUser.size))}%) changed model; the others kept theirs (a cell is a fixed range of user buckets)`);
    if (clientErrors.length > 0) print(`  client errors: ${clientErrors.join(' | ')}`);
    print(`Done in ${elapsed()}: the shares moved with the rules, no restart.`);
    return { before, after, edit: { file, tableVersionBefore: versionBefore, tableVersionAfter: ev.version, tableMs, convergedMs }, movedUsers };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        print(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

function parseArgs(argv: readonly string[]): DemoOptions {
  const opts: DemoOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === '--users' && Number.isInteger(value) && value > 0) opts.users = value;
    else if (flag === '--concurrency' && Number.isInteger(value) && value > 0) opts.concurrency = value;
    else throw new Error(`usage: demo [--users N] [--concurrency N] (got ${flag})`);
    i++;
  }
  return opts;
}

const invokedDirectly = process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;
if (invokedDirectly) {
  runDemo(parseArgs(process.argv.slice(2))).then(
    () => {
      process.exitCode = 0;
    },
    (err: unknown) => {
      console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exitCode = 1;
    },
  );
}
