// The rollout layer inside the whole application (startSwitchyard): a rule edit is rolled out in
// waves to real ADS streams, the admin API and the CLI show and drive it, a traffic shift can be
// aborted by name, and a NACK puts the stored live version back on the last good one.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { RolloutLayerState } from '../../src/rollout/layer.js';
import { runCli } from '../../src/cli/program.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { nextReload, startTestSwitchyard, testConfig } from '../helpers/app.js';
import { startSwitchyard } from '../../src/app/switchyard.js';
import { silentLogger } from '../../src/log.js';
import { FleetClient, nodesHold, routeClustersOf, Sequence, serverCondition } from './fleet.js';

let app: RunningSwitchyard | undefined;
let clients: FleetClient[] = [];
let dir: string | undefined;

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await app?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  app = dir = undefined;
  clients = [];
});

function rules(defaultModel: string): string {
  return `kind: Shard
name: shard-a
endpoints: [{ address: 127.0.0.1, port: 20001, zone: local }]
---
kind: Shard
name: shard-b
endpoints: [{ address: 127.0.0.1, port: 20002, zone: local }]
---
kind: Model
name: ranker-v1
shard: shard-a
version: "1"
---
kind: Model
name: ranker-v2
shard: shard-b
version: "2"
---
kind: Objective
name: Ranking
defaultModel: ${defaultModel}
---
kind: TrafficShift
name: move
objective: Ranking
to: ranker-v2
steps: [{ percent: 10, hold: 3600 }, { percent: 100, hold: 0 }]
---
kind: RolloutPolicy
name: fleet
canary: { clusters: [canary] }
waves: [{ percent: 100 }]
`;
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--admin', app!.admin!.address], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} });
  return { code, out, err };
}

