// The on-disk format of one stored snapshot (xds-snapshots/<seq>-<version>.snap.json) and its
// verification. A file is served only if every check passes: it parses, its format version is
// known, its integrity digest matches its body, its shape is right, every resource decodes, and the
// versions recomputed from the stored bytes equal the recorded ones (and the file name).
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AggregateSwitchyardError, SwitchyardError } from '../errors/catalog.js';
import { snapshotFromEncoded, type StoredResource } from './restore.js';
import type { Snapshot } from './snapshot.js';

/** Format version written in every file; readers refuse versions they do not know. */
export const SNAPSHOT_FILE_FORMAT = 1;

export const SNAPSHOT_FILE_SUFFIX = '.snap.json';
/** `<seq, 8+ digits>-<version>.snap.json` */
export const SNAPSHOT_FILE_RE = /^(\d{8,})-([0-9a-f]{6,64})\.snap\.json$/;

export function snapshotFileName(seq: number, version: string): string {
  return `${String(seq).padStart(8, '0')}-${version}${SNAPSHOT_FILE_SUFFIX}`;
}

/** A rule file as the loader reports it: relative path and sha256 of its bytes. */
export interface RuleFileDigest {
  readonly path: string;
  readonly digest: string;
}

/** Rule files that differ from the previous saved version's. Paths sorted. */
export interface ChangedFiles {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

export interface StoredMeta {
  readonly seq: number;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Free form: "rules", "rollback", ... */
  readonly source: string;
  /** sha256 hex over the sorted `path\0digest` lines of the rule files; null when not given. */
  readonly filesDigest: string | null;
  readonly files: readonly RuleFileDigest[] | null;
  readonly changedFiles: ChangedFiles | null;
}

export interface SnapshotFileBody {
  readonly version: string;
  readonly typeVersions: Readonly<Record<string, string>>;
  /** In push order of types, then by name. `bytes` is base64 of the encoded message. */
  readonly resources: ReadonlyArray<{ readonly typeUrl: string; readonly name: string; readonly bytes: string }>;
  readonly meta: StoredMeta;
}

export type StoreProblemCode =
  | 'STORE_TRUNCATED'
  | 'STORE_GARBAGE'
  | 'STORE_INTEGRITY_MISMATCH'
  | 'STORE_UNKNOWN_FORMAT'
  | 'STORE_VERSION_MISMATCH'
  | 'STORE_BAD_RESOURCE'
  | 'STORE_UNREADABLE'
  | 'STORE_BAD_STATE';

export type ParsedSnapshotFile =
  | { readonly ok: true; readonly body: SnapshotFileBody; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly code: StoreProblemCode; readonly message: string };

/** sha256 hex over the sorted `path\0digest` lines (each line ends with "\n"). */
export function filesDigest(files: readonly RuleFileDigest[]): string {
  const h = createHash('sha256');
  for (const line of files.map((f) => `${f.path}\u0000${f.digest}`).sort()) h.update(line).update('\n');
  return h.digest('hex');
}

export function diffFiles(previous: readonly RuleFileDigest[], next: readonly RuleFileDigest[]): ChangedFiles {
  const before = new Map(previous.map((f) => [f.path, f.digest]));
  const after = new Map(next.map((f) => [f.path, f.digest]));
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [p, d] of after) {
    const old = before.get(p);
    if (old === undefined) added.push(p);
    else if (old !== d) changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) removed.push(p);
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort() };
}

/** JSON with object keys sorted at every level and no whitespace: the bytes the integrity digest covers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function integrityOf(body: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(body)).digest('hex')}`;
}

/** The file text for a snapshot and its metadata (a readable JSON document ending in a newline). */
export function encodeSnapshotFile(snapshot: Snapshot, meta: StoredMeta): string {
  const resources: Array<{ typeUrl: string; name: string; bytes: string }> = [];
  for (const typeUrl of snapshot.typeUrls()) {
    const set = snapshot.type(typeUrl)!;
    for (const name of set.names) {
      const r = set.resources.get(name)!;
      resources.push({ typeUrl, name, bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength).toString('base64') });
    }
  }
  const body: SnapshotFileBody = { version: snapshot.version, typeVersions: snapshot.typeVersions(), resources, meta };
  const file = { format: SNAPSHOT_FILE_FORMAT, integrity: integrityOf(body), body };
  return `${JSON.stringify(file, null, 1)}\n`;
}

