// The client against a real control plane (startTestSwitchyard on a temp copy of rules/): it gets
// the table over ADS, resolves like src/resolver on the compiled table, follows rule edits, and
// the server records its ACKs.
import { afterEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { ClientError, createResolverClient, isResolveError, ResolveError, SwitchyardClient, type ClientStatus } from '../../src/client/index.js';
import { compile } from '../../src/compile/compile.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { compileResolver } from '../../src/resolver/resolve.js';
import { loadRuleDir } from '../../src/rules/load.js';
import { saveAtomically } from '../../src/demo/rules.js';
import type { AckEvent } from '../../src/xds/stream.js';
import { nextReload, startTestSwitchyard } from '../helpers/app.js';
import { waitForEvent } from '../helpers/wait.js';
import { clientEvent, copyOfRules, EVENT_TIMEOUT_MS, removeTempDirs, unusedPort, users } from './helpers.js';

const apps: RunningSwitchyard[] = [];
const clients: SwitchyardClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await removeTempDirs();
});

async function startApp(dir: string, adsPort = 0): Promise<RunningSwitchyard> {
  const app = await startTestSwitchyard(dir, { adsPort, quietMs: 50, maxDelayMs: 500 });
  apps.push(app);
  expect(app.initial.status).toBe('published');
  return app;
}