describe('rollout in the application', () => {
  it('rolls a rule edit out in waves, halts on a canary NACK, and is driven through the admin API and the CLI', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-rollout-app-'));
    const file = path.join(dir, 'rules.yaml');
    await writeFile(file, rules('ranker-v1'));
    app = await startTestSwitchyard(dir, { quietMs: 30, maxDelayMs: 500, admin: { host: '127.0.0.1', port: 0 } });
    const seq = new Sequence();
    const address = `127.0.0.1:${app.adsPort}`;
    // The canary refuses routes whose objective fallback goes to shard-b (the edit below).
    const canary = new FleetClient(address, { id: 'canary-0', cluster: 'canary' }, seq, (r) =>
      r.type_url === TypeUrl.RouteConfiguration && routeClustersOf(r).length === 1 && routeClustersOf(r)[0] === 'shard-b' ? 'refused by the test' : undefined,
    );
    const other = new FleetClient(address, { id: 'proxy-00', cluster: 'edge' }, seq);
    clients.push(canary, other);
    const v1 = app.provider.lastGood!;
    await serverCondition(app.ads, () => nodesHold(app!.ads, ['canary-0', 'proxy-00'], v1), 'fleet on v1');

    // The status through the CLI: the rule set's policy, the shift at step 1 of 2.
    const status = await cli(['rollout', 'status']);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/policy fleet \(rules\)/);
    expect(status.out).toMatch(/move\s+running\s+step 1\/2\s+10% on ranker-v2 \(Ranking\)/);

    // A shift abort: published at once (no waves), everyone on ranker-v1.
    const aborted = await cli(['shift', 'abort', 'move', '--json']);
    expect(aborted.code).toBe(0);
    expect(JSON.parse(aborted.out)).toMatchObject({ name: 'move', state: 'aborted', percent: 0 });
    const afterAbort = app.provider.lastGood!;
    expect(afterAbort.version).not.toBe(v1.version);
    await serverCondition(app.ads, () => nodesHold(app!.ads, ['canary-0', 'proxy-00'], afterAbort), 'fleet on the aborted shift');

    // A rule edit the canary refuses: halted; the other proxy never sees it; the live version stays.
    const reloaded = nextReload(app);
    await writeFile(`${file}.tmp`, rules('ranker-v2'));
    await rename(`${file}.tmp`, file);
    expect((await reloaded).status).toBe('published');
    const state = await fetch(`http://${app.admin!.address}/v1/rollout`).then((r) => r.json() as Promise<RolloutLayerState>);
    expect(['rolling', 'halted']).toContain(state.rollout.status);
    await serverCondition(app.ads, () => app!.provider.state().status === 'halted', 'halted');
    await serverCondition(app.ads, () => nodesHold(app!.ads, ['canary-0', 'proxy-00'], afterAbort), 'fleet back on the last good version');
    expect(other.received.some((r) => r.typeUrl === TypeUrl.RouteConfiguration && routeClustersOf(r.response).join() === 'shard-b')).toBe(false);
    const halted = await cli(['rollout', 'status']);
    expect(halted.out).toMatch(/halted: node canary-0 \(wave 0\) NACKed RDS .*: refused by the test/);
    // The halt put the stored live version back (a restart would not restore the refused version).
    await app.controlPlane.idle();
    expect(await app.controlPlane.store.liveVersion()).toBe(afterAbort.version);
    expect(app.controlPlane.liveSnapshot?.version).toBe(afterAbort.version);

    // Operators: force sends it to everyone; abort without a rollout is refused with its code.
    const forced = await cli(['rollout', 'force', '--json']);
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.out) as RolloutLayerState).rollout.status).toBe('forced');
    const noRollout = await cli(['rollout', 'abort']);
    expect(noRollout.code).toBe(1);
    expect(noRollout.err).toMatch(/^switchyard: ROLLOUT_NOT_ACTIVE /);
    const unknown = await cli(['shift', 'pause', 'nope']);
    expect(unknown.err).toMatch(/^switchyard: ROLLOUT_UNKNOWN_SHIFT /);
  });

  it('a restart mid-rollout restores the last good version and rolls the target out again from the canary', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-rollout-restart-'));
    const file = path.join(dir, 'rules.yaml');
    // The canary bakes for an hour: the rollout is still in its canary wave when the server stops.
    const baking = (model: string): string => rules(model).replace('canary: { clusters: [canary] }', 'canary: { clusters: [canary], bake: 3600 }');
    await writeFile(file, baking('ranker-v1'));
    const config = await testConfig(dir, { quietMs: 30, maxDelayMs: 500 });
    app = await startSwitchyard(config, silentLogger());
    const lastGood = app.provider.lastGood!;
    const seq = new Sequence();
    const address = (): string => `127.0.0.1:${app!.adsPort}`;
    const connect = (): FleetClient[] => (clients = [new FleetClient(address(), { id: 'canary-0', cluster: 'canary' }, seq), new FleetClient(address(), { id: 'proxy-00', cluster: 'edge' }, seq)]);
    connect();
    await serverCondition(app.ads, () => nodesHold(app!.ads, ['canary-0', 'proxy-00'], lastGood), 'fleet on the first version');

    const reloaded = nextReload(app);
    await writeFile(`${file}.tmp`, baking('ranker-v2'));
    await rename(`${file}.tmp`, file);
    expect((await reloaded).status).toBe('published');
    const target = app.provider.snapshot!;
    await serverCondition(app.ads, () => app!.provider.state().waves[0]?.status === 'baking', 'canary baking');
    // Served to the canary, but the fleet has not taken it: the stored live version stays.
    await app.controlPlane.idle();
    expect(await app.controlPlane.store.liveVersion()).toBe(lastGood.version);

    await Promise.all(clients.map((c) => c.close()));
    await app.stop();
    app = await startSwitchyard({ ...config, adsPort: 0 }, silentLogger());
    // Restored for everyone: the last good version; the rules compile to the target again, which
    // starts a new rollout from the canary instead of reaching the whole fleet at once.
    expect(app.provider.lastGood!.version).toBe(lastGood.version);
    expect(app.provider.state()).toMatchObject({ status: 'rolling', targetVersion: target.version, currentWave: 0 });
    connect();
    await serverCondition(app.ads, () => nodesHold(app!.ads, ['canary-0'], target) && nodesHold(app!.ads, ['proxy-00'], lastGood), 'canary on the target, the rest on the last good version');
  });
});
