// Snapshot views of the admin API: store entries with live/pinned flags, a snapshot's resources
// decoded to JSON (or raw), and the type filter (?type=CDS|EDS|LDS|RDS|RESOLVER|<type URL>).
import { SHORT_NAMES, shortName } from '../proto/type-urls.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotEntry } from '../snapshot/store.js';
import { decodeResource } from './diff.js';
import { AdminHttpError } from './http.js';
import type { ResourceView, SnapshotDetailView, SnapshotEntryView, TypeView } from './types.js';

export interface LiveState {
  readonly live: string | undefined;
  readonly pinned: string | undefined;
}

export function shortTypeVersions(typeVersions: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(typeVersions).map(([t, v]) => [shortName(t), v]));
}

export function entryView(e: SnapshotEntry, state: LiveState): SnapshotEntryView {
  return {
    seq: e.seq,
    version: e.version,
    createdAt: e.createdAt,
    source: e.source,
    typeVersions: shortTypeVersions(e.typeVersions),
    resourceCount: e.resourceCount,
    sizeBytes: e.sizeBytes,
    file: e.file,
    filesDigest: e.filesDigest,
    changedFiles: e.changedFiles,
    live: e.version === state.live,
    pinned: e.version === state.pinned,
  };
}

const BY_SHORT = new Map(Object.entries(SHORT_NAMES).map(([url, short]) => [short.toLowerCase(), url]));

/** Type URLs named by a filter: short names or type URLs, comma separated; undefined = all types. */
export function parseTypeFilter(value: string | null): Set<string> | undefined {
  if (value === null || value.trim() === '') return undefined;
  const out = new Set<string>();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const url = BY_SHORT.get(part.toLowerCase()) ?? (part.startsWith('type.googleapis.com/') ? part : undefined);
    if (!url) throw new AdminHttpError(400, 'ADMIN_UNKNOWN_TYPE', `unknown resource type "${part}"`);
    out.add(url);
  }
  return out;
}

function resourceView(typeUrl: string, name: string, version: string, bytes: Uint8Array, raw: boolean): ResourceView {
  if (raw) return { name, version, sizeBytes: bytes.length, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  const decoded = decodeResource(typeUrl, bytes);
  const failed = typeof decoded === 'object' && decoded !== null && 'undecodable' in decoded;
  return failed ? { name, version, sizeBytes: bytes.length, decodeError: String((decoded as { undecodable: unknown }).undecodable) } : { name, version, sizeBytes: bytes.length, resource: decoded };
}

export function snapshotDetail(snapshot: Snapshot, entry: SnapshotEntry, state: LiveState, opts: { types?: Set<string>; raw?: boolean } = {}): SnapshotDetailView {
  const raw = opts.raw ?? false;
  const types: TypeView[] = [];
  for (const typeUrl of snapshot.typeUrls()) {
    if (opts.types && !opts.types.has(typeUrl)) continue;
    const set = snapshot.type(typeUrl)!;
    types.push({
      typeUrl,
      type: shortName(typeUrl),
      version: set.version,
      resources: set.names.map((n) => {
        const r = set.resources.get(n)!;
        return resourceView(typeUrl, n, r.version, r.bytes, raw);
      }),
    });
  }
  return { ...entryView(entry, state), raw, types };
}
