// The CLI in-process (runCli with captured output) against an in-process Switchyard: JSON output,
// `snapshots show`, plan edge cases (invalid rules, nothing live, a live version without a resolver
// table), error lines and exit codes, and the serve configuration precedence.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { ProxiesView, SnapshotDetailView, SnapshotListView } from '../../src/admin/types.js';
import type { PlanView } from '../../src/cli/plan.js';
import { serveConfig } from '../../src/cli/serve.js';
import { compile } from '../../src/compile/compile.js';
import { loadRuleDir } from '../../src/rules/load.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { SnapshotStore } from '../../src/snapshot/store.js';
import { PLAN_LIVE_RULES, PLAN_LOCAL_RULES, cli, rankingRules, removeDirs, startWithAdmin, tempDir } from '../admin/fixtures.js';
import { freePort } from './process.js';

let app: RunningSwitchyard | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await app?.stop();
  app = undefined;
  await removeDirs(dirs);
});

async function dirWith(text: string): Promise<string> {
  const dir = await tempDir('cli-rules');
  dirs.push(dir);
  await writeFile(path.join(dir, 'rules.yaml'), text);
  return dir;
}

async function start(rulesText: string, snapshotDir?: string): Promise<RunningSwitchyard> {
  app = await startWithAdmin(await dirWith(rulesText), snapshotDir ? { snapshotDir } : {});
  dirs.push(app.controlPlane.store.dir);
  return app;
}

