// The admin HTTP API against a whole in-process Switchyard (store, pipeline, watcher, ADS) on free
// ports: history, contents, diffs, rule errors, readiness, rollback/resume with auth, NACKs in
// /v1/proxies, `switchyard status` and /metrics.
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import pino from 'pino';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { startSwitchyard } from '../../src/app/switchyard.js';
import type { DiffView, ProxiesView, RuleErrorsView, SnapshotDetailView, SnapshotListView } from '../../src/admin/types.js';
import { decodeMessage } from '../../src/proto/messages.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import type { NackEvent, AckEvent } from '../../src/xds/stream.js';
import type { AdsServer } from '../../src/xds/server.js';
import { testConfig } from '../helpers/app.js';
import { SotwClient } from '../helpers/ads-client.js';
import { waitForEvent } from '../helpers/wait.js';
import { api, capturingLogger, cli, rankingRules, removeDirs, saveAndReload, startWithAdmin, tempDir } from './fixtures.js';

const PORTS = { a: 9001, b: 9002 };
let apps: RunningSwitchyard[] = [];
let clients: SotwClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await Promise.all(apps.map((a) => a.stop()));
  apps = [];
  await removeDirs(dirs);
});

async function rulesDir(text: string): Promise<{ dir: string; file: string }> {
  const dir = await tempDir('admin-rules');
  dirs.push(dir);
  const file = path.join(dir, 'ranking.yaml');
  await writeFile(file, text);
  return { dir, file };
}

async function start(dir: string, overrides: Parameters<typeof startWithAdmin>[1] = {}): Promise<RunningSwitchyard> {
  const app = await startWithAdmin(dir, overrides);
  apps.push(app);
  dirs.push(app.controlPlane.store.dir);
  return app;
}

function onAds<E extends 'ack' | 'nack'>(ads: AdsServer, event: E) {
  return (listener: (e: E extends 'ack' ? AckEvent : NackEvent) => void): (() => void) => {
    ads.on(event, listener as never);
    return () => ads.off(event, listener as never);
  };
}

