// `switchyard status`: one line per proxy (like istioctl proxy-status) with the sync status of
// each type, the snapshot version it holds, the rollout line (live, pinned, held rules) and every
// NACK message. `--wait` blocks until every proxy converged on the live version.
import type { ProxiesView, ProxyView, SnapshotListView, SyncStatus } from '../admin/types.js';
import { STATUS_TYPES } from '../admin/proxies.js';
import { shortName } from '../proto/type-urls.js';
import type { AdminClient } from './client.js';
import { shortTime, table, value } from './format.js';
import { CliError, EXIT_FAILED, writeJson, type CliIO } from './io.js';

export interface StatusFlags {
  json?: boolean;
  /** Wait until every proxy converged on the live version (or this version prefix). */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** With --wait: the live version must be this one (prefix). */
  version?: string;
  /** With --wait: at least this many proxies (default 1). */
  min?: number;
}

const COLUMN: Record<SyncStatus, string> = { SYNCED: 'SYNCED', STALE: 'STALE', NACKED: 'NACKED', 'NOT SENT': 'NOT SENT', 'NOT SUBSCRIBED': '-' };

function statusCell(p: ProxyView, typeUrl: string): string {
  const t = p.types.find((x) => x.typeUrl === typeUrl);
  return t ? COLUMN[t.status] : '-';
}

/** The version a proxy holds; during a rollout, a proxy whose wave has not opened is told apart. */
function versionCell(p: ProxyView, live: string | null): string {
  const held = p.version ?? (p.types.some((t) => t.ackedSnapshot) ? 'mixed' : '-');
  return live !== null && p.target !== null && p.target !== live ? `${held} (rollout wave not open yet)` : held;
}

function clientCell(p: ProxyView): string {
  return `${p.client}/${p.protocol}`;
}

/** The rollout line: what is live, whether a pin holds it, and rules waiting behind the pin. */
export function rolloutLine(proxies: ProxiesView, list: SnapshotListView | undefined): string {
  if (!proxies.live) return 'Rollout: nothing live yet (the rules have not published; GET /v1/rules/errors lists why).\n';
  const entry = list?.snapshots.find((s) => s.version === proxies.live);
  const where = entry ? ` (seq ${entry.seq}, created ${shortTime(entry.createdAt)})` : '';
  const pin = proxies.pinned ? `pinned to ${proxies.pinned}` : 'not pinned';
  const held = list?.newestFromRules && list.newestFromRules !== proxies.live ? `; rules at ${list.newestFromRules} held until \`switchyard resume\`` : '';
  return `Rollout: live ${proxies.live}${where}, ${pin}${held}\n`;
}

export function renderStatus(proxies: ProxiesView, list: SnapshotListView | undefined): string {
  let out = '';
  if (proxies.proxies.length === 0) out += 'No proxies connected.\n';
  else {
    out += table(
      ['NODE', 'CLUSTER', 'CLIENT', ...STATUS_TYPES.map(shortName), 'VERSION'],
      proxies.proxies.map((p) => [p.nodeId || '(no request yet)', p.cluster || '-', clientCell(p), ...STATUS_TYPES.map((t) => statusCell(p, t)), versionCell(p, proxies.live)]),
    );
  }
  out += rolloutLine(proxies, list);
  const s = proxies.summary;
  const waiting = s.waitingForWave > 0 ? `, ${s.waitingForWave} on the previous version until their rollout wave opens` : '';
  out += `${s.total} prox${s.total === 1 ? 'y' : 'ies'}, ${s.converged} converged on the live version${waiting}, ${s.nacked} with NACKs\n`;
  const nacks = proxies.proxies.flatMap((p) => p.types.filter((t) => t.status === 'NACKED' && t.lastNack).map((t) => ({ p, t })));
  if (nacks.length > 0) {
    out += 'NACKs (the client keeps its last accepted configuration):\n';
    for (const { p, t } of nacks) out += `  ${p.nodeId} ${t.type} rejected version ${t.lastNack!.version} at ${shortTime(t.lastNack!.at)}: ${value(t.lastNack!.message, 300).replace(/^"|"$/g, '')}\n`;
  }
  if (proxies.wait && !proxies.wait.met) out += `Not converged after ${proxies.wait.waitedMs} ms: ${proxies.wait.condition}.\n`;
  return out;
}

export function proxiesPath(flags: StatusFlags): string {
  if (!flags.wait) return '/v1/proxies';
  const q = new URLSearchParams({ wait: 'synced', timeoutMs: String(flags.waitTimeoutMs ?? 30_000) });
  if (flags.version) q.set('version', flags.version);
  if (flags.min !== undefined) q.set('min', String(flags.min));
  return `/v1/proxies?${q.toString()}`;
}

/** GET /v1/proxies (waiting when asked); throws CLI_NOT_CONVERGED when the wait timed out. */
export async function fetchProxies(client: AdminClient, flags: StatusFlags): Promise<ProxiesView> {
  const timeoutMs = flags.wait ? (flags.waitTimeoutMs ?? 30_000) + 10_000 : undefined;
  return client.get<ProxiesView>(proxiesPath(flags), timeoutMs !== undefined ? { timeoutMs } : {});
}

export function notConverged(v: ProxiesView): CliError {
  const behind = v.proxies
    .filter((p) => !p.converged || p.target !== v.live)
    .map((p) => `${p.nodeId || p.streamId} (${p.converged ? 'waiting for its rollout wave' : p.types.filter((t) => t.status !== 'SYNCED' && t.status !== 'NOT SUBSCRIBED').map((t) => `${t.type} ${t.status}`).join(', ') || 'in flight'})`);
  const detail = v.proxies.length === 0 ? 'no proxy is connected' : behind.length > 0 ? `not converged: ${behind.slice(0, 5).join('; ')}` : `${v.proxies.length} connected`;
  return CliError.of('CLI_NOT_CONVERGED', `waited ${v.wait?.waitedMs ?? 0} ms for ${v.wait?.condition ?? 'convergence'}; ${detail}.`, EXIT_FAILED);
}

export async function status(client: AdminClient, io: CliIO, flags: StatusFlags): Promise<number> {
  const proxies = await fetchProxies(client, flags);
  const list = await client.get<SnapshotListView>('/v1/snapshots');
  if (flags.json) writeJson(io, { ...proxies, newestFromRules: list.newestFromRules });
  else io.stdout.write(renderStatus(proxies, list));
  if (proxies.wait && !proxies.wait.met) {
    io.stderr.write(`${notConverged(proxies).format()}\n`);
    return EXIT_FAILED;
  }
  return 0;
}
