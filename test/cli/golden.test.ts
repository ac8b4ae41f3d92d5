// The human output of `switchyard plan`, `status` and `snapshots diff` for a known case, pinned as
// golden text (versions and times normalized, widths kept). Regenerate with UPDATE_GOLDEN=1 after
// an intended change and review the diff.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { ProxiesView } from '../../src/admin/types.js';
import type { PlanView } from '../../src/cli/plan.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import type { AckEvent, NackEvent } from '../../src/xds/stream.js';
import { SotwClient } from '../helpers/ads-client.js';
import { waitForEvent } from '../helpers/wait.js';
import { PLAN_LIVE_RULES, PLAN_LOCAL_RULES, api, cli, normalize, removeDirs, saveAndReload, startWithAdmin, tempDir } from '../admin/fixtures.js';

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

async function golden(name: string, actual: string): Promise<void> {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    await mkdir(GOLDEN_DIR, { recursive: true });
    await writeFile(file, actual);
  }
  expect(actual).toBe(await readFile(file, 'utf8'));
}

let app: RunningSwitchyard;
let servedFile: string;
let localDir: string;
const clients: SotwClient[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  const served = await tempDir('golden-served');
  localDir = await tempDir('golden-local');
  dirs.push(served, localDir);
  servedFile = path.join(served, 'rules.yaml');
  await writeFile(servedFile, PLAN_LIVE_RULES);
  await writeFile(path.join(localDir, 'rules.yaml'), PLAN_LOCAL_RULES);
  app = await startWithAdmin(served);
  dirs.push(app.controlPlane.store.dir);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await app?.stop();
  await removeDirs(dirs);
});

function on<E extends 'ack' | 'nack'>(event: E) {
  return (listener: (e: E extends 'ack' ? AckEvent : NackEvent) => void): (() => void) => {
    app.ads.on(event, listener as never);
    return () => app.ads.off(event, listener as never);
  };
}

/** Requests a type and ACKs (or NACKs) the response; resolves once the server handled it. */
async function answer(c: SotwClient, nodeId: string, typeUrl: string, names: string[], nack?: string): Promise<void> {
  const handled = waitForEvent(on(nack ? 'nack' : 'ack'), (e) => e.stream.node?.id === nodeId && e.typeUrl === typeUrl, { timeoutMs: 10_000 });
  c.request(typeUrl, names);
  const r = await c.next(typeUrl);
  if (nack) c.nack(r, names, '', nack);
  else c.ack(r, names);
  await handled;
}

describe('golden CLI output', () => {
  it('plan: resources per type with field changes, and traffic shares per objective', async () => {
    const run = await cli(app, ['plan', localDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await golden('plan.txt', normalize(run.stdout, { [localDir]: '<rules>' }));

    const json = await cli(app, ['plan', localDir, '--json']);
    const p = JSON.parse(json.stdout) as PlanView;
    expect(p.live.version).toBe(app.provider.snapshot!.version);
    expect(p.traffic.liveBasis).toBe('resolver-table');
    expect(p.traffic.objectives.find((o) => o.objective === 'Search')!.models).toEqual([
      { model: 'search-v1', before: 100, after: 70, delta: -30 },
      { model: 'search-v2', before: 0, after: 30, delta: 30 },
    ]);
    expect(p.traffic.objectives.find((o) => o.objective === 'Ranking')!.models).toEqual([
      { model: 'ranker-v1', before: 90, after: 75, delta: -15 },
      { model: 'ranker-v2', before: 10, after: 25, delta: 15 },
    ]);
    expect(p.types.find((t) => t.type === 'CDS')!.added).toEqual(['shard-c']);
  });

  it('status: one line per proxy, the rollout line and NACK messages', async () => {
    const synced = new SotwClient(`127.0.0.1:${app.adsPort}`, { id: 'edge-1', cluster: 'edge', user_agent_name: 'gRPC Node Pure JS' });
    const nacking = new SotwClient(`127.0.0.1:${app.adsPort}`, { id: 'edge-2', cluster: 'edge' });
    clients.push(synced, nacking);
    await answer(synced, 'edge-1', TypeUrl.Listener, ['model-serving']);
    await answer(synced, 'edge-1', TypeUrl.RouteConfiguration, ['model-serving']);
    await answer(synced, 'edge-1', TypeUrl.Cluster, ['shard-a', 'shard-b']);
    await answer(synced, 'edge-1', TypeUrl.ClusterLoadAssignment, ['shard-a', 'shard-b']);
    const converged = await api<ProxiesView>(app, 'GET', '/v1/proxies?wait=synced&timeoutMs=10000');
    expect(converged.body.wait?.met).toBe(true);
    await answer(nacking, 'edge-2', TypeUrl.Cluster, []);
    await answer(nacking, 'edge-2', TypeUrl.ClusterLoadAssignment, ['shard-a'], 'endpoint 10.0.0.1:9001: locality has no load_balancing_weight');

    const run = await cli(app, ['status']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await golden('status.txt', normalize(run.stdout));
  });

  it('snapshots diff: what a publish changed', async () => {
    const v1 = app.provider.snapshot!.version;
    expect((await saveAndReload(app, servedFile, PLAN_LOCAL_RULES)).status).toBe('published');
    const v2 = app.provider.snapshot!.version;
    const run = await cli(app, ['snapshots', 'diff', v1.slice(0, 8), v2]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await golden('diff.txt', normalize(run.stdout));
  });
});