function newClient(app: { adsPort: number } | number, nodeId: string, extra: Partial<ConstructorParameters<typeof SwitchyardClient>[0]> = {}): SwitchyardClient {
  const port = typeof app === 'number' ? app : app.adsPort;
  const c = new SwitchyardClient({ address: `127.0.0.1:${port}`, node: { id: nodeId, cluster: 'client-tests' }, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  clients.push(c);
  return c;
}

const resolverVersion = (app: RunningSwitchyard): string => app.provider.snapshot!.type(TypeUrl.ResolverTable)!.version;

/** The ResolverTable status of `nodeId`'s stream, as the server reports it. */
function serverView(app: RunningSwitchyard, nodeId: string): ReturnType<typeof app.ads.streamStatuses>[number]['types'][number] | undefined {
  return app.ads.streamStatuses().find((s) => s.node.id === nodeId)?.types.find((t) => t.typeUrl === TypeUrl.ResolverTable);
}

/** Resolves when the server has recorded `nodeId`'s ACK of the ResolverTable at `version`. */
async function serverAcked(app: RunningSwitchyard, nodeId: string, version: string): Promise<void> {
  await waitForEvent<[AckEvent]>(
    (l) => {
      app.ads.on('ack', l);
      return () => app.ads.off('ack', l);
    },
    (e) => e.stream.node?.id === nodeId && e.typeUrl === TypeUrl.ResolverTable && e.version === version,
    {
      timeoutMs: EVENT_TIMEOUT_MS,
      initially: () => serverView(app, nodeId)?.ackedVersion === version && serverView(app, nodeId)?.pendingAck === false,
      describe: () => JSON.stringify(serverView(app, nodeId)),
    },
  );
}

/** The resolver src/resolver builds from the rules in `dir`, at `version`. */
async function directResolver(dir: string, version: string): Promise<ReturnType<typeof compileResolver>> {
  const loaded = await loadRuleDir(dir);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return compileResolver(compile(loaded.ruleSet).resolverTable, version);
}

describe('SwitchyardClient against a real control plane', () => {
  it('gets the table over ADS, resolves like src/resolver, and the server records its ACK', async () => {
    const dir = await copyOfRules();
    const app = await startApp(dir);
    const client = newClient(app, 'client-ads-1');
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    const tables = [] as string[];
    client.on('table', (e) => tables.push(`${e.source}:${e.version}`));

    expect(() => client.resolve({ objective: 'ContinueWatchingRanking', userId: 'u' })).toThrow(expect.objectContaining({ code: 'RESOLVE_NO_TABLE' }) as Error);
    const info = await client.start();
    const version = resolverVersion(app);
    expect(info).toEqual({ source: 'ads', version });
    expect(client.tableVersion).toBe(version);
    expect(client.tableSource).toBe('ads');
    expect(client.objectives).toEqual(['ArtworkPersonalization', 'ContinueWatchingRanking', 'PaymentFraudDetection']);
    expect(tables).toEqual([`ads:${version}`]);

    // The same decisions as src/resolver on the compiled rules, user by user.
    const direct = await directResolver(dir, version);
    const cells = new Map<string, number>();
    for (const ctx of users(4000)) {
      const mine = client.resolve(ctx);
      expect(mine).toEqual(direct.resolve(ctx));
      const cell = mine.objectiveConfig.experiment!.cell;
      cells.set(cell, (cells.get(cell) ?? 0) + 1);
    }
    // 50/25/25, within a few points.
    expect(Math.abs(cells.get('control')! / 4000 - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(cells.get('treatment-a')! / 4000 - 0.25)).toBeLessThan(0.03);
    expect(Math.abs(cells.get('treatment-b')! / 4000 - 0.25)).toBeLessThan(0.03);
    for (const ctx of [
      { objective: 'ContinueWatchingRanking', userId: 'qa-1', client: 'qa-harness' },
      { objective: 'PaymentFraudDetection', userId: 'user-7' },
      { objective: 'PaymentFraudDetection', userId: 'user-7', testTraffic: true, headers: { 'X-Switchyard-Test-Model': 'fraud-gbm-v3' } },
      { objective: 'ArtworkPersonalization' },
    ]) {
      expect(client.resolve(ctx)).toEqual(direct.resolve(ctx));
    }
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'qa-1', client: 'qa-harness' }).objectiveConfig).toMatchObject({ decidedBy: 'override', model: 'cw-ranker-v3', testTraffic: true });

    // Bad input is a ResolveError with its stable code; never a silent default.
    const codeOf = (ctx: unknown): string => {
      try {
        client.resolve(ctx as never);
      } catch (err) {
        expect(isResolveError(err)).toBe(true);
        return (err as ResolveError).code;
      }
      return 'no error';
    };
    expect(codeOf({ objective: 'NoSuchObjective' })).toBe('RESOLVE_UNKNOWN_OBJECTIVE');
    expect(codeOf({ objective: 'ContinueWatchingRanking' })).toBe('RESOLVE_MISSING_USER_ID');
    expect(codeOf({ objective: 'ContinueWatchingRanking', user_id: 'x' })).toBe('RESOLVE_UNKNOWN_FIELD');
    expect(codeOf(null)).toBe('RESOLVE_BAD_CONTEXT');

    // Headers for the call.
    const r = client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' });
    const headers = client.headersFor({ objective: 'ContinueWatchingRanking', userId: 'user-1' });
    expect(headers).toEqual({ 'x-routing-key': r.routingKey, 'x-objective': 'ContinueWatchingRanking' });
    expect(client.headersFor({ objective: 'ContinueWatchingRanking', userId: 'user-1' })).toBe(headers); // cached per decision

    // The server saw the ACK of this version on the client's stream, with the client's node.
    await serverAcked(app, 'client-ads-1', version);
    const stream = app.ads.streamStatuses().find((s) => s.node.id === 'client-ads-1')!;
    expect(stream.protocol).toBe('sotw');
    expect(stream.node.cluster).toBe('client-tests');
    expect(stream.node.userAgent).toMatch(/^switchyard-client\//);
    const view = serverView(app, 'client-ads-1')!;
    expect(view).toMatchObject({ subscribed: ['resolver-table'], ackedVersion: version, ackedSnapshot: app.provider.snapshot!.version, lastNack: null, pendingAck: false });
    const status: ClientStatus = client.status();
    expect(status).toMatchObject({ state: 'connected', ackedVersion: version, streamFailures: 0, lastNack: undefined });
    expect(errors).toEqual([]);
  });

  it('a rule edit (TS module percents, YAML timeout) reaches the client as a new table version', async () => {
    const dir = await copyOfRules();
    const app = await startApp(dir);
    const client = newClient(app, 'client-edit-1');
    const first = await client.start();

    // Experiment 12345: 50/25/25 -> 10/10/80, saved atomically as editors do.
    const moduleFile = path.join(dir, 'experiments', 'ab12345.ts');
    const text = await readFile(moduleFile, 'utf8');
    const edited = text
      .replace("control: { model: 'cw-ranker-v1', percent: 50 }", "control: { model: 'cw-ranker-v1', percent: 10 }")
      .replace("'treatment-a': { model: 'cw-ranker-v2', percent: 25 }", "'treatment-a': { model: 'cw-ranker-v2', percent: 10 }")
      .replace("'treatment-b': { model: 'cw-ranker-v3', percent: 25 }", "'treatment-b': { model: 'cw-ranker-v3', percent: 80 }");
    expect(edited).not.toBe(text);
    const nextTable = clientEvent(client, 'table', (e) => e.version !== first.version);
    await saveAtomically(moduleFile, edited);
    const [ev] = await nextTable;
    expect(ev).toMatchObject({ previousVersion: first.version, source: 'ads' });
    expect(ev.version).toBe(resolverVersion(app));
    expect(client.tableVersion).toBe(ev.version);
    const cells = experimentCells(client);
    expect(cells).toEqual([
      { id: 'control', percent: 10 },
      { id: 'treatment-a', percent: 10 },
      { id: 'treatment-b', percent: 80 },
    ]);
    const direct = await directResolver(dir, ev.version);
    let v3 = 0;
    for (const ctx of users(3000)) {
      const r = client.resolve(ctx);
      expect(r).toEqual(direct.resolve(ctx));
      expect(r.objectiveConfig.tableVersion).toBe(ev.version);
      if (r.objectiveConfig.model === 'cw-ranker-v3') v3++;
    }
    expect(Math.abs(v3 / 3000 - 0.8)).toBeLessThan(0.03);
    await serverAcked(app, 'client-edit-1', ev.version);

    // A YAML edit: ContinueWatchingRanking's timeout.
    const objectivesFile = path.join(dir, 'objectives.yaml');
    const yaml = await readFile(objectivesFile, 'utf8');
    const reloaded = nextReload(app);
    const nextTable2 = clientEvent(client, 'table', (e) => e.version !== ev.version);
    await saveAtomically(objectivesFile, yaml.replace('timeoutMs: 150', 'timeoutMs: 275'));
    expect((await reloaded).status).toBe('published');
    const [ev2] = await nextTable2;
    expect(ev2.previousVersion).toBe(ev.version);
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' }).objectiveConfig.timeoutMs).toBe(275);
    await serverAcked(app, 'client-edit-1', ev2.version);
  });

  it('reconnects with back-off when the control plane restarts, and takes the new table', async () => {
    const dir = await copyOfRules();
    const app1 = await startApp(dir);
    const port = app1.adsPort;
    const client = newClient(app1, 'client-restart-1');
    const first = await client.start();

    const streamError = clientEvent(client, 'error', (e) => e.kind === 'stream');
    await app1.stop();
    apps.splice(apps.indexOf(app1), 1);
    const [err] = await streamError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.retryInMs).toBeGreaterThan(0);
    expect(err.retryInMs).toBeLessThanOrEqual(200);
    // The last table keeps serving during the outage.
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' }).objectiveConfig.tableVersion).toBe(first.version);

    // The control plane comes back on the same port with different rules.
    const objectivesFile = path.join(dir, 'objectives.yaml');
    await saveAtomically(objectivesFile, (await readFile(objectivesFile, 'utf8')).replace('timeoutMs: 150', 'timeoutMs: 190'));
    const nextTable = clientEvent(client, 'table', (e) => e.version !== first.version);
    const app2 = await startApp(dir, port);
    const [ev] = await nextTable;
    expect(ev.version).toBe(resolverVersion(app2));
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' }).objectiveConfig.timeoutMs).toBe(190);
    expect(client.status().streamFailures).toBeGreaterThanOrEqual(1);
    await serverAcked(app2, 'client-restart-1', ev.version);
  });
});

