// NACK path against a real ADS server (a bare AdsServer with a SingleSnapshotProvider): a table the
// client cannot compile is NACKed with the RESOLVE_BAD_TABLE reason, the server records the NACK,
// and the client keeps serving its previous table.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, SwitchyardClient } from '../../src/client/index.js';
import { compile } from '../../src/compile/compile.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { resolverTableToMessage } from '../../src/resolver/table-message.js';
import { loadRuleDir } from '../../src/rules/load.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { SingleSnapshotProvider } from '../../src/xds/provider.js';
import { AdsServer } from '../../src/xds/server.js';
import type { NackEvent } from '../../src/xds/stream.js';
import { waitForEvent } from '../helpers/wait.js';
import { clientEvent, EVENT_TIMEOUT_MS } from './helpers.js';

type Msg = Record<string, unknown> & { objectives: Array<Record<string, unknown>> };

let goodMessage: Msg;
const servers: AdsServer[] = [];
const clients: SwitchyardClient[] = [];

beforeAll(async () => {
  const loaded = await loadRuleDir('rules');
  if (!loaded.ok) throw new Error('rules/ must load');
  goodMessage = resolverTableToMessage(compile(loaded.ruleSet).resolverTable) as Msg;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop(200)));
});

const clone = (m: Msg): Msg => structuredClone(m);
const objective = (m: Msg, name: string): Record<string, unknown> => m.objectives.find((o) => o.name === name)!;
const snapshotOf = (m: object) => createSnapshot({ [TypeUrl.ResolverTable]: [m] });

/** Variants the server happily encodes and serves, but no resolver can compile. */
const BAD_TABLES: Array<[string, (m: Msg) => void, RegExp]> = [
  [
    'an objective whose defaultModel is missing from models',
    (m) => {
      objective(m, 'ArtworkPersonalization').default_model = 'ghost-model';
    },
    /ghost-model/,
  ],
  [
    'an experiment whose cells overlap',
    (m) => {
      const exp = (objective(m, 'ContinueWatchingRanking').experiments as Array<{ cells: Array<{ bucket_start: number }> }>)[0]!;
      exp.cells[1]!.bucket_start = 4000; // treatment-a now starts inside control's [0, 5000)
    },
    /overlap/i,
  ],
  [
    'a traffic shift above 100 %',
    (m) => {
      (objective(m, 'PaymentFraudDetection').shift as { percent: number }).percent = 140;
    },
    /percent|140/,
  ],
];

async function startServer(provider: SingleSnapshotProvider): Promise<{ server: AdsServer; port: number; nacks: NackEvent[] }> {
  const server = new AdsServer({ provider, port: 0 });
  const nacks: NackEvent[] = [];
  server.on('nack', (e) => nacks.push(e));
  servers.push(server);
  return { server, port: await server.start(), nacks };
}

function nextNack(server: AdsServer, nodeId: string): Promise<NackEvent> {
  return waitForEvent<[NackEvent]>(
    (l) => {
      server.on('nack', l);
      return () => server.off('nack', l);
    },
    (e) => e.stream.node?.id === nodeId && e.typeUrl === TypeUrl.ResolverTable,
    { timeoutMs: EVENT_TIMEOUT_MS },
  ).then((args) => args![0]);
}

function newClient(port: number, nodeId: string): SwitchyardClient {
  const c = new SwitchyardClient({ address: `127.0.0.1:${port}`, node: { id: nodeId }, backoff: { initialMs: 20, maxMs: 200 } });
  clients.push(c);
  return c;
}

describe('NACK of a bad resolver table', () => {
  it.each(BAD_TABLES)('NACKs %s and keeps its previous table', async (_what, breakIt, reason) => {
    const good = snapshotOf(goodMessage);
    const provider = new SingleSnapshotProvider(good);
    const { server, port } = await startServer(provider);
    const nodeId = 'nack-client';
    const client = newClient(port, nodeId);
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    const first = await client.start();
    const goodVersion = good.type(TypeUrl.ResolverTable)!.version;
    expect(first).toEqual({ source: 'ads', version: goodVersion });
    const before = client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' });

    const badMessage = clone(goodMessage);
    breakIt(badMessage);
    const bad = snapshotOf(badMessage);
    const badVersion = bad.type(TypeUrl.ResolverTable)!.version;
    const nack = nextNack(server, nodeId);
    provider.publish(bad);
    const e = await nack;

    // The server's view: the NACK of the bad version, with the client's reason.
    expect(e.version).toBe(badVersion);
    expect(e.message).toMatch(/^RESOLVE_BAD_TABLE: /);
    expect(e.message).toMatch(reason);
    const view = server.streamStatuses().find((s) => s.node.id === nodeId)!.types.find((t) => t.typeUrl === TypeUrl.ResolverTable)!;
    expect(view.lastNack).toMatchObject({ version: badVersion });
    // version_info of a NACK is the last accepted version (design rule 3).
    expect(view.ackedVersion).toBe(goodVersion);

    // The client's view: still the good table, the NACK reported.
    expect(client.tableVersion).toBe(goodVersion);
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' })).toBe(before);
    expect(client.status().lastNack).toMatchObject({ version: badVersion });
    expect(errors.filter((x) => x.kind === 'nack').map((x) => x.version)).toEqual([badVersion]);

    // The next good table is taken as usual.
    const fixed = clone(goodMessage);
    objective(fixed, 'ContinueWatchingRanking').timeout_ms = 333;
    const next = snapshotOf(fixed);
    const table = clientEvent(client, 'table');
    provider.publish(next);
    const [ev] = await table;
    expect(ev).toMatchObject({ version: next.type(TypeUrl.ResolverTable)!.version, previousVersion: goodVersion });
    expect(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' }).objectiveConfig.timeoutMs).toBe(333);
  });

  it('NACKs a bad first table with an empty version_info, and becomes ready with the next good one', async () => {
    const badMessage = clone(goodMessage);
    BAD_TABLES[0]![1](badMessage);
    const provider = new SingleSnapshotProvider(snapshotOf(badMessage));
    const { server, port } = await startServer(provider);
    const nack = nextNack(server, 'nack-first');
    const client = newClient(port, 'nack-first');
    client.on('error', () => undefined);
    void client.start().catch(() => undefined);
    await nack;
    const view = server.streamStatuses().find((s) => s.node.id === 'nack-first')!.types[0]!;
    expect(view.ackedVersion).toBe('');
    await expect(client.ready({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'RESOLVE_NO_TABLE' });

    const good = snapshotOf(goodMessage);
    provider.publish(good);
    expect(await client.ready({ timeoutMs: EVENT_TIMEOUT_MS })).toEqual({ source: 'ads', version: good.type(TypeUrl.ResolverTable)!.version });
  });

  it('keeps its table when a response no longer holds it', async () => {
    const good = snapshotOf(goodMessage);
    const provider = new SingleSnapshotProvider(good);
    const { server, port, nacks } = await startServer(provider);
    const client = newClient(port, 'missing-table');
    await client.start();
    const missing = clientEvent(client, 'error', (e) => e.kind === 'missing-table');
    // A snapshot whose ResolverTable type is empty: the named resource is gone.
    provider.publish(createSnapshot({ [TypeUrl.ResolverTable]: [] }));
    const [err] = await missing;
    expect(err.message).toContain(good.type(TypeUrl.ResolverTable)!.version);
    expect(client.tableVersion).toBe(good.type(TypeUrl.ResolverTable)!.version);
    expect(client.resolve({ objective: 'ArtworkPersonalization' }).objectiveConfig.model).toBe('artwork-bandit-v4');
    expect(nacks).toEqual([]);
    void server;
  });
});
