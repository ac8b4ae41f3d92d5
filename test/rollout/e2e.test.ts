// End to end with a real @grpc/grpc-js-xds client: a traffic shift with short holds moves users to
// the new model step by step (each step recompiled and rolled out), a restart mid-shift resumes the
// same step, an abort puts every user back at once; and routes to a new model appear only once its
// endpoints report SERVING on the standard gRPC health protocol.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileResolver } from '../../src/resolver/resolve.js';
import type { ResolverTable } from '../../src/compile/types.js';
import type { ShiftScheduler } from '../../src/rollout/shifts.js';
import { ProxylessClient } from '../helpers/xds-client.js';
import { converged } from '../e2e/harness.js';
import { Composition, type Published } from './compose.js';
import { ModelBackend } from './model-backends.js';

const SHIFT = 'ranker-v2-rollout';
const USERS = Array.from({ length: 200 }, (_, i) => `user-${i}`);

let app: Composition | undefined;
let client: ProxylessClient | undefined;
let backends: ModelBackend[] = [];
let dirs: string[] = [];

afterEach(async () => {
  client?.close();
  await app?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  app = client = undefined;
  backends = [];
  dirs = [];
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function startBackends(): Promise<{ old: ModelBackend; fresh: ModelBackend }> {
  const old = await ModelBackend.start('old', { 'ranker-v1': 'SERVING' });
  const fresh = await ModelBackend.start('new');
  backends.push(old, fresh);
  return { old, fresh };
}

function rulesText(b: { old: ModelBackend; fresh: ModelBackend }, opts: { defaultModel?: string; shift?: string } = {}): string {
  return `kind: Shard
name: shard-old
endpoints: [{ address: 127.0.0.1, port: ${b.old.port}, zone: local }]
---
kind: Shard
name: shard-new
endpoints: [{ address: 127.0.0.1, port: ${b.fresh.port}, zone: local }]
---
kind: Model
name: ranker-v1
shard: shard-old
version: "1.0.0"
---
kind: Model
name: ranker-v2
shard: shard-new
version: "2.0.0"
---
kind: Objective
name: Ranking
defaultModel: ${opts.defaultModel ?? 'ranker-v1'}
timeoutMs: 2000
retries: 0
${opts.shift ?? ''}`;
}

/** Calls the channel for every user with the routing key the resolver gives it; returns the share on the new backend. */
async function measure(c: ProxylessClient, table: ResolverTable): Promise<{ share: number; expectedShare: number }> {
  const resolver = compileResolver(table, 'measure');
  let toNew = 0;
  let expected = 0;
  for (let i = 0; i < USERS.length; i += 25) {
    const batch = USERS.slice(i, i + 25);
    const replies = await Promise.all(
      batch.map(async (userId) => {
        const decision = resolver.resolve({ objective: 'Ranking', userId });
        const reply = await c.call(decision.routingKey);
        return { model: decision.objectiveConfig.model, backend: reply.backend };
      }),
    );
    for (const r of replies) {
      // The proxy routes the routing key to the model's shard: the decision and the backend agree.
      expect(r.backend).toBe(r.model === 'ranker-v2' ? 'new' : 'old');
      if (r.backend === 'new') toNew++;
      if (r.model === 'ranker-v2') expected++;
    }
  }
  return { share: (100 * toNew) / USERS.length, expectedShare: (100 * expected) / USERS.length };
}

describe('traffic shift end to end (grpc-js-xds)', () => {
  it('follows the steps, resumes the same step after a restart, and an abort puts everyone back at once', async () => {
    const b = await startBackends();
    b.fresh.health.set('ranker-v2', 'SERVING');
    const rulesDir = await tempDir('switchyard-shift-rules-');
    const snapshotDir = await tempDir('switchyard-shift-state-');
    await writeFile(
      path.join(rulesDir, 'ranking.yaml'),
      rulesText(b, {
        shift: `---
kind: TrafficShift
name: ${SHIFT}
objective: Ranking
to: ranker-v2
steps:
  - { percent: 10, hold: 0.3 }
  - { percent: 40, hold: 0.3 }
  - { percent: 70, hold: 60 }
  - { percent: 100, hold: 0 }
`,
      }),
    );

    const measured: Array<{ step: number; percent: number; share: number; version: string; urgent: boolean }> = [];
    let onStep2: () => void = () => undefined;
    const step2 = new Promise<void>((resolve) => (onStep2 = resolve));
    const nodeId = 'shift-client';
    // After each publish: wait until the client holds the new snapshot (it went through the
    // rollout's waves), then measure. A shift advance waits for this before the next step is due.
    const afterPublish = async (p: Published): Promise<void> => {
      if (!client || !app) return;
      await converged(app.server, nodeId, p.snapshot, ['shard-new', 'shard-old']);
      const shift = p.table.objectives.Ranking!.shift!;
      const m = await measure(client, p.table);
      measured.push({ step: shift.stepIndex, percent: shift.percent, share: m.share, version: p.snapshot.version, urgent: p.urgent });
      if (shift.stepIndex === 2) onStep2();
    };
    app = await Composition.start({ rulesDir, snapshotDir, shifts: true, afterPublish });
    client = new ProxylessClient({ adsPort: app.port, nodeId });
    // A grpc-js-xds channel starts xDS with its first call, which waits for the configuration.
    expect((await client.callWithHeaders({ 'x-objective': 'Ranking' })).backend).toBe('old');
    await afterPublish(app.last!); // step 0 (the startup publish ran before the client existed)

    app.scheduler!.start();
    await step2;
    expect(measured.map((m) => [m.step, m.percent])).toEqual([
      [0, 10],
      [1, 40],
      [2, 70],
    ]);
    for (const m of measured) expect(Math.abs(m.share - m.percent), `step ${m.step}: ${m.share}% of users on the new model`).toBeLessThanOrEqual(8);
    expect(measured[0]!.share).toBeLessThan(measured[1]!.share);
    expect(measured[1]!.share).toBeLessThan(measured[2]!.share);
    // Each step went through a rollout (waves), not an urgent publish.
    expect(measured.every((m) => !m.urgent)).toBe(true);
    expect(app.provider.state()).toMatchObject({ status: 'completed', lastGoodVersion: measured[2]!.version });

    // Restart mid-shift: a new scheduler on the same progress file resumes step 2 with the same hold.
    const before = app.scheduler!.state().shifts[0]!;
    app.scheduler!.stop();
    const restarted: ShiftScheduler = await app.openScheduler();
    app.scheduler = restarted;
    const republished = await app.reload('restart');
    expect(restarted.state().shifts[0]).toEqual(before);
    expect(republished.snapshot.version).toBe(measured[2]!.version);
    restarted.start();

    // Abort: every user back on ranker-v1 at once (urgent publish, no waves).
    const wavesBefore = app.provider.state().history.length;
    await restarted.abort(SHIFT);
    const aborted = measured.at(-1)!;
    expect(aborted).toMatchObject({ step: 0, percent: 0, share: 0, urgent: true });
    expect(app.provider.state().history.length).toBe(wavesBefore); // no new rollout: skipped the waves
    expect(app.provider.lastGood?.version).toBe(aborted.version);
    expect(restarted.state().shifts[0]).toMatchObject({ state: 'aborted', step: 2, percent: 0 });
  });
});

describe('model readiness end to end (grpc-js-xds, real health servers)', () => {
  it('routes to a new model appear only after its endpoints report SERVING', async () => {
    const b = await startBackends();
    const rulesDir = await tempDir('switchyard-ready-rules-');
    const snapshotDir = await tempDir('switchyard-ready-state-');
    const file = path.join(rulesDir, 'ranking.yaml');
    await writeFile(file, rulesText(b));
    const published: Published[] = [];
    let notify: (p: Published) => void = () => undefined;
    app = await Composition.start({
      rulesDir,
      snapshotDir,
      readiness: { intervalMs: 50, timeoutMs: 2000 },
      afterPublish: async (p) => {
        published.push(p);
        notify(p);
      },
    });
    app.gate!.start();
    const nodeId = 'ready-client';
    client = new ProxylessClient({ adsPort: app.port, nodeId });
    expect((await client.callWithHeaders({ 'x-objective': 'Ranking' })).backend).toBe('old');

    // Switch the default to ranker-v2, whose endpoint does not report SERVING yet.
    const tmp = path.join(rulesDir, '.ranking.yaml.swp');
    await writeFile(tmp, rulesText(b, { defaultModel: 'ranker-v2' }));
    await rename(tmp, file);
    const held = await app.reload('rules changed');
    expect(held.table.objectives.Ranking!.defaultModel).toBe('ranker-v1');
    expect(Object.keys(held.table.objectives.Ranking!.routingKeys)).toEqual(['ranker-v1']);
    await converged(app.server, nodeId, held.snapshot, ['shard-old']);
    expect((await client.callWithHeaders({ 'x-objective': 'Ranking' })).backend).toBe('old');
    await expect(client.call('Ranking/ranker-v2', { deadlineMs: 2000 })).rejects.toThrow();
    expect(app.gate!.state().models.find((m) => m.model === 'ranker-v2')).toMatchObject({ ready: false });

    // The model finishes loading: the gate's next round sees SERVING and triggers the recompile.
    const ready = new Promise<Published>((resolve) => (notify = (p) => p.table.objectives.Ranking!.defaultModel === 'ranker-v2' && resolve(p)));
    b.fresh.health.set('ranker-v2', 'SERVING');
    const p = await ready;
    expect(p.reason).toBe('model readiness changed: ranker-v2 ready');
    await converged(app.server, nodeId, p.snapshot, ['shard-new']);
    expect((await client.callWithHeaders({ 'x-objective': 'Ranking' })).backend).toBe('new');
    expect((await client.call('Ranking/ranker-v2')).backend).toBe('new');
  });
});