describe('createResolverClient', () => {
  it('creates, starts and resolves with the client once ready', async () => {
    const app = await startApp(await copyOfRules());
    const errors: ClientError[] = [];
    const { client, ready } = await createResolverClient({ address: `127.0.0.1:${app.adsPort}`, node: { id: 'created-client' }, onError: (e) => errors.push(e), readyTimeoutMs: EVENT_TIMEOUT_MS });
    clients.push(client);
    expect(ready).toEqual({ source: 'ads', version: resolverVersion(app) });
    expect(client.resolve({ objective: 'ArtworkPersonalization' }).routingKey).toBe('ArtworkPersonalization/artwork-bandit-v4');
    expect(errors).toEqual([]);
  });

  it('closes the client and rejects when no table comes in time', async () => {
    await expect(createResolverClient({ address: `127.0.0.1:${await unusedPort()}`, node: { id: 'created-unreachable' }, readyTimeoutMs: 150 })).rejects.toMatchObject({ code: 'RESOLVE_NO_TABLE' });
  });
});

describe('SwitchyardClient without a control plane', () => {
  it('keeps retrying without throwing when nobody listens to errors; ready() can time out; close() rejects waiters', async () => {
    const client = newClient(await unusedPort(), 'client-unreachable');
    void client.start().catch(() => undefined);
    await expect(client.ready({ timeoutMs: 250 })).rejects.toMatchObject({ code: 'RESOLVE_NO_TABLE', message: expect.stringMatching(/UNAVAILABLE/) as string });
    const status = client.status();
    expect(status.table).toBeUndefined();
    expect(status.lastError?.kind).toBe('stream');
    expect(status.streamFailures).toBeGreaterThanOrEqual(1);
    expect(['backoff', 'connecting']).toContain(status.state);
    const pending = client.ready();
    await client.close();
    await expect(pending).rejects.toThrow(/closed/);
    expect(client.state).toBe('closed');
    await expect(client.start()).rejects.toThrow(/after close/);
  });

  it('validates its options', () => {
    expect(() => new SwitchyardClient({ address: '', node: { id: 'x' } })).toThrow(/address/);
    expect(() => new SwitchyardClient({ address: '127.0.0.1:1', node: { id: '' } })).toThrow(/node\.id/);
  });
});

function experimentCells(client: SwitchyardClient): Array<{ id: string; percent: number }> {
  return client.table!.objectives.ContinueWatchingRanking!.experiments[0]!.cells.map((c) => ({ id: c.id, percent: c.percent }));
}
