// Process-level: the real `switchyard serve` (spawned, see process.ts for why through tsx) with a
// temp rules dir and a temp snapshot dir, a real @grpc/grpc-js-xds client and real backends in the
// test process, and the real CLI binary for `snapshots ls`, `rollback`, `status` and `resume`.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProxiesView, TypeSyncView } from '../../src/admin/types.js';
import { EchoBackends } from '../helpers/grpc-backends.js';
import { ProxylessClient } from '../helpers/xds-client.js';
import { SotwClient } from '../helpers/ads-client.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { rankingRules, removeDirs, saveAtomically, tempDir } from '../admin/fixtures.js';
import { ServerProcess, freePort, runCliProcess, type LogEvent } from './process.js';

const NODE = 'process-client';
let servers: ServerProcess[] = [];
let backends: EchoBackends | undefined;
let client: ProxylessClient | undefined;
const dirs: string[] = [];

afterEach(async () => {
  client?.close();
  client = undefined;
  await Promise.all(servers.map((s) => s.kill('SIGKILL')));
  servers = [];
  await backends?.stop();
  backends = undefined;
  await removeDirs(dirs);
});

interface Setup {
  rulesDir: string;
  rulesFile: string;
  snapshotDir: string;
  adsPort: number;
  adminPort: number;
  admin: string;
}

async function setup(defaultModel: string): Promise<Setup> {
  backends = await EchoBackends.start(['model-v1', 'model-v2']);
  const rulesDir = await tempDir('proc-rules');
  const snapshotDir = await tempDir('proc-snapshots');
  dirs.push(rulesDir, snapshotDir);
  const rulesFile = path.join(rulesDir, 'ranking.yaml');
  await writeFile(rulesFile, rankingRules(ports(), defaultModel));
  const adsPort = await freePort();
  const adminPort = await freePort();
  return { rulesDir, rulesFile, snapshotDir, adsPort, adminPort, admin: `127.0.0.1:${adminPort}` };
}

function ports(): { a: number; b: number } {
  return { a: backends!.port('model-v1'), b: backends!.port('model-v2') };
}

async function serve(s: Setup): Promise<{ server: ServerProcess; ready: LogEvent }> {
  const server = ServerProcess.start(
    ['--rules', s.rulesDir, '--snapshots', s.snapshotDir, '--ads-port', String(s.adsPort), '--admin-port', String(s.adminPort), '--log-level', 'info'],
    { SWITCHYARD_WATCH_QUIET_MS: '50', SWITCHYARD_WATCH_MAX_DELAY_MS: '500' },
  );
  servers.push(server);
  const ready = await server.waitForEvent('ready', { timeoutMs: 30_000 });
  return { server, ready };
}

