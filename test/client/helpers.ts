// Shared plumbing for the client tests: temp copies of rules/, free ports, and awaiting client
// events with a deadline (no fixed sleeps).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SwitchyardClient, ClientEventMap } from '../../src/client/index.js';
import { copyRules } from '../../src/demo/rules.js';
import { waitForEvent } from '../helpers/wait.js';

export const EVENT_TIMEOUT_MS = 15_000;

/** Temp dirs made by a test; removeTempDirs() deletes them. */
const tempDirs: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A private copy of the shipped rules/ (tests edit it). */
export async function copyOfRules(): Promise<string> {
  const dir = path.join(await tempDir('switchyard-client-rules-'), 'rules');
  await copyRules(path.resolve('rules'), dir);
  return dir;
}

/** A port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The first `event` of `client` whose arguments satisfy `predicate`. */
export async function clientEvent<K extends keyof ClientEventMap>(
  client: SwitchyardClient,
  event: K,
  predicate: (...args: ClientEventMap[K]) => boolean = () => true,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<ClientEventMap[K]> {
  const args = await waitForEvent<ClientEventMap[K]>(
    (listener) => {
      const l = listener as (...a: unknown[]) => void;
      client.on(event, l as never);
      return () => client.off(event, l as never);
    },
    predicate,
    { timeoutMs, describe: () => `no matching '${String(event)}' event; client status ${JSON.stringify(client.status())}` },
  );
  return args!;
}

/** Contexts of `n` users of ContinueWatchingRanking. */
export function users(n: number, prefix = 'user-'): Array<{ objective: string; userId: string }> {
  return Array.from({ length: n }, (_, i) => ({ objective: 'ContinueWatchingRanking', userId: `${prefix}${i}` }));
}
