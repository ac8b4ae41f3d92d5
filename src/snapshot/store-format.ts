// The on-disk format of one stored snapshot (xds-snapshots/<seq>-<version>.snap) and its
// verification. Format 2 is binary, so a save costs one concatenation and one sha256 of the
// encoded resources (no base64, no canonical JSON):
//
//   switchyard-snapshot 2 sha256:<64 hex>\n     preamble; the digest covers every byte after it
//   {"version":..,"typeVersions":..,"meta":..,"types":[{"typeUrl":..,"resources":[[name,byteLength],..]}]}\n
//   <resource bytes>                           concatenated in header order, nothing after
//
// A file is served only if every check passes: the preamble and format are right, the lengths
// add up, the digest matches, the header has the right shape, every resource decodes, and the
// versions recomputed from the stored bytes equal the recorded ones (and the file name).
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AggregateSwitchyardError, SwitchyardError } from '../errors/catalog.js';
import { snapshotFromEncoded, type StoredResource } from './restore.js';
import type { Snapshot } from './snapshot.js';

/** Format version written in every file; readers refuse versions they do not know. */
export const SNAPSHOT_FILE_FORMAT = 2;

export const SNAPSHOT_FILE_SUFFIX = '.snap';
/** `<seq, 8+ digits>-<version>.snap` */
export const SNAPSHOT_FILE_RE = /^(\d{8,})-([0-9a-f]{6,64})\.snap$/;

/** Files of the JSON format 1 written by earlier releases: reported, never read nor deleted. */
export const LEGACY_SNAPSHOT_FILE_SUFFIX = '.snap.json';
export const LEGACY_SNAPSHOT_FILE_RE = /^(\d{8,})-([0-9a-f]{6,64})\.snap\.json$/;
export const LEGACY_FORMAT_MESSAGE =
  'written by an earlier Switchyard in the JSON format 1; this release reads format 2 (.snap) only, so it is never served. ' +
  'Versions are derived from content: the same rules compile to the same version again. Delete the file when no earlier release needs it';

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