async function adminGet<T>(s: Setup, urlPath: string): Promise<T> {
  const res = await fetch(`http://${s.admin}${urlPath}`);
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`GET ${urlPath}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every proxy converged on `version` (event-driven on the server: GET /v1/proxies?wait=synced). */
async function synced(s: Setup, version: string): Promise<ProxiesView> {
  const v = await adminGet<ProxiesView>(s, `/v1/proxies?wait=synced&version=${version}&timeoutMs=20000`);
  if (!v.wait?.met) throw new Error(`proxies did not converge on ${version}: ${JSON.stringify(v.proxies.map((p) => ({ node: p.nodeId, types: p.types.map((t) => `${t.type}:${t.status}`) })))}`);
  return v;
}

async function backendOf(c: ProxylessClient): Promise<string> {
  return (await c.callWithHeaders({ 'x-objective': 'Ranking' })).backend;
}

function typesOf(v: ProxiesView): Record<string, Pick<TypeSyncView, 'ackedVersion' | 'ackedSnapshot' | 'lastSentVersion' | 'status'>> {
  const p = v.proxies.find((x) => x.nodeId === NODE)!;
  return Object.fromEntries(p.types.map((t) => [t.type, { ackedVersion: t.ackedVersion, ackedSnapshot: t.ackedSnapshot, lastSentVersion: t.lastSentVersion, status: t.status }]));
}

describe('switchyard serve as a process', () => {
  it('survives SIGKILL without re-pushing, keeps its history, rolls back and resumes end to end through the CLI, and shows NACKs', async () => {
    const s = await setup('ranker-v1');
    let { server, ready } = await serve(s);
    const v1 = String(ready.version);
    expect(ready.admin).toBe(s.admin);

    client = new ProxylessClient({ adsPort: s.adsPort, nodeId: NODE });
    expect(await backendOf(client)).toBe('model-v1');
    await synced(s, v1);

    // Publish a second version by editing the rules: traffic moves to ranker-v2.
    const mark = server.mark();
    await saveAtomically(s.rulesFile, rankingRules(ports(), 'ranker-v2'));
    const published = await server.waitForEvent('snapshot_published', { from: mark });
    const v2 = String(published.version);
    expect(v2).not.toBe(v1);
    await synced(s, v2);
    expect(await backendOf(client)).toBe('model-v2');
    const before = typesOf(await adminGet<ProxiesView>(s, '/v1/proxies'));
    for (const t of ['CDS', 'EDS', 'LDS', 'RDS']) expect(before[t]).toMatchObject({ status: 'SYNCED', ackedSnapshot: v2 });

    // Crash: the client keeps calling on its cached configuration.
    expect((await server.kill('SIGKILL')).signal).toBe('SIGKILL');
    expect(await backendOf(client)).toBe('model-v2');

    // Restart on the same ports: the stored live version is served before the rules are read.
    ({ server, ready } = await serve(s));
    expect(ready.version).toBe(v2);
    expect(await server.waitForEvent('snapshot_restored')).toMatchObject({ version: v2, reason: 'live' });
    expect(await server.waitForEvent('rules_unchanged')).toMatchObject({ version: v2 });
    await synced(s, v2);
    const after = typesOf(await adminGet<ProxiesView>(s, '/v1/proxies'));
    for (const t of ['CDS', 'EDS', 'LDS', 'RDS']) {
      // Same accepted versions as before the crash, and nothing with other content was sent.
      expect(after[t]!.ackedVersion, t).toBe(before[t]!.ackedVersion);
      expect(after[t]!.lastSentVersion, t).toBe(before[t]!.ackedVersion);
      expect(after[t]!.ackedSnapshot, t).toBe(v2);
    }
    expect(await backendOf(client)).toBe('model-v2');

    // The history survived the crash.
    const ls = await runCliProcess(['snapshots', 'ls', '--admin', s.admin]);
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^2\\s+${v2}\\s.*\\slive\\s`, 'm'));
    expect(ls.stdout).toMatch(new RegExp(`^1\\s+${v1}\\s.*\\s-\\s`, 'm'));

    // Roll back: the client's calls go back to ranker-v1's backend; every proxy SYNCED on the pin.
    const rolled = await runCliProcess(['rollback', v1.slice(0, 8), '--admin', s.admin]);
    expect(rolled.stderr).toBe('');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toContain(`Rolled back to ${v1} (seq 1) and pinned; was ${v2}.`);
    const status = await runCliProcess(['status', '--wait', '--live', v1, '--admin', s.admin]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${NODE}\\s+switchyard-e2e\\s+grpc/sotw\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+${v1}$`, 'm'));
    expect(status.stdout).toContain(`Rollout: live ${v1} (seq 1, created `);
    expect(status.stdout).toContain(`pinned to ${v1}; rules at ${v2} held until \`switchyard resume\``);
    expect(status.stdout).toContain('1 proxy, 1 converged on the live version, 0 with NACKs');
    for (let i = 0; i < 3; i++) expect(await backendOf(client)).toBe('model-v1');
    expect(await server.waitForEvent('admin_rollback')).toMatchObject({ result: 'ok', from: v2, to: v1 });

    // Resume: the newest rules publish again.
    const resumed = await runCliProcess(['resume', '--wait', '--admin', s.admin]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`Unpinned ${v1}; publishing from the rules again.`);
    expect(resumed.stdout).toContain(`Live: ${v2} (the newest rules).`);
    expect(resumed.stdout).toMatch(/1 proxy converged on [0-9a-f]{16} in \d+ ms\./);
    for (let i = 0; i < 3; i++) expect(await backendOf(client)).toBe('model-v2');
    expect(await server.waitForEvent('admin_resume')).toMatchObject({ result: 'ok', unpinned: v1, live: v2 });

    // A client that rejects a response: its NACK and message show in `status` and in /metrics.
    const nacker = new SotwClient(`127.0.0.1:${s.adsPort}`, { id: 'nacking-proxy', cluster: 'canary' });
    try {
      nacker.request(TypeUrl.RouteConfiguration, ['model-serving']);
      const rds = await nacker.next(TypeUrl.RouteConfiguration);
      const mark = server.mark();
      nacker.nack(rds, ['model-serving'], '', 'route model-serving: unsupported retry_on value');
      expect(await server.waitForEvent('nack', { from: mark })).toMatchObject({ node: 'nacking-proxy', error: 'route model-serving: unsupported retry_on value' });
      const st = await runCliProcess(['status', '--admin', s.admin]);
      expect(st.code).toBe(0);
      expect(st.stdout).toMatch(/^nacking-proxy\s+canary\s+other\/sotw\s+-\s+-\s+-\s+NACKED\s+-$/m);
      expect(st.stdout).toContain(`nacking-proxy RDS rejected version ${rds.version_info} at `);
      expect(st.stdout).toContain(': route model-serving: unsupported retry_on value');
      const metrics = await (await fetch(`http://${s.admin}/metrics`)).text();
      expect(metrics).toMatch(/^switchyard_xds_nacks_total\{type="RDS"\} 1$/m);
      expect(metrics).toContain('switchyard_last_nack_info{node="nacking-proxy",type="RDS",message="route model-serving: unsupported retry_on value"} 1');
    } finally {
      nacker.close();
    }
  }, 120_000);

  it('refuses an admin API on a non-loopback address without a token', async () => {
    const s = await setup('ranker-v1');
    const server = ServerProcess.start(['--rules', s.rulesDir, '--snapshots', s.snapshotDir, '--ads-port', String(s.adsPort), '--admin-host', '0.0.0.0', '--admin-port', String(s.adminPort)]);
    servers.push(server);
    expect((await server.exit()).code).toBe(1);
    expect(server.stderr).toMatch(/^switchyard: ADMIN_INSECURE_BIND .*0\.0\.0\.0.* Hint: set SWITCHYARD_ADMIN_TOKEN/m);
  }, 60_000);

  it('exits 2 with one line naming the address when no server answers', async () => {
    const port = await freePort();
    const r = await runCliProcess(['status'], { SWITCHYARD_ADMIN: `127.0.0.1:${port}` });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`switchyard: CLI_UNREACHABLE cannot reach the admin API at 127.0.0.1:${port} (ECONNREFUSED). Hint: start the server (switchyard serve) or point at it with --admin <host:port> or SWITCHYARD_ADMIN\n`);
  }, 60_000);
});
