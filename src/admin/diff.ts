// Snapshot diffs: resources added, removed and changed per type, and for each changed resource a
// field-level diff of its decoded JSON (path, old, new). Pure; the admin API and `switchyard plan`
// both use it. Resources compare by content digest, so only changed ones are decoded.
import { decodeMessage } from '../proto/messages.js';
import { pushRank, shortName, typeNameOf } from '../proto/type-urls.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { FieldChange, ResourceChange, TypeDiff } from './types.js';

/** One resource as a diff sees it: its content digest and (lazily) its decoded JSON. */
export interface ResourceContent {
  readonly name: string;
  readonly version: string;
  json(): unknown;
}

export interface TypeContent {
  readonly version: string;
  readonly resources: ReadonlyMap<string, ResourceContent>;
}

/** Type URL -> resources. */
export type SnapshotContent = ReadonlyMap<string, TypeContent>;

/** Field changes listed per resource at most (the rest is flagged `truncated`). */
export const MAX_FIELD_CHANGES = 200;

/** Decodes a resource to JSON; a resource of a type this build cannot decode shows its size. */
export function decodeResource(typeUrl: string, bytes: Uint8Array): unknown {
  try {
    return decodeMessage(typeNameOf(typeUrl), bytes);
  } catch (err) {
    return { undecodable: err instanceof Error ? err.message : String(err), sizeBytes: bytes.length };
  }
}

export function contentOfSnapshot(snapshot: Snapshot): SnapshotContent {
  const out = new Map<string, TypeContent>();
  for (const typeUrl of snapshot.typeUrls()) {
    const set = snapshot.type(typeUrl)!;
    const resources = new Map<string, ResourceContent>();
    for (const [name, r] of set.resources) resources.set(name, lazyContent(name, r.version, () => decodeResource(typeUrl, r.bytes)));
    out.set(typeUrl, { version: set.version, resources });
  }
  return out;
}

export function lazyContent(name: string, version: string, decode: () => unknown): ResourceContent {
  let cached: { v: unknown } | undefined;
  return {
    name,
    version,
    json() {
      cached ??= { v: decode() };
      return cached.v;
    },
  };
}

/** Per type in push order: what changes from `from` to `to`. Types absent on both sides are skipped. */
export function diffContents(from: SnapshotContent, to: SnapshotContent): TypeDiff[] {
  const types = [...new Set([...from.keys(), ...to.keys()])].sort((a, b) => pushRank(a) - pushRank(b) || a.localeCompare(b));
  return types.map((typeUrl) => {
    const a = from.get(typeUrl);
    const b = to.get(typeUrl);
    const before = a?.resources ?? new Map<string, ResourceContent>();
    const after = b?.resources ?? new Map<string, ResourceContent>();
    const added = [...after.keys()].filter((n) => !before.has(n)).sort();
    const removed = [...before.keys()].filter((n) => !after.has(n)).sort();
    const changed: ResourceChange[] = [];
    let unchanged = 0;
    for (const name of [...after.keys()].sort()) {
      const old = before.get(name);
      const next = after.get(name)!;
      if (!old) continue;
      if (old.version === next.version) {
        unchanged++;
        continue;
      }
      const changes = diffJson(old.json(), next.json());
      changed.push({ name, fromVersion: old.version, toVersion: next.version, changes: changes.slice(0, MAX_FIELD_CHANGES), truncated: changes.length > MAX_FIELD_CHANGES });
    }
    return { typeUrl, type: shortName(typeUrl), fromVersion: a?.version ?? null, toVersion: b?.version ?? null, added, removed, changed, unchanged };
  });
}

export function isIdentical(types: readonly TypeDiff[]): boolean {
  return types.every((t) => t.added.length === 0 && t.removed.length === 0 && t.changed.length === 0 && t.fromVersion === t.toVersion);
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key that identifies elements of an array: the first of name, cluster_name, id, model that every element has, unique. */
function keyOf(items: readonly Json[]): string | undefined {
  for (const key of ['name', 'cluster_name', 'id', 'model']) {
    const seen = new Set<string>();
    let ok = items.length > 0;
    for (const item of items) {
      const v = isObject(item) ? item[key] : undefined;
      if (typeof v !== 'string' || seen.has(v)) {
        ok = false;
        break;
      }
      seen.add(v);
    }
    if (ok) return key;
  }
  return undefined;
}

function join(path: string, key: string): string {
  return /^[A-Za-z_@][\w@]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Field-level differences between two JSON values, in document order. Arrays whose elements all
 * carry a unique name (routes, virtual hosts, clusters) are matched by name, so inserting a route
 * reports one added route, not a shift of every later one; a changed order is reported too (route
 * order is match order).
 */
export function diffJson(a: Json, b: Json, path = ''): FieldChange[] {
  const out: FieldChange[] = [];
  walk(a, b, path, out);
  return out;
}

function walk(a: Json, b: Json, path: string, out: FieldChange[]): void {
  if (Array.isArray(a) && Array.isArray(b)) return walkArray(a, b, path, out);
  if (isObject(a) && isObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const k of keys) {
      const p = join(path, k);
      if (!(k in b)) out.push({ path: p, kind: 'removed', old: a[k] });
      else if (!(k in a)) out.push({ path: p, kind: 'added', new: b[k] });
      else walk(a[k], b[k], p, out);
    }
    return;
  }
  if (!sameJson(a, b)) out.push({ path: path || '.', kind: 'changed', old: a, new: b });
}

function walkArray(a: Json[], b: Json[], path: string, out: FieldChange[]): void {
  const ka = keyOf(a);
  const kb = keyOf(b);
  const candidate = ka ?? kb;
  const key = candidate !== undefined && (a.length === 0 || ka === candidate) && (b.length === 0 || kb === candidate) ? candidate : undefined;
  if (!key) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= b.length) out.push({ path: p, kind: 'removed', old: a[i] });
      else if (i >= a.length) out.push({ path: p, kind: 'added', new: b[i] });
      else walk(a[i], b[i], p, out);
    }
    return;
  }
  const id = (v: Json): string => (v as Record<string, string>)[key]!;
  const before = new Map(a.map((v) => [id(v), v]));
  const after = new Map(b.map((v) => [id(v), v]));
  const at = (name: string): string => `${path}[${key}=${name}]`;
  for (const v of a) if (!after.has(id(v))) out.push({ path: at(id(v)), kind: 'removed', old: v });
  for (const v of b) {
    const old = before.get(id(v));
    if (old === undefined) out.push({ path: at(id(v)), kind: 'added', new: v });
    else walk(old, v, at(id(v)), out);
  }
  const kept = a.map(id).filter((n) => after.has(n));
  const keptAfter = b.map(id).filter((n) => before.has(n));
  if (kept.join('\u0000') !== keptAfter.join('\u0000')) out.push({ path: path || '.', kind: 'reordered', old: kept, new: keptAfter });
}

function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