const VERSION = z.string().regex(/^[0-9a-f]{6,64}$/);
const PATHS = z.array(z.string());
const BODY = z.strictObject({
  version: VERSION,
  typeVersions: z.record(z.string().min(1), VERSION),
  resources: z.array(z.strictObject({ typeUrl: z.string().min(1), name: z.string().min(1), bytes: z.string() })),
  meta: z.strictObject({
    seq: z.number().int().positive(),
    createdAt: z.iso.datetime({ offset: true }),
    source: z.string(),
    filesDigest: z.string().nullable(),
    files: z.array(z.strictObject({ path: z.string(), digest: z.string() })).nullable(),
    changedFiles: z.strictObject({ added: PATHS, changed: PATHS, removed: PATHS }).nullable(),
  }),
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fail(code: StoreProblemCode, message: string): ParsedSnapshotFile {
  return { ok: false, code, message };
}

/**
 * Why a text that JSON.parse refused does not parse: cut off (every bracket and string still open
 * at the end is consistent with a prefix of a valid document) or garbage.
 */
function classifyUnparsable(text: string): { code: StoreProblemCode; message: string } {
  const start = text.search(/\S/);
  if (start === -1) return { code: 'STORE_TRUNCATED', message: 'the file is empty' };
  if (text[start] !== '{') return { code: 'STORE_GARBAGE', message: 'the file is not a JSON document' };
  const stack: number[] = [];
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      else if (c < 0x20) return { code: 'STORE_GARBAGE', message: `control character in a string at offset ${i}` };
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) stack.push(c);
    else if (c === 0x7d || c === 0x5d) {
      if (stack.pop() !== (c === 0x7d ? 0x7b : 0x5b)) return { code: 'STORE_GARBAGE', message: `unbalanced bracket at offset ${i}` };
      if (stack.length === 0) return { code: 'STORE_GARBAGE', message: `the JSON document is malformed (the top-level object closes at offset ${i})` };
    } else if (!isJsonTokenChar(c)) return { code: 'STORE_GARBAGE', message: `unexpected byte 0x${c.toString(16)} at offset ${i}` };
  }
  return { code: 'STORE_TRUNCATED', message: `the JSON document ends early (${text.length} bytes, ${stack.length} open brackets${inString ? ', inside a string' : ''})` };
}

function isJsonTokenChar(c: number): boolean {
  // whitespace, digits, letters (true/false/null, exponents), , : . + -
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2c || c === 0x3a || c === 0x2e || c === 0x2b || c === 0x2d;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies and restores one stored snapshot file. `expected` comes from the file name; a body
 * that disagrees with it is refused. Never throws for bad content.
 */
export function parseSnapshotFile(bytes: Uint8Array, expected?: { seq: number; version: string }): ParsedSnapshotFile {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return fail('STORE_GARBAGE', 'the file is not UTF-8 text');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const { code, message } = classifyUnparsable(text);
    return fail(code, message);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return fail('STORE_GARBAGE', 'the JSON document is not an object');
  const top = doc as Record<string, unknown>;
  if (!('format' in top)) return fail('STORE_GARBAGE', 'the JSON document has no format field');
  if (top.format !== SNAPSHOT_FILE_FORMAT) return fail('STORE_UNKNOWN_FORMAT', `format ${JSON.stringify(top.format)} is not ${SNAPSHOT_FILE_FORMAT}`);
  if (typeof top.integrity !== 'string' || typeof top.body !== 'object' || top.body === null) return fail('STORE_GARBAGE', 'the document lacks its integrity digest or body');
  const actual = integrityOf(top.body);
  if (actual !== top.integrity) return fail('STORE_INTEGRITY_MISMATCH', `recorded integrity ${top.integrity}, content digests to ${actual}`);
  const shape = BODY.safeParse(top.body);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    return fail('STORE_GARBAGE', `malformed body at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const body = shape.data as SnapshotFileBody;

  const input: Record<string, StoredResource[]> = {};
  for (const t of Object.keys(body.typeVersions)) input[t] = [];
  for (const r of body.resources) {
    if (!BASE64.test(r.bytes) || r.bytes.length % 4 !== 0) return fail('STORE_BAD_RESOURCE', `${r.typeUrl} "${r.name}": bytes are not base64`);
    (input[r.typeUrl] ??= []).push({ name: r.name, bytes: Buffer.from(r.bytes, 'base64') });
  }
  let snapshot: Snapshot;
  try {
    snapshot = snapshotFromEncoded(input);
  } catch (err) {
    const list = err instanceof AggregateSwitchyardError ? err.errors : err instanceof SwitchyardError ? [err] : undefined;
    if (!list) return fail('STORE_BAD_RESOURCE', err instanceof Error ? err.message : String(err));
    const shown = list.slice(0, 5).map((e) => `${e.code}: ${e.message}`);
    if (list.length > shown.length) shown.push(`and ${list.length - shown.length} more`);
    return fail('STORE_BAD_RESOURCE', shown.join('; '));
  }
  if (snapshot.version !== body.version) {
    return fail('STORE_VERSION_MISMATCH', `recorded version ${body.version}, the stored resources give ${snapshot.version}`);
  }
  const recomputed = snapshot.typeVersions();
  if (!isDeepStrictEqual({ ...recomputed }, { ...body.typeVersions })) {
    const types = [...new Set([...Object.keys(recomputed), ...Object.keys(body.typeVersions)])].filter((t) => recomputed[t] !== body.typeVersions[t]);
    return fail('STORE_VERSION_MISMATCH', `recorded type versions differ from the stored resources for ${types.join(', ')}`);
  }
  if (expected && (expected.seq !== body.meta.seq || expected.version !== body.version)) {
    return fail('STORE_VERSION_MISMATCH', `the file name says seq ${expected.seq} version ${expected.version}, the content seq ${body.meta.seq} version ${body.version}`);
  }
  return { ok: true, body, snapshot };
}
