// Edit a rule file while a real @grpc/grpc-js-xds client is calling: its calls move to the new
// model's backend with no restart of anything.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { nextReload, startTestSwitchyard } from '../helpers/app.js';
import { EchoBackends } from '../helpers/grpc-backends.js';
import { ProxylessClient } from '../helpers/xds-client.js';
import { converged } from './harness.js';
import { rankingRules } from '../helpers/rule-texts.js';
import { proxyViews } from '../../src/admin/proxies.js';

let app: RunningSwitchyard | undefined;
let backends: EchoBackends | undefined;
let client: ProxylessClient | undefined;
let dir: string | undefined;

afterEach(async () => {
  client?.close();
  await app?.stop();
  await backends?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  app = backends = client = dir = undefined;
});

/** The rules under test: shard-a uses LEAST_REQUEST, and ranker-v2 shadows 10% of Ranking. */
function rules(ports: { a: number; b: number }, defaultModel: string): string {
  return rankingRules(ports, defaultModel, { shardALbPolicy: 'LEAST_REQUEST', shadowPercent: 10 });
}

describe('editing rules while a proxyless client calls', () => {
  it('moves calls to the new default model without a restart', async () => {
    backends = await EchoBackends.start(['model-v1', 'model-v2']);
    const ports = { a: backends.port('model-v1'), b: backends.port('model-v2') };
    dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-e2e-rules-'));
    const file = path.join(dir, 'ranking.yaml');
    await writeFile(file, rules(ports, 'ranker-v1'));
    app = await startTestSwitchyard(dir, { quietMs: 50, maxDelayMs: 1000 });
    expect(app.initial.status).toBe('published');

    client = new ProxylessClient({ adsPort: app.adsPort, nodeId: 'rules-edit-client' });
    // A grpc-js-xds channel starts xDS with its first call; that call waits for the configuration.
    const before = await client.callWithHeaders({ 'x-objective': 'Ranking' });
    expect(before.backend).toBe('model-v1');
    expect((await client.call('Ranking/ranker-v1')).backend).toBe('model-v1');
    // Routes mirror to shard-b (the shadow); proxyless gRPC ignores mirrors and never asks for it,
    // and operators still see the client converged.
    await converged(app.ads, 'rules-edit-client', app.provider.snapshot!, ['shard-a']);
    const [status] = app.ads.streamStatuses();
    expect(status!.types.find((t) => t.type === 'CDS')!.subscribed).toEqual(['shard-a']);
    expect(proxyViews([status!], app.provider.snapshot)[0]!.converged).toBe(true);

    // An atomic save, as editors do it, switching the default model.
    const reloaded = nextReload(app);
    const tmp = path.join(dir, '.ranking.yaml.swp');
    await writeFile(tmp, rules(ports, 'ranker-v2'));
    await rename(tmp, file);
    const outcome = await reloaded;
    expect(outcome.status).toBe('published');
    await converged(app.ads, 'rules-edit-client', app.provider.snapshot!, ['shard-b']);

    for (let i = 0; i < 5; i++) expect((await client.callWithHeaders({ 'x-objective': 'Ranking' })).backend).toBe('model-v2');
    expect((await client.call('Ranking/ranker-v2')).backend).toBe('model-v2');
  });
});
