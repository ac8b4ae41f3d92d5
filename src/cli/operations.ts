// `switchyard rollback <version>` and `switchyard resume`: pin the fleet on a stored version at
// once, and go back to publishing from the rules. With --wait, also wait for every proxy to
// converge on the result.
import type { ResumeView, RollbackView } from '../admin/types.js';
import type { AdminClient } from './client.js';
import { writeJson, type CliIO } from './io.js';
import { fetchProxies, notConverged } from './status.js';

export interface OperationFlags {
  json?: boolean;
  wait?: boolean;
  waitTimeoutMs?: number;
}

async function waitFor(client: AdminClient, io: CliIO, version: string, flags: OperationFlags): Promise<number> {
  if (!flags.wait) return 0;
  const v = await fetchProxies(client, { wait: true, waitTimeoutMs: flags.waitTimeoutMs, version, min: 0 });
  if (!v.wait?.met) {
    io.stderr.write(`${notConverged(v).format()}\n`);
    return 1;
  }
  if (!flags.json) io.stdout.write(`${v.proxies.length} prox${v.proxies.length === 1 ? 'y' : 'ies'} converged on ${version} in ${v.wait.waitedMs} ms.\n`);
  return 0;
}

export async function rollback(client: AdminClient, io: CliIO, version: string, flags: OperationFlags): Promise<number> {
  const v = await client.post<RollbackView>('/v1/rollback', { version });
  if (flags.json) writeJson(io, v);
  else {
    io.stdout.write(`Rolled back to ${v.pinned} (seq ${v.seq}) and pinned; was ${v.from ?? 'nothing'}.\n`);
    io.stdout.write('Rule changes are recorded but not published until `switchyard resume`.\n');
  }
  return waitFor(client, io, v.live, flags);
}

export async function resume(client: AdminClient, io: CliIO, flags: OperationFlags): Promise<number> {
  const v = await client.post<ResumeView>('/v1/resume', {});
  if (flags.json) writeJson(io, v);
  else {
    io.stdout.write(v.unpinned ? `Unpinned ${v.unpinned}; publishing from the rules again.\n` : 'Nothing was pinned; publishing from the rules.\n');
    io.stdout.write(`Live: ${v.live ?? 'nothing'}${v.newestFromRules && v.newestFromRules === v.live ? ' (the newest rules)' : ''}.\n`);
  }
  return v.live ? waitFor(client, io, v.live, flags) : 0;
}