describe('admin API: history, contents and diffs', () => {
  it('lists versions with live flags and changed files, shows resources decoded or raw, and diffs them field by field', async () => {
    const { dir, file } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const app = await start(dir);
    const v1 = app.provider.snapshot!.version;

    expect((await api(app, 'GET', '/healthz')).status).toBe(200);
    const ready = await api<{ status: string; live: string }>(app, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.live).toBe(v1);

    const outcome = await saveAndReload(app, file, rankingRules(PORTS, 'ranker-v2'));
    expect(outcome.status).toBe('published');
    const v2 = app.provider.snapshot!.version;

    const list = await api<SnapshotListView>(app, 'GET', '/v1/snapshots');
    expect(list.status).toBe(200);
    expect(list.body.live).toBe(v2);
    expect(list.body.pinned).toBeNull();
    expect(list.body.problems).toEqual([]);
    expect(list.body.snapshots.map((s) => [s.seq, s.version, s.live, s.pinned])).toEqual([
      [2, v2, true, false],
      [1, v1, false, false],
    ]);
    expect(list.body.snapshots[0]!.changedFiles).toEqual({ added: [], changed: ['ranking.yaml'], removed: [] });
    expect(Object.keys(list.body.snapshots[0]!.typeVersions)).toEqual(['CDS', 'EDS', 'LDS', 'RDS', 'RESOLVER']);

    // By unique prefix, one type, decoded to JSON.
    const rds = await api<SnapshotDetailView>(app, 'GET', `/v1/snapshots/${v1.slice(0, 8)}?type=RDS`);
    expect(rds.status).toBe(200);
    expect(rds.body.version).toBe(v1);
    expect(rds.body.types.map((t) => t.type)).toEqual(['RDS']);
    const rc = rds.body.types[0]!.resources[0]!.resource as { virtual_hosts: Array<{ routes: Array<{ name: string; route: { cluster: string } }> }> };
    expect(rc.virtual_hosts[0]!.routes.find((r) => r.name === 'objective:Ranking')!.route.cluster).toBe('shard-a');

    // Raw: base64 of the very bytes that are served.
    const raw = await api<SnapshotDetailView>(app, 'GET', `/v1/snapshots/live?raw=1&type=CDS,EDS`);
    expect(raw.body.types.map((t) => t.type)).toEqual(['CDS', 'EDS']);
    const served = app.provider.snapshot!.resource(TypeUrl.Cluster, 'shard-b')!;
    const rawCluster = raw.body.types[0]!.resources.find((r) => r.name === 'shard-b')!;
    expect(Buffer.from(rawCluster.bytes!, 'base64').equals(Buffer.from(served.bytes))).toBe(true);
    expect(decodeMessage('envoy.config.cluster.v3.Cluster', Buffer.from(rawCluster.bytes!, 'base64')).name).toBe('shard-b');

    const badType = await api(app, 'GET', `/v1/snapshots/${v1}?type=XDS`);
    expect(badType.status).toBe(400);
    expect(badType.body).toMatchObject({ code: 'ADMIN_UNKNOWN_TYPE', hint: expect.any(String), message: expect.stringContaining('XDS') });
    const unknown = await api(app, 'GET', '/v1/snapshots/abcdef123456');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'STORE_UNKNOWN_VERSION' });

    // Default diff: the previous stored version to the live one.
    const diff = await api<DiffView>(app, 'GET', '/v1/diff');
    expect(diff.status).toBe(200);
    expect(diff.body.from.version).toBe(v1);
    expect(diff.body.to.version).toBe(v2);
    expect(diff.body.identical).toBe(false);
    const rdsDiff = diff.body.types.find((t) => t.type === 'RDS')!;
    expect(rdsDiff.changed).toHaveLength(1);
    expect(rdsDiff.changed[0]!.changes).toContainEqual({
      path: 'virtual_hosts[name=model-serving].routes[name=objective:Ranking].route.cluster',
      kind: 'changed',
      old: 'shard-a',
      new: 'shard-b',
    });
    expect(diff.body.types.find((t) => t.type === 'CDS')).toMatchObject({ added: [], removed: [], changed: [], unchanged: 2 });
    expect(diff.body.types.find((t) => t.type === 'RESOLVER')!.changed[0]!.changes).toContainEqual({
      path: 'objectives[name=Ranking].default_model',
      kind: 'changed',
      old: 'ranker-v1',
      new: 'ranker-v2',
    });
    const same = await api<DiffView>(app, 'GET', `/v1/diff?from=${v2}&to=live`);
    expect(same.body.identical).toBe(true);
  });

  it('answers unknown endpoints and wrong methods with JSON errors', async () => {
    const { dir } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const app = await start(dir);
    const missing = await api(app, 'GET', '/v2/whatever');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    const wrong = await api(app, 'GET', '/v1/rollback');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(wrong.body).toMatchObject({ code: 'ADMIN_METHOD_NOT_ALLOWED' });
    const form = await api(app, 'POST', '/v1/rollback', { body: 'version=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const noVersion = await api(app, 'POST', '/v1/rollback', { body: {} });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body).toMatchObject({ code: 'ADMIN_BAD_REQUEST' });
    const notJson = await api(app, 'POST', '/v1/rollback', { body: '{version:', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
  });
});

describe('admin API: rule errors and readiness', () => {
  it('reports current rule errors (formatted and structured) and recorded rejections, and counts reloads', async () => {
    const { dir, file } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const app = await start(dir);
    const ok = await api<RuleErrorsView>(app, 'GET', '/v1/rules/errors');
    expect(ok.body).toMatchObject({ ok: true, errors: [], rejections: [] });

    const outcome = await saveAndReload(app, file, rankingRules(PORTS, 'ranker-v9'));
    expect(outcome.status).toBe('rejected');
    const bad = await api<RuleErrorsView>(app, 'GET', '/v1/rules/errors');
    expect(bad.body.ok).toBe(false);
    expect(bad.body.reloads).toMatchObject({ published: 1, rejected: 1 });
    const err = bad.body.errors.find((e) => e.code === 'RULE_UNKNOWN_MODEL')!;
    expect(err).toMatchObject({ stage: 'rules', file: 'ranking.yaml', line: expect.any(Number), hint: expect.any(String) });
    expect(err.formatted).toMatch(/^ranking\.yaml:\d+:\d+ RULE_UNKNOWN_MODEL .*ranker-v9.* Hint: /);
    expect(bad.body.rejections).toHaveLength(1);
    expect(bad.body.rejections[0]).toMatchObject({ liveVersion: app.provider.snapshot!.version, changedFiles: { changed: ['ranking.yaml'] } });
    expect(bad.body.rejections[0]!.errors.map((e) => e.code)).toContain('RULE_UNKNOWN_MODEL');

    // The last good snapshot keeps serving: still ready.
    expect((await api(app, 'GET', '/readyz')).status).toBe(200);
    const metrics = (await api(app, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^switchyard_rules_reloads_total\{status="rejected"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_rules_reloads_total\{status="published"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_rules_errors [1-9]\d*$/m);
    expect(metrics).toMatch(/^switchyard_snapshot_build_seconds_count\{status="rejected"\} 1$/m);
  });

  it('is not ready (503, JSON) until a snapshot is served', async () => {
    const { dir, file } = await rulesDir(rankingRules(PORTS, 'nope'));
    const app = await start(dir);
    expect(app.initial.status).toBe('rejected');
    const notReady = await api(app, 'GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'not ready', code: 'ADMIN_NO_SNAPSHOT', hint: expect.any(String) });
    expect((await api(app, 'GET', '/healthz')).status).toBe(200);
    const status = await cli(app, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Rollout: nothing live yet');

    expect((await saveAndReload(app, file, rankingRules(PORTS, 'ranker-v1'))).status).toBe('published');
    expect((await api(app, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('admin API: rollback and resume', () => {
  it('pins a stored version, holds rule changes, resumes the newest rules, and logs one event per call', async () => {
    const { dir, file } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const { logger, lines } = capturingLogger();
    const config = await testConfig(dir, { quietMs: 30, maxDelayMs: 500, admin: { host: '127.0.0.1', port: 0 } });
    dirs.push(config.snapshotDir);
    const app = await startSwitchyard(config, logger);
    apps.push(app);
    const v1 = app.provider.snapshot!.version;
    await saveAndReload(app, file, rankingRules(PORTS, 'ranker-v2'));
    const v2 = app.provider.snapshot!.version;

    const rolled = await api(app, 'POST', '/v1/rollback', { body: { version: v1.slice(0, 7) } });
    expect(rolled.status).toBe(200);
    expect(rolled.body).toEqual({ from: v2, live: v1, pinned: v1, seq: 1 });
    expect(app.provider.snapshot!.version).toBe(v1);
    expect((await api(app, 'GET', '/readyz')).body).toMatchObject({ live: v1, pinned: v1 });

    // A rule change while pinned is recorded and held.
    const held = await saveAndReload(app, file, rankingRules({ a: 9003, b: 9002 }, 'ranker-v2'));
    expect(held.status).toBe('held');
    const v3 = app.pipeline.state().lastGood!.version;
    const list = await api<SnapshotListView>(app, 'GET', '/v1/snapshots');
    expect(list.body).toMatchObject({ live: v1, pinned: v1, newestFromRules: v3 });
    let metrics = (await api(app, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^switchyard_snapshot_pinned 1$/m);
    expect(metrics).toContain(`switchyard_snapshot_info{live="${v1}",pinned="${v1}"} 1`);

    const resumed = await api(app, 'POST', '/v1/resume', { body: {} });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toEqual({ unpinned: v1, live: v3, newestFromRules: v3 });
    expect(app.provider.snapshot!.version).toBe(v3);

    const unknown = await api(app, 'POST', '/v1/rollback', { body: { version: 'ffffffffffff' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'STORE_UNKNOWN_VERSION' });

    metrics = (await api(app, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^switchyard_admin_operations_total\{operation="rollback",result="ok"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_admin_operations_total\{operation="rollback",result="error"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_admin_operations_total\{operation="resume",result="ok"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_snapshot_pinned 0$/m);

    const rollbacks = lines.filter((l) => l.event === 'admin_rollback');
    expect(rollbacks.map((l) => [l.result, l.to ?? null])).toEqual([
      ['ok', v1],
      ['error', null],
    ]);
    expect(lines.filter((l) => l.event === 'admin_resume')).toHaveLength(1);
  });

  it('requires the bearer token for POST calls when one is set, and refuses an exposed admin API without one', async () => {
    const { dir } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const app = await start(dir, { admin: { host: '127.0.0.1', port: 0, token: 's3cret' } });
    const v = app.provider.snapshot!.version;
    const anonymous = await api(app, 'POST', '/v1/resume', { body: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: 'ADMIN_UNAUTHORIZED' });
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await api(app, 'POST', '/v1/rollback', { body: { version: v }, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await api(app, 'POST', '/v1/rollback', { body: { version: v }, headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    // Reads stay open.
    expect((await api(app, 'GET', '/v1/snapshots')).status).toBe(200);
    // The CLI sends the token from --token or SWITCHYARD_ADMIN_TOKEN.
    const denied = await cli(app, ['resume']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^switchyard: ADMIN_UNAUTHORIZED .* Hint: /);
    const allowed = await cli(app, ['resume'], { SWITCHYARD_ADMIN_TOKEN: 's3cret' });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain(`Unpinned ${v}`);

    const config = await testConfig(dir, { admin: { host: '0.0.0.0', port: 0 } });
    dirs.push(config.snapshotDir);
    await expect(startSwitchyard(config, pino({ level: 'silent' }))).rejects.toMatchObject({ code: 'ADMIN_INSECURE_BIND' });
  });
});

describe('admin API: proxies, NACKs and metrics', () => {
  it('shows a NACK with its message in /v1/proxies, `switchyard status` and /metrics', async () => {
    const { dir } = await rulesDir(rankingRules(PORTS, 'ranker-v1'));
    const app = await start(dir);
    const live = app.provider.snapshot!.version;
    const address = `127.0.0.1:${app.adsPort}`;

    // One client ACKs its clusters; another rejects them.
    const acker = new SotwClient(address, { id: 'acker', cluster: 'edge' });
    const nacker = new SotwClient(address, { id: 'nacker', cluster: 'edge' });
    clients.push(acker, nacker);
    const acked = waitForEvent(onAds(app.ads, 'ack'), (e) => e.stream.node?.id === 'acker' && e.typeUrl === TypeUrl.Cluster, { timeoutMs: 10_000 });
    acker.request(TypeUrl.Cluster, []);
    const forAcker = await acker.next(TypeUrl.Cluster);
    acker.ack(forAcker, []);
    await acked;

    const message = 'cluster shard-a: outlier_detection.consecutive_5xx: value must be greater than 0';
    const nacked = waitForEvent(onAds(app.ads, 'nack'), (e) => e.stream.node?.id === 'nacker', { timeoutMs: 10_000 });
    nacker.request(TypeUrl.Cluster, []);
    const forNacker = await nacker.next(TypeUrl.Cluster);
    nacker.nack(forNacker, [], '', message);
    await nacked;

    const proxies = await api<ProxiesView>(app, 'GET', '/v1/proxies');
    expect(proxies.body.live).toBe(live);
    expect(proxies.body.proxies.map((p) => p.nodeId)).toEqual(['acker', 'nacker']);
    const [a, n] = proxies.body.proxies;
    expect(a!.types.find((t) => t.type === 'CDS')).toMatchObject({ status: 'SYNCED', ackedSnapshot: live });
    expect(a!.types.find((t) => t.type === 'RDS')!.status).toBe('NOT SUBSCRIBED');
    expect(a!.converged).toBe(true);
    expect(a).toMatchObject({ cluster: 'edge', client: 'other', protocol: 'sotw', userAgent: 'switchyard-test' });
    expect(n!.types.find((t) => t.type === 'CDS')).toMatchObject({ status: 'NACKED', lastNack: { message, version: forNacker.version_info } });
    expect(n!.converged).toBe(false);
    expect(proxies.body.summary).toEqual({ total: 2, converged: 1, waitingForWave: 0, nacked: 1 });

    const status = await cli(app, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^nacker\s+edge\s+other\/sotw\s+NACKED\s+-\s+-\s+-/m);
    expect(status.stdout).toContain(`nacker CDS rejected version ${forNacker.version_info}`);
    expect(status.stdout).toContain(message);

    const metrics = (await api(app, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^switchyard_xds_nacks_total\{type="CDS"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_xds_acks_total\{type="CDS"\} 1$/m);
    expect(metrics).toContain(`switchyard_last_nack_info{node="nacker",type="CDS",message="${message}"} 1`);
    expect(metrics).toMatch(/^switchyard_xds_responses_sent_total\{type="CDS"\} 2$/m);
    expect(metrics).toMatch(/^switchyard_xds_convergence_seconds_count\{type="CDS"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_xds_streams\{client="other",protocol="sotw"\} 2$/m);
    expect(metrics).toMatch(/^switchyard_snapshot_bytes [1-9]\d*$/m);
    expect(metrics).toMatch(/^switchyard_snapshot_resources\{type="RDS"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_snapshot_build_seconds_count\{status="published"\} 1$/m);
    expect(metrics).toMatch(/^process_cpu_seconds_total /m);

    // Waiting for convergence with the NACKing proxy connected times out with met: false.
    const waited = await api<ProxiesView>(app, 'GET', '/v1/proxies?wait=synced&timeoutMs=50');
    expect(waited.body.wait).toMatchObject({ met: false });
    const cliWait = await cli(app, ['status', '--wait', '--timeout', '50ms']);
    expect(cliWait.code).toBe(1);
    expect(cliWait.stderr).toMatch(/^switchyard: CLI_NOT_CONVERGED .*nacker \(CDS NACKED\)/);
  });
});
