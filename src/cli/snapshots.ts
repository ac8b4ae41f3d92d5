// `switchyard snapshots ls | show <version> [--type T] | diff <from> <to>`: the stored history.
import type { DiffView, SnapshotDetailView, SnapshotListView } from '../admin/types.js';
import type { AdminClient } from './client.js';
import { bytes, renderTypeDiffs, shortTime, table } from './format.js';
import { writeJson, type CliIO } from './io.js';

export interface OutputFlags {
  json?: boolean;
}

function changedFiles(c: SnapshotListView['snapshots'][number]['changedFiles']): string {
  if (!c) return '-';
  const parts = [...c.added.map((f) => `+${f}`), ...c.changed.map((f) => `~${f}`), ...c.removed.map((f) => `-${f}`)];
  if (parts.length === 0) return '(none)';
  return parts.length <= 3 ? parts.join(' ') : `${parts.slice(0, 3).join(' ')} (+${parts.length - 3} more)`;
}

export function renderSnapshotList(v: SnapshotListView): string {
  let out = '';
  if (v.snapshots.length === 0) out += 'No stored snapshots.\n';
  else {
    out += table(
      ['SEQ', 'VERSION', 'CREATED', 'SOURCE', 'RESOURCES', 'SIZE', 'STATE', 'CHANGED FILES'],
      v.snapshots.map((s) => [
        String(s.seq),
        s.version,
        shortTime(s.createdAt),
        s.source,
        String(s.resourceCount),
        bytes(s.sizeBytes),
        [s.live ? 'live' : '', s.pinned ? 'pinned' : ''].filter(Boolean).join(',') || '-',
        changedFiles(s.changedFiles),
      ]),
    );
  }
  if (v.pinned) out += `Pinned to ${v.pinned}: rule changes are recorded, not published, until \`switchyard resume\`.\n`;
  if (v.newestFromRules && v.newestFromRules !== v.live) out += `Newest from rules: ${v.newestFromRules} (held).\n`;
  if (v.problems.length > 0) {
    out += `\n${v.problems.length} damaged file${v.problems.length === 1 ? '' : 's'} in the snapshot directory (skipped, never served):\n`;
    out += table(['FILE', 'CODE', 'PROBLEM'], v.problems.map((p) => [p.file, p.code, p.message]), '  ');
  }
  return out;
}

export function renderSnapshotDetail(v: SnapshotDetailView): string {
  const flags = [v.live ? 'live' : '', v.pinned ? 'pinned' : ''].filter(Boolean).join(', ');
  let out = `Snapshot ${v.version} (seq ${v.seq}, created ${shortTime(v.createdAt)}, source ${v.source}${flags ? `, ${flags}` : ''})\n`;
  out += table(['TYPE', 'VERSION', 'RESOURCES'], v.types.map((t) => [t.type, t.version, String(t.resources.length)]));
  for (const t of v.types) {
    for (const r of t.resources) {
      out += `\n--- ${t.type} ${r.name} (version ${r.version}, ${bytes(r.sizeBytes)})\n`;
      if (r.decodeError) out += `(cannot decode: ${r.decodeError})\n`;
      else if (r.bytes !== undefined) out += `${r.bytes}\n`;
      else out += `${JSON.stringify(r.resource, null, 2)}\n`;
    }
  }
  return out;
}

export function renderDiff(v: DiffView): string {
  const ref = (r: DiffView['from']): string => `${r.version}${r.seq !== null ? ` (seq ${r.seq})` : ''}`;
  let out = `Diff ${ref(v.from)} -> ${ref(v.to)}${v.identical ? ': identical' : ''}\n`;
  if (!v.identical) out += renderTypeDiffs(v.types);
  return out;
}

export async function snapshotsLs(client: AdminClient, io: CliIO, flags: OutputFlags): Promise<number> {
  const v = await client.get<SnapshotListView>('/v1/snapshots');
  if (flags.json) writeJson(io, v);
  else io.stdout.write(renderSnapshotList(v));
  return 0;
}

export async function snapshotsShow(client: AdminClient, io: CliIO, version: string, flags: OutputFlags & { type?: string; raw?: boolean }): Promise<number> {
  const q = new URLSearchParams();
  if (flags.type) q.set('type', flags.type);
  if (flags.raw) q.set('raw', '1');
  const qs = q.toString();
  const v = await client.get<SnapshotDetailView>(`/v1/snapshots/${encodeURIComponent(version)}${qs ? `?${qs}` : ''}`);
  if (flags.json) writeJson(io, v);
  else io.stdout.write(renderSnapshotDetail(v));
  return 0;
}

export async function snapshotsDiff(client: AdminClient, io: CliIO, from: string, to: string | undefined, flags: OutputFlags & { type?: string }): Promise<number> {
  const q = new URLSearchParams({ from });
  if (to) q.set('to', to);
  if (flags.type) q.set('type', flags.type);
  const v = await client.get<DiffView>(`/v1/diff?${q.toString()}`);
  if (flags.json) writeJson(io, v);
  else io.stdout.write(renderDiff(v));
  return 0;
}
