// The disk cache: saved atomically after each table from the control plane; at start with the
// control plane down the client serves it (source 'disk') and resolves exactly as before; a
// corrupt file is reported and ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { CACHE_FORMAT, ClientError, CorruptCacheError, readCache, SwitchyardClient, writeCache, type SwitchyardClientOptions } from '../../src/client/index.js';
import { decodeCache, encodeCache } from '../../src/client/cache.js';
import { encodeMessage } from '../../src/proto/messages.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { RESOLVER_TABLE_MESSAGE } from '../../src/resolver/table-message.js';
import { startTestSwitchyard } from '../helpers/app.js';
import { clientEvent, copyOfRules, removeTempDirs, tempDir, unusedPort, users } from './helpers.js';

const apps: RunningSwitchyard[] = [];
const clients: SwitchyardClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await removeTempDirs();
});

function newClient(port: number, nodeId: string, extra: Partial<SwitchyardClientOptions> = {}): SwitchyardClient {
  const c = new SwitchyardClient({ address: `127.0.0.1:${port}`, node: { id: nodeId }, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
  clients.push(c);
  return c;
}

/** Starts a control plane on a copy of rules/, runs a client with `cacheFile` until it saved the table. */
async function primeCache(cacheFile: string): Promise<{ version: string; decisions: unknown[]; port: number; dir: string }> {
  const dir = await copyOfRules();
  const app = await startTestSwitchyard(dir, { watch: false });
  apps.push(app);
  const client = newClient(app.adsPort, 'cache-primer', { cacheFile });
  const persisted = clientEvent(client, 'persisted');
  const info = await client.start();
  const [p] = await persisted;
  expect(p).toEqual({ file: cacheFile, version: info.version });
  expect(info.version).toBe(app.provider.snapshot!.type(TypeUrl.ResolverTable)!.version);
  const decisions = users(2000).map((ctx) => client.resolve(ctx));
  const port = app.adsPort;
  await client.close();
  await app.stop();
  apps.splice(apps.indexOf(app), 1);
  return { version: info.version, decisions, port, dir };
}

describe('disk cache', () => {
  it('starts from the disk copy when the control plane is down, resolves identically, then returns to ADS', async () => {
    const cacheFile = path.join(await tempDir('switchyard-client-cache-'), 'nested', 'resolver-table.json');
    const primed = await primeCache(cacheFile);
    const onDisk = await readCache(cacheFile);
    expect(onDisk?.version).toBe(primed.version);
    // Atomic writes leave no temporary files behind.
    expect(await readdir(path.dirname(cacheFile))).toEqual(['resolver-table.json']);

    // The control plane is not running: its port refuses connections.
    const client = newClient(primed.port, 'cache-cold-start', { cacheFile });
    const streamErrors: ClientError[] = [];
    client.on('error', (e) => streamErrors.push(e));
    const tables: string[] = [];
    client.on('table', (e) => tables.push(`${e.source}:${e.version}`));
    const info = await client.start();
    expect(info).toEqual({ source: 'disk', version: primed.version });
    expect(client.tableSource).toBe('disk');
    expect(streamErrors.some((e) => e.kind === 'stream')).toBe(true);
    expect(client.status().cache).toMatchObject({ file: cacheFile, loadedVersion: primed.version, lastError: undefined });
    expect(users(2000).map((ctx) => client.resolve(ctx))).toEqual(primed.decisions);
    expect(client.report(client.resolve({ objective: 'ContinueWatchingRanking', userId: 'user-1' })).tableSource).toBe('disk');

    // The control plane comes back (same port): the client switches to ADS by itself.
    const back = clientEvent(client, 'table', (e) => e.source === 'ads');
    const app = await startTestSwitchyard(primed.dir, { adsPort: primed.port, watch: false });
    apps.push(app);
    const [ev] = await back;
    expect(ev.version).toBe(primed.version); // same rules, same content, same version
    expect(client.tableSource).toBe('ads');
    expect(tables).toEqual([`disk:${primed.version}`, `ads:${primed.version}`]);
    // ready() keeps reporting the first source.
    expect(await client.ready()).toEqual({ source: 'disk', version: primed.version });
  });

  it('waits for the control plane, not the disk, when the control plane answers', async () => {
    const cacheFile = path.join(await tempDir('switchyard-client-cache-'), 'resolver-table.json');
    const primed = await primeCache(cacheFile);
    const app = await startTestSwitchyard(primed.dir, { watch: false });
    apps.push(app);
    const client = newClient(app.adsPort, 'cache-warm-start', { cacheFile });
    const info = await client.start();
    expect(info).toEqual({ source: 'ads', version: primed.version });
  });

  it('serves the disk copy after initialFetchTimeoutMs when the control plane accepts but never answers', async () => {
    const cacheFile = path.join(await tempDir('switchyard-client-cache-'), 'resolver-table.json');
    const primed = await primeCache(cacheFile);
    // A control plane with rules that never load: the ADS stream opens, no table ever comes.
    const emptyDir = await tempDir('switchyard-client-empty-rules-');
    const app = await startTestSwitchyard(emptyDir, { watch: false });
    apps.push(app);
    expect(app.initial.status).toBe('rejected');
    const client = newClient(app.adsPort, 'cache-silent-cp', { cacheFile, initialFetchTimeoutMs: 300 });
    const info = await client.start();
    expect(info).toEqual({ source: 'disk', version: primed.version });
    expect(client.state).toBe('connecting');
  });

  it.each([
    ['not JSON', (text: string) => text.slice(0, text.length / 2)],
    ['a digest mismatch', (text: string) => text.replace(/"table": "(.)/, (_m, c: string) => `"table": "${c === 'A' ? 'B' : 'A'}`)],
    ['another format', (text: string) => text.replace(CACHE_FORMAT, 'something-else/v0')],
    ['bytes that are not a ResolverTable', () => encodeCache({ version: 'v-bad', bytes: new Uint8Array([0x12, 0x05, 0x0a, 0x03, 0x66]) })],
    ['an inconsistent table', () => encodeCache({ version: 'v-incons', bytes: inconsistentTableBytes() })],
  ])('reports and ignores a cache file with %s', async (_what, corrupt) => {
    const cacheFile = path.join(await tempDir('switchyard-client-cache-'), 'resolver-table.json');
    const primed = await primeCache(cacheFile);
    await writeFile(cacheFile, corrupt(await readFile(cacheFile, 'utf8')));

    const client = newClient(await unusedPort(), 'cache-corrupt', { cacheFile });
    const cacheError = clientEvent(client, 'error', (e) => e.kind === 'cache-read');
    void client.start().catch(() => undefined);
    const [err] = await cacheError;
    expect(err.message).toContain(cacheFile);
    expect(client.status().cache?.lastError).toBeTruthy();
    // Nothing to serve: ready() times out with RESOLVE_NO_TABLE and resolve() refuses.
    await expect(client.ready({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'RESOLVE_NO_TABLE' });
    expect(() => client.resolve({ objective: 'ContinueWatchingRanking', userId: 'u' })).toThrow(expect.objectContaining({ code: 'RESOLVE_NO_TABLE' }) as Error);

    // A control plane later: the client gets the table and the cache file is good again.
    const app = await startTestSwitchyard(primed.dir, { watch: false });
    apps.push(app);
    const client2 = newClient(app.adsPort, 'cache-repair', { cacheFile });
    client2.on('error', () => undefined);
    const persisted = clientEvent(client2, 'persisted');
    expect((await client2.start()).source).toBe('ads');
    await persisted;
    expect((await readCache(cacheFile))?.version).toBe(primed.version);
  });

  it('readCache: absent file is undefined; decodeCache checks every field', async () => {
    const dir = await tempDir('switchyard-client-cache-');
    expect(await readCache(path.join(dir, 'none.json'))).toBeUndefined();
    const file = path.join(dir, 'c.json');
    await writeCache(file, { version: 'v1', bytes: new Uint8Array([1, 2, 3]) });
    await writeCache(file, { version: 'v2', bytes: new Uint8Array([4, 5]) });
    expect(await readdir(dir)).toEqual(['c.json']);
    const c = await readCache(file);
    expect(c?.version).toBe('v2');
    expect([...c!.bytes]).toEqual([4, 5]);
    expect(() => decodeCache(file, '[]')).toThrow(CorruptCacheError);
    expect(() => decodeCache(file, JSON.stringify({ format: CACHE_FORMAT, typeUrl: TypeUrl.ResolverTable, name: 'resolver-table' }))).toThrow(/version/);
  });
});

/** A ResolverTable message whose objective names a default model that is not in `models`. */
function inconsistentTableBytes(): Uint8Array {
  // Built with the server's encoder: field shapes are right, content is inconsistent.
  return encodeMessage(RESOLVER_TABLE_MESSAGE, {
    name: 'resolver-table',
    objectives: [{ name: 'Broken', default_model: 'missing-model', timeout_ms: 100, retries: 0, routing_keys: [], experiments: [], overrides: [] }],
    models: [],
    clients: [],
  });
}