describe('switchyard CLI', () => {
  it('prints JSON for scripts and shows a version by prefix, one type at a time', async () => {
    const a = await start(PLAN_LIVE_RULES);
    const v = a.provider.snapshot!.version;

    const ls = await cli(a, ['snapshots', 'ls', '--json']);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as SnapshotListView).snapshots.map((s) => s.version)).toEqual([v]);

    const st = await cli(a, ['status', '--json']);
    expect(JSON.parse(st.stdout) as ProxiesView).toMatchObject({ live: v, pinned: null, proxies: [], summary: { total: 0 } });

    const show = await cli(a, ['snapshots', 'show', v.slice(0, 10), '--type', 'CDS']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^Snapshot ${v} \\(seq 1, created \\S+Z, source rules, live\\)$`, 'm'));
    expect(show.stdout).toMatch(/^--- CDS shard-a \(version [0-9a-f]{16}, \d+ B\)$/m);
    expect(show.stdout).not.toContain('--- RDS');
    expect(show.stdout).toContain('"name": "shard-a"');

    const json = JSON.parse((await cli(a, ['snapshots', 'show', 'live', '--type', 'RESOLVER', '--json'])).stdout) as SnapshotDetailView;
    expect(json.types.map((t) => t.type)).toEqual(['RESOLVER']);

    const unknown = await cli(a, ['snapshots', 'diff', 'ffffff0000', v]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^switchyard: STORE_UNKNOWN_VERSION no valid stored snapshot has version ffffff0000 Hint: .+\n$/);
  });

  it('plans against a live version, refuses invalid local rules, and plans from nothing', async () => {
    const local = await dirWith(PLAN_LOCAL_RULES);
    const invalid = await dirWith(rankingRules({ a: 1, b: 2 }, 'missing-model'));

    // Nothing live: the server's own rules are invalid.
    const a = await start(rankingRules({ a: 1, b: 2 }, 'nope'));
    const fromNothing = JSON.parse((await cli(a, ['plan', local, '--json'])).stdout) as PlanView;
    expect(fromNothing.live.version).toBeNull();
    expect(fromNothing.identical).toBe(false);
    expect(fromNothing.types.find((t) => t.type === 'CDS')!.added).toEqual(['shard-a', 'shard-b', 'shard-c']);
    expect(fromNothing.notes.join(' ')).toContain('Nothing is live yet');
    expect(fromNothing.traffic.objectives.every((o) => o.status === 'added')).toBe(true);

    const bad = await cli(a, ['plan', invalid]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/rules\.yaml:\d+:\d+ RULE_UNKNOWN_MODEL /);
    expect(bad.stderr).toMatch(/^switchyard: CLI_RULES_INVALID 1 error in .* Hint: /m);
  });

  it('plans with the server\'s traffic shift state: rules unchanged since an abort plan to the live version', async () => {
    const a = await start(PLAN_LIVE_RULES);
    const aborted = await cli(a, ['shift', 'abort', 'ranker-v2-rollout', '--json']);
    expect(aborted.code).toBe(0);
    const live = JSON.parse((await cli(a, ['snapshots', 'ls', '--json'])).stdout) as SnapshotListView;
    const plan = JSON.parse((await cli(a, ['plan', await dirWith(PLAN_LIVE_RULES), '--json'])).stdout) as PlanView;
    expect(plan.live.version).toBe(live.live);
    expect(plan.local.version).toBe(live.live);
    expect(plan.identical).toBe(true);
    expect(plan.traffic.changed).toBe(0);
    expect(plan.notes.join(' ')).toContain('Traffic shift ranker-v2-rollout is aborted on the server');
    // An edited shift restarts: planned at its first step, and said so.
    const edited = JSON.parse((await cli(a, ['plan', await dirWith(PLAN_LOCAL_RULES), '--json'])).stdout) as PlanView;
    expect(edited.notes.join(' ')).toContain('Traffic shift ranker-v2-rollout is edited: the server restarts it at step 1 of 2 (25 %).');
  });

  it('reads live traffic shares from the fallback routes when the live version carries no resolver table', async () => {
    // A version stored by an older Switchyard (no resolver table type), restored at start; the
    // server's rules do not compile, so it never learns that version's table.
    const snapshotDir = await tempDir('cli-old-store');
    const loaded = await loadRuleDir(await dirWith(PLAN_LIVE_RULES));
    if (!loaded.ok) throw new Error('fixture rules must load');
    const old = createSnapshot(compile(loaded.ruleSet).resources);
    const store = await SnapshotStore.open({ dir: snapshotDir });
    await store.save(old, { source: 'rules' });
    await store.setLive(old.version);

    const a = await start(rankingRules({ a: 1, b: 2 }, 'nope'), snapshotDir);
    expect(a.provider.snapshot!.version).toBe(old.version);
    const plan = await cli(a, ['plan', await dirWith(PLAN_LIVE_RULES)]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Note: The server has no resolver table for the live version: live shares are read from its fallback routes');
    expect(plan.stdout).toContain('live from routes');
    // Routes show Ranking's default model at 100 %; the rules shift 10 % to ranker-v2.
    expect(plan.stdout).toMatch(/^ {2}Ranking\s+ranker-v1\s+100%\s+90%\s+-10 pp$/m);
    expect(plan.stdout).toMatch(/^\s+ranker-v2\s+0%\s+10%\s+\+10 pp$/m);
    expect(plan.stdout).toMatch(/^ {2}RESOLVER \+1 -0 ~0 =0$/m);
  });

  it('explains a bad admin address and an unreachable server with exit code 2', async () => {
    const bad = await cli(undefined, ['snapshots', 'ls', '--admin', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('switchyard: CLI_BAD_ADDRESS "nowhere" is not host:port Hint: give --admin 127.0.0.1:19000 (or SWITCHYARD_ADMIN=host:port)\n');
    const port = await freePort();
    const down = await cli(undefined, ['rollback', 'abcdef12', '--admin', `127.0.0.1:${port}`]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`CLI_UNREACHABLE cannot reach the admin API at 127.0.0.1:${port} (ECONNREFUSED).`);
    const usage = await cli(undefined, ['rollback']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("missing required argument 'version'");
  });

  it('builds the serve configuration: flags over environment over defaults, admin on unless --no-admin', () => {
    const env = { SWITCHYARD_ADMIN_HOST: '127.0.0.2', SWITCHYARD_ADMIN_PORT: '19100', SWITCHYARD_ADMIN_TOKEN: 'from-env', SWITCHYARD_RULES: '/r' };
    expect(serveConfig({}, {}).admin).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(serveConfig({}, env).admin).toEqual({ host: '127.0.0.2', port: 19100, token: 'from-env' });
    expect(serveConfig({ admin: { port: 0, host: undefined } }, env).admin).toEqual({ host: '127.0.0.2', port: 0, token: 'from-env' });
    expect(serveConfig({ admin: false }, env).admin).toBeUndefined();
    expect(serveConfig({ rulesDir: undefined }, env).rulesDir).toBe('/r');
    // The plaintext loopback ADS listener: off unless asked for; the flag wins over the environment.
    expect(serveConfig({}, {}).adsPlaintextLoopbackPort).toBeUndefined();
    expect(serveConfig({}, { SWITCHYARD_ADS_PLAINTEXT_PORT: '18001' }).adsPlaintextLoopbackPort).toBe(18001);
    expect(serveConfig({ adsPlaintextLoopbackPort: 0 }, { SWITCHYARD_ADS_PLAINTEXT_PORT: '18001' }).adsPlaintextLoopbackPort).toBe(0);
  });
});
