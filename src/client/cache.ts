// The on-disk copy of the last good resolver table, for cold starts while the control plane is
// unreachable. One JSON file holding the table's protobuf bytes exactly as the control plane sent
// them, its version and a SHA-256 of the bytes:
//
//   { "format": "switchyard-resolver-cache/v1", "typeUrl": "type.googleapis.com/switchyard.v1.ResolverTable",
//     "name": "resolver-table", "version": "…", "savedAt": "…", "sha256": "…", "table": "<base64>" }
//
// Writes are atomic: a temporary file in the same directory, fsync, rename over the target, then
// fsync of the directory, so a crash leaves either the old file or the new one, never a torn one.
// Reads verify the format, the type and the digest; the caller then decodes and compiles the
// bytes like any table from ADS.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TypeUrl } from '../proto/type-urls.js';
import { RESOLVER_TABLE_RESOURCE_NAME } from '../resolver/table-message.js';

export const CACHE_FORMAT = 'switchyard-resolver-cache/v1';

export interface CachedTable {
  readonly version: string;
  /** switchyard.v1.ResolverTable bytes. */
  readonly bytes: Uint8Array;
  /** When the table was written (ISO 8601). */
  readonly savedAt: string;
}

interface CacheEnvelope {
  format: string;
  typeUrl: string;
  name: string;
  version: string;
  savedAt: string;
  sha256: string;
  table: string;
}

/** The cache file exists but cannot be used. */
export class CorruptCacheError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`resolver cache ${file} is unusable: ${detail}`);
    this.name = 'CorruptCacheError';
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Serializes a table for the cache file. */
export function encodeCache(table: { version: string; bytes: Uint8Array }, savedAt = new Date()): string {
  const envelope: CacheEnvelope = {
    format: CACHE_FORMAT,
    typeUrl: TypeUrl.ResolverTable,
    name: RESOLVER_TABLE_RESOURCE_NAME,
    version: table.version,
    savedAt: savedAt.toISOString(),
    sha256: sha256(table.bytes),
    table: Buffer.from(table.bytes).toString('base64'),
  };
  return `${JSON.stringify(envelope, null, 2)}\n`;
}

/** Parses and checks cache file text; throws CorruptCacheError. */
export function decodeCache(file: string, text: string): CachedTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CorruptCacheError(file, `not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CorruptCacheError(file, 'not a JSON object');
  const e = raw as Partial<Record<keyof CacheEnvelope, unknown>>;
  if (e.format !== CACHE_FORMAT) throw new CorruptCacheError(file, `format is ${JSON.stringify(e.format)}, expected "${CACHE_FORMAT}"`);
  if (e.typeUrl !== TypeUrl.ResolverTable) throw new CorruptCacheError(file, `typeUrl is ${JSON.stringify(e.typeUrl)}`);
  if (e.name !== RESOLVER_TABLE_RESOURCE_NAME) throw new CorruptCacheError(file, `name is ${JSON.stringify(e.name)}`);
  for (const k of ['version', 'savedAt', 'sha256', 'table'] as const) {
    if (typeof e[k] !== 'string' || (e[k] as string).length === 0) throw new CorruptCacheError(file, `field "${k}" is missing or not a string`);
  }
  const bytes = Buffer.from(e.table as string, 'base64');
  if (bytes.toString('base64') !== e.table) throw new CorruptCacheError(file, 'field "table" is not canonical base64');
  if (sha256(bytes) !== e.sha256) throw new CorruptCacheError(file, 'the table bytes do not match their sha256 (truncated or edited file)');
  return { version: e.version as string, bytes: new Uint8Array(bytes), savedAt: e.savedAt as string };
}

/** Reads the cache; undefined when the file does not exist. Throws CorruptCacheError otherwise. */
export async function readCache(file: string): Promise<CachedTable | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CorruptCacheError(file, `cannot be read (${(err as Error).message})`);
  }
  return decodeCache(file, text);
}

/** Writes the cache atomically (temp file, fsync, rename, directory fsync). */
export async function writeCache(file: string, table: { version: string; bytes: Uint8Array }): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(encodeCache(table), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // Make the rename itself durable. Not every platform can fsync a directory: best effort.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // e.g. Windows; the file content is already durable.
  }
}