/** The header line of a file: everything but the resource bytes. */
export interface SnapshotFileHeader {
  readonly version: string;
  readonly typeVersions: Readonly<Record<string, string>>;
  readonly meta: StoredMeta;
  /** In push order of types, then by name; the payload holds the bytes in this order. */
  readonly types: ReadonlyArray<{ readonly typeUrl: string; readonly resources: ReadonlyArray<readonly [name: string, byteLength: number]> }>;
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
  | { readonly ok: true; readonly header: SnapshotFileHeader; readonly resourceCount: number; readonly snapshot: Snapshot }
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

const MAGIC = 'switchyard-snapshot ';
/** `switchyard-snapshot 2 sha256:` + 64 hex + "\n": the preamble has a fixed length. */
const PREAMBLE_PREFIX = `${MAGIC}${SNAPSHOT_FILE_FORMAT} sha256:`;
const PREAMBLE_LENGTH = PREAMBLE_PREFIX.length + 64 + 1;
const NEWLINE = 0x0a;

/** The file bytes for a snapshot and its metadata. Resource bytes are copied once, by the concat. */
export function encodeSnapshotFile(snapshot: Snapshot, meta: StoredMeta): Buffer {
  const types: Array<{ typeUrl: string; resources: Array<[string, number]> }> = [];
  // [preamble, header, ...resources]; the first two are filled in once the rest is known.
  const parts: Uint8Array[] = [Buffer.alloc(0), Buffer.alloc(0)];
  let length = 0;
  for (const typeUrl of snapshot.typeUrls()) {
    const set = snapshot.type(typeUrl)!;
    const resources: Array<[string, number]> = [];
    for (const name of set.names) {
      const { bytes } = set.resources.get(name)!;
      resources.push([name, bytes.byteLength]);
      parts.push(bytes);
      length += bytes.byteLength;
    }
    types.push({ typeUrl, resources });
  }
  const header: SnapshotFileHeader = { version: snapshot.version, typeVersions: snapshot.typeVersions(), meta, types };
  // JSON.stringify without indentation escapes every newline, so the header is one line.
  const headerLine = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  const hash = createHash('sha256').update(headerLine);
  for (let i = 2; i < parts.length; i++) hash.update(parts[i]!);
  parts[0] = Buffer.from(`${PREAMBLE_PREFIX}${hash.digest('hex')}\n`, 'latin1');
  parts[1] = headerLine;
  return Buffer.concat(parts, PREAMBLE_LENGTH + headerLine.length + length);
}

const VERSION = z.string().regex(/^[0-9a-f]{6,64}$/);
const PATHS = z.array(z.string());
const HEADER = z.strictObject({
  version: VERSION,
  typeVersions: z.record(z.string().min(1), VERSION),
  meta: z.strictObject({
    seq: z.number().int().positive(),
    createdAt: z.iso.datetime({ offset: true }),
    source: z.string(),
    filesDigest: z.string().nullable(),
    files: z.array(z.strictObject({ path: z.string(), digest: z.string() })).nullable(),
    changedFiles: z.strictObject({ added: PATHS, changed: PATHS, removed: PATHS }).nullable(),
  }),
  types: z.array(
    z.strictObject({
      typeUrl: z.string().min(1),
      resources: z.array(z.tuple([z.string().min(1), z.number().int().nonnegative()])),
    }),
  ),
});

function fail(code: StoreProblemCode, message: string): ParsedSnapshotFile {
  return { ok: false, code, message };
}

function isLowerHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** Why the first line is not a format 2 preamble, or undefined when it is one. */
function preambleProblem(buf: Buffer): { code: StoreProblemCode; message: string } | undefined {
  if (buf.length === 0) return { code: 'STORE_TRUNCATED', message: 'the file is empty' };
  if (buf[0] === 0x7b) return { code: 'STORE_UNKNOWN_FORMAT', message: `a JSON document ${LEGACY_FORMAT_MESSAGE}` };
  const magic = Math.min(buf.length, MAGIC.length);
  if (buf.toString('latin1', 0, magic) !== MAGIC.slice(0, magic)) {
    return { code: 'STORE_GARBAGE', message: `the file does not start with "${MAGIC}" (not a Switchyard snapshot file)` };
  }
  let end = MAGIC.length;
  while (end < buf.length && end < MAGIC.length + 10 && buf[end]! >= 0x30 && buf[end]! <= 0x39) end++;
  const format = buf.toString('latin1', MAGIC.length, end);
  if (format !== '' && Number(format) !== SNAPSHOT_FILE_FORMAT) {
    return { code: 'STORE_UNKNOWN_FORMAT', message: `the file is in format ${format} (written by another Switchyard release); this release reads format ${SNAPSHOT_FILE_FORMAT} only` };
  }
  for (let i = 0; i < Math.min(buf.length, PREAMBLE_LENGTH); i++) {
    const c = buf[i]!;
    const ok = i < PREAMBLE_PREFIX.length ? c === PREAMBLE_PREFIX.charCodeAt(i) : i < PREAMBLE_LENGTH - 1 ? isLowerHex(c) : c === NEWLINE;
    if (!ok) return { code: 'STORE_GARBAGE', message: `the first line is not "${PREAMBLE_PREFIX}<64 hex digits>" (unexpected byte 0x${c.toString(16)} at offset ${i})` };
  }
  if (buf.length < PREAMBLE_LENGTH) return { code: 'STORE_TRUNCATED', message: `the file ends inside its first line (${buf.length} bytes)` };
  return undefined;
}

function digestOf(buf: Buffer): string {
  return createHash('sha256').update(buf.subarray(PREAMBLE_LENGTH)).digest('hex');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function readHeader(buf: Buffer, headerEnd: number): { header: SnapshotFileHeader } | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(UTF8.decode(buf.subarray(PREAMBLE_LENGTH, headerEnd)));
  } catch {
    return { problem: 'the header line is not UTF-8 JSON' };
  }
  const shape = HEADER.safeParse(doc);
  if (shape.success) return { header: shape.data };
  const issue = shape.error.issues[0];
  return { problem: `malformed header at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}

/**
 * Verifies and restores one stored snapshot file. `expected` comes from the file name; a file
 * whose content disagrees with it is refused. Never throws for bad content. The restored
 * resources are views into `bytes`.
 */
export function parseSnapshotFile(bytes: Uint8Array, expected?: { seq: number; version: string }): ParsedSnapshotFile {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = preambleProblem(buf);
  if (bad) return fail(bad.code, bad.message);
  const recorded = buf.toString('latin1', PREAMBLE_PREFIX.length, PREAMBLE_LENGTH - 1);

  const headerEnd = buf.indexOf(NEWLINE, PREAMBLE_LENGTH);
  if (headerEnd === -1) return fail('STORE_TRUNCATED', `the header line has no end (the file ends at byte ${buf.length})`);
  const read = readHeader(buf, headerEnd);
  if ('problem' in read) {
    // The lengths are unknown, so the digest decides: damaged after writing, or never a valid file.
    const actual = digestOf(buf);
    return actual === recorded
      ? fail('STORE_GARBAGE', read.problem)
      : fail('STORE_INTEGRITY_MISMATCH', `recorded integrity sha256:${recorded}, the content digests to sha256:${actual} (and ${read.problem})`);
  }
  const { header } = read;

  // Lengths before the digest, so a file cut short says so.
  let payload = 0;
  for (const t of header.types) for (const r of t.resources) payload += r[1];
  const expectedLength = headerEnd + 1 + payload;
  if (buf.length < expectedLength) {
    return fail('STORE_TRUNCATED', `the file ends early: the header lists ${payload} bytes of resources, ${buf.length - headerEnd - 1} follow it`);
  }
  if (buf.length > expectedLength) {
    return fail('STORE_GARBAGE', `${buf.length - expectedLength} trailing bytes after the last resource the header lists`);
  }
  const actual = digestOf(buf);
  if (actual !== recorded) return fail('STORE_INTEGRITY_MISMATCH', `recorded integrity sha256:${recorded}, the content digests to sha256:${actual}`);

  const input: Record<string, StoredResource[]> = Object.create(null) as Record<string, StoredResource[]>; // type URLs come from the file
  let offset = headerEnd + 1;
  let resourceCount = 0;
  for (const t of header.types) {
    if (Object.hasOwn(input, t.typeUrl)) return fail('STORE_GARBAGE', `the header lists type ${t.typeUrl} twice`);
    input[t.typeUrl] = t.resources.map(([name, length]) => {
      const r = { name, bytes: buf.subarray(offset, offset + length) };
      offset += length;
      return r;
    });
    resourceCount += t.resources.length;
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
  if (snapshot.version !== header.version) {
    return fail('STORE_VERSION_MISMATCH', `recorded version ${header.version}, the stored resources give ${snapshot.version}`);
  }
  const recomputed = snapshot.typeVersions();
  if (!isDeepStrictEqual({ ...recomputed }, { ...header.typeVersions })) {
    const types = [...new Set([...Object.keys(recomputed), ...Object.keys(header.typeVersions)])].filter((t) => recomputed[t] !== header.typeVersions[t]);
    return fail('STORE_VERSION_MISMATCH', `recorded type versions differ from the stored resources for ${types.join(', ')}`);
  }
  if (expected && (expected.seq !== header.meta.seq || expected.version !== header.version)) {
    return fail('STORE_VERSION_MISMATCH', `the file name says seq ${expected.seq} version ${expected.version}, the content seq ${header.meta.seq} version ${header.version}`);
  }
  return { ok: true, header, resourceCount, snapshot };
}
