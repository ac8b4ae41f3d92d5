// Versioned snapshot history on disk (xds-snapshots/): one verified file per version, the pinned
// and live versions, and the recent rejected change sets. Files are written atomically and
// verified on every read; a damaged file is reported and skipped, never served.
//
// Layout of the directory:
//   00000042-<version>.snap        one snapshot (see store-format.ts), sequence number first
//   *.snap.json                    format 1 files of earlier releases: listed as problems, kept
//   state.json                     { format, pinned, live, lastSeq, updatedAt }
//   rejections.jsonl               the last N rejected change sets, oldest first, one JSON per line
//   .<name>.<pid>.<rand>.tmp       in-flight writes; leftovers of a crash are removed on open
//
// One process writes a directory at a time: mutations are serialized inside a store instance, and
// opening a store removes every leftover temp file, including one another writer has in flight.
import { readdir, readFile, mkdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { AggregateSwitchyardError, SwitchyardError } from '../errors/catalog.js';
import { checkConsistency } from './consistency.js';
import type { Snapshot } from './snapshot.js';
import {
  LEGACY_FORMAT_MESSAGE,
  LEGACY_SNAPSHOT_FILE_RE,
  LEGACY_SNAPSHOT_FILE_SUFFIX,
  SNAPSHOT_FILE_RE,
  SNAPSHOT_FILE_SUFFIX,
  diffFiles,
  encodeSnapshotFile,
  filesDigest,
  parseSnapshotFile,
  snapshotFileName,
  type ChangedFiles,
  type RuleFileDigest,
  type StoreProblemCode,
  type StoredMeta,
} from './store-format.js';
import { TEMP_FILE_RE, fsyncDir, isCode, writeFileAtomic } from './store-fs.js';

export { filesDigest, diffFiles, SNAPSHOT_FILE_FORMAT } from './store-format.js';
export type { ChangedFiles, RuleFileDigest, StoreProblemCode } from './store-format.js';

export const DEFAULT_SNAPSHOT_DIR = 'xds-snapshots';
export const STATE_FILE = 'state.json';
export const REJECTIONS_FILE = 'rejections.jsonl';
export const DEFAULT_MAX_REJECTIONS = 100;
/** Shortest version prefix load() and pin() accept. */
export const MIN_VERSION_PREFIX = 6;

export interface RetentionPolicy {
  /** Keep at most this many snapshots (the newest ones), besides the live and pinned ones. */
  readonly maxCount: number;
  /** Delete snapshots older than this, except the live, the pinned and the newest one. */
  readonly maxAgeMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({ maxCount: 50, maxAgeMs: 30 * 24 * 60 * 60 * 1000 });

export interface SnapshotStoreOptions {
  /** Default `xds-snapshots` (relative to the working directory). */
  dir?: string;
  /** Default silent. */
  logger?: Logger;
  retention?: Partial<RetentionPolicy>;
  /** Rejected change sets kept in rejections.jsonl (default 100). */
  maxRejections?: number;
  /** Time source for createdAt and rejection times (tests). */
  clock?: () => Date;
}

export interface SaveMeta {
  /** Default "rules". */
  source?: string;
  /** The rule files the snapshot was compiled from; gives filesDigest and changedFiles. */
  files?: readonly RuleFileDigest[];
  /** Default: the store's clock. */
  createdAt?: Date;
}

export interface SnapshotEntry {
  readonly seq: number;
  readonly version: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly typeVersions: Readonly<Record<string, string>>;
  /** sha256 over the sorted `path\0digest` lines of the rule files; null when not recorded. */
  readonly filesDigest: string | null;
  /** Versus the newest earlier snapshot that recorded its files (all "added" for the first one); null when not recorded. */
  readonly changedFiles: ChangedFiles | null;
  readonly source: string;
  /** Size of the file on disk. */
  readonly sizeBytes: number;
  /** File name inside the store directory. */
  readonly file: string;
  readonly resourceCount: number;
}

export interface StoreProblem {
  readonly code: StoreProblemCode;
  /** File name inside the store directory. */
  readonly file: string;
  readonly message: string;
}

export interface StoreListing {
  /** Valid snapshots, newest (highest seq) first. */
  readonly entries: SnapshotEntry[];
  /** One per damaged file (and for a damaged state.json); those files are never served. */
  readonly problems: StoreProblem[];
}

export interface SaveResult {
  readonly entry: SnapshotEntry;
  /** False when this version was already stored (no file written). */
  readonly created: boolean;
}

export interface PruneResult {
  readonly deleted: SnapshotEntry[];
  readonly kept: SnapshotEntry[];
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly entry: SnapshotEntry;
}

/** One problem of a rejected change set, in the shape of the pipeline's issues. */
export interface RejectedIssue {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly stage?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export interface RejectionInput {
  readonly errors: readonly RejectedIssue[];
  /** The rule files of the rejected change set; gives filesDigest and changedFiles. */
  readonly files?: readonly RuleFileDigest[];
  /** When the files are not given. */
  readonly filesDigest?: string;
  /** The version that kept serving. */
  readonly liveVersion?: string;
  /** Default: the store's clock. */
  readonly at?: Date;
}

export interface RejectionRecord {
  /** ISO 8601. */
  readonly at: string;
  readonly filesDigest: string | null;
  /** Versus the newest stored snapshot that recorded its files; null when unknown. */
  readonly changedFiles: ChangedFiles | null;
  readonly liveVersion: string | null;
  readonly errors: readonly RejectedIssue[];
}

interface StoreState {
  pinned: string | null;
  live: string | null;
  lastSeq: number;
}

const STATE_FORMAT = 1;
const STATE_SCHEMA = z.object({
  format: z.literal(STATE_FORMAT),
  pinned: z.string().nullable(),
  live: z.string().nullable(),
  lastSeq: z.number().int().nonnegative(),
});

const ISSUE_SCHEMA = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  stage: z.string().optional(),
  file: z.string().optional(),
  line: z.number().optional(),
  column: z.number().optional(),
});
const CHANGED_SCHEMA = z.object({ added: z.array(z.string()), changed: z.array(z.string()), removed: z.array(z.string()) });
const REJECTION_SCHEMA = z.object({
  at: z.string(),
  filesDigest: z.string().nullable(),
  changedFiles: CHANGED_SCHEMA.nullable(),
  liveVersion: z.string().nullable(),
  errors: z.array(ISSUE_SCHEMA),
});

/** A verified file, as the last scan saw it. */
interface ValidRecord {
  readonly entry: SnapshotEntry;
  readonly files: readonly RuleFileDigest[] | null;
}

type ScanResult = { readonly valid: ValidRecord } | { readonly problem: StoreProblem };

interface CachedScan {
  /** size, mtime and inode: a rewritten file is verified again. */
  readonly stamp: string;
  readonly result: ScanResult;
}

interface Scan {
  /** Newest first. */
  readonly records: ValidRecord[];
  readonly problems: StoreProblem[];
  /** Highest sequence number in any snapshot file name, damaged or not. */
  readonly maxSeq: number;
}

function stampOf(s: { size: number; mtimeMs: number; ino: number }): string {
  return `${s.size}:${s.mtimeMs}:${s.ino}`;
}

function entryOf(file: string, sizeBytes: number, version: string, typeVersions: Record<string, string>, resourceCount: number, meta: StoredMeta): SnapshotEntry {
  return Object.freeze({
    seq: meta.seq,
    version,
    createdAt: meta.createdAt,
    typeVersions: Object.freeze({ ...typeVersions }),
    filesDigest: meta.filesDigest,
    changedFiles: meta.changedFiles,
    source: meta.source,
    sizeBytes,
    file,
    resourceCount,
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SnapshotStore {
  readonly dir: string;
  private readonly log: Logger;
  private readonly retention: RetentionPolicy;
  private readonly maxRejections: number;
  private readonly clock: () => Date;
  private initializing: Promise<void> | undefined;
  private state: StoreState = { pinned: null, live: null, lastSeq: 0 };
  private stateProblem: StoreProblem | undefined;
  private readonly cache = new Map<string, CachedScan>();
  /** `file@stamp` of damaged files already logged. */
  private readonly reported = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();

  /** Creates the store and opens its directory (creating it, removing leftover temp files). */
  static async open(options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    const store = new SnapshotStore(options);
    await store.ready();
    return store;
  }

  /** The directory is opened lazily by the first call; use {@link SnapshotStore.open} to open it eagerly. */
  constructor(options: SnapshotStoreOptions = {}) {
    this.dir = path.resolve(options.dir ?? DEFAULT_SNAPSHOT_DIR);
    this.log = options.logger ?? pino({ level: 'silent' });
    this.retention = checkRetention({ ...DEFAULT_RETENTION, ...options.retention });
    this.maxRejections = options.maxRejections ?? DEFAULT_MAX_REJECTIONS;
    if (!Number.isInteger(this.maxRejections) || this.maxRejections < 1) throw new RangeError(`maxRejections must be a positive integer, got ${this.maxRejections}`);
    this.clock = options.clock ?? (() => new Date());
  }

  // ---- snapshots

  /**
   * Stores a snapshot (idempotent: a version already stored returns its entry and writes
   * nothing). Refuses a snapshot with dangling references.
   */
  save(snapshot: Snapshot, meta: SaveMeta = {}): Promise<SaveResult> {
    return this.exclusive(async () => {
      const dangling = checkConsistency(snapshot);
      if (dangling.length > 0) throw new AggregateSwitchyardError(dangling);
      const scan = await this.scan();
      const existing = scan.records.find((r) => r.entry.version === snapshot.version);
      if (existing) {
        this.log.info({ event: 'snapshot_save', created: false, seq: existing.entry.seq, version: snapshot.version, file: existing.entry.file }, 'snapshot version already stored');
        return { entry: existing.entry, created: false };
      }
      const seq = Math.max(scan.maxSeq, this.state.lastSeq) + 1;
      const files = meta.files ? [...meta.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, digest: f.digest })) : null;
      const previous = scan.records.find((r) => r.files !== null);
      const stored: StoredMeta = {
        seq,
        createdAt: (meta.createdAt ?? this.clock()).toISOString(),
        source: meta.source ?? 'rules',
        filesDigest: files ? filesDigest(files) : null,
        files,
        changedFiles: files ? diffFiles(previous?.files ?? [], files) : null,
      };
      const name = snapshotFileName(seq, snapshot.version);
      // The bytes are the snapshot's own encodings, so the file restores to this version (the
      // round trip is tested); re-parsing it here would double the cost of every publish.
      const bytes = encodeSnapshotFile(snapshot, stored);
      try {
        await writeFileAtomic(this.dir, name, bytes);
      } catch (err) {
        throw new SwitchyardError('STORE_WRITE_FAILED', `writing ${path.join(this.dir, name)}: ${errorMessage(err)}`);
      }
      let resourceCount = 0;
      for (const t of snapshot.typeUrls()) resourceCount += snapshot.type(t)!.names.length;
      const valid: ValidRecord = { entry: entryOf(name, bytes.length, snapshot.version, snapshot.typeVersions(), resourceCount, stored), files };
      const st = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (st) this.cache.set(name, { stamp: stampOf(st), result: { valid } });
      await this.writeState({ ...this.state, lastSeq: seq });
      this.log.info(
        {
          event: 'snapshot_save',
          created: true,
          seq,
          version: snapshot.version,
          file: name,
          bytes: bytes.length,
          source: stored.source,
          filesDigest: stored.filesDigest,
          changedFiles: stored.changedFiles,
        },
        'snapshot stored',
      );
      return { entry: valid.entry, created: true };
    });
  }

  /** Valid snapshots newest first, and one problem per damaged file. Never throws for a damaged file. */
  async list(): Promise<StoreListing> {
    await this.ready();
    const scan = await this.scan();
    return { entries: scan.records.map((r) => r.entry), problems: scan.problems };
  }

  /** Loads a stored snapshot by version or unique prefix (>= 6 characters), verifying the file again. */
  async load(version: string): Promise<Snapshot> {
    return (await this.loadEntry(version)).snapshot;
  }

  /** Like {@link load}, with the entry. */
  async loadEntry(version: string): Promise<LoadedSnapshot> {
    await this.ready();
    const scan = await this.scan();
    const record = this.resolve(scan, version);
    return this.loadRecord(record);
  }

  /** The newest snapshot that verifies, skipping damaged files; undefined when there is none. */
  async loadNewestValid(): Promise<LoadedSnapshot | undefined> {
    await this.ready();
    const scan = await this.scan();
    for (const record of scan.records) {
      const loaded = await this.loadRecord(record).catch(() => undefined);
      if (loaded) return loaded;
    }
    return undefined;
  }

  /**
   * What to serve after a restart: the pinned version, else the live one, else the newest valid
   * one (each only if its file verifies).
   */
  async loadStartup(): Promise<(LoadedSnapshot & { readonly reason: 'pinned' | 'live' | 'newest' }) | undefined> {
    await this.ready();
    for (const reason of ['pinned', 'live'] as const) {
      const version = this.state[reason];
      if (!version) continue;
      try {
        return { ...(await this.loadEntry(version)), reason };
      } catch (err) {
        this.log.warn({ event: 'snapshot_startup_skip', reason, version, error: errorMessage(err) }, `the ${reason} snapshot cannot be loaded`);
      }
    }
    const newest = await this.loadNewestValid();
    return newest && { ...newest, reason: 'newest' };
  }

  /**
   * Deletes the oldest snapshots beyond `maxCount` and those older than `maxAgeMs`, never the live
   * or the pinned version, and never the newest valid snapshot. Damaged files are left for an
   * operator to inspect (list() reports them).
   */
  async prune(policy: Partial<RetentionPolicy> = {}, now: Date = this.clock()): Promise<PruneResult> {
    const effective = checkRetention({ ...this.retention, ...policy });
    return this.exclusive(async () => {
      const scan = await this.scan();
      const keepVersions = new Set([this.state.live, this.state.pinned].filter((v): v is string => v !== null));
      const deleted: SnapshotEntry[] = [];
      const kept: SnapshotEntry[] = [];
      for (const [i, { entry }] of scan.records.entries()) {
        const tooMany = i >= effective.maxCount;
        const tooOld = now.getTime() - Date.parse(entry.createdAt) > effective.maxAgeMs;
        if (i === 0 || keepVersions.has(entry.version) || !(tooMany || tooOld)) {
          kept.push(entry);
          continue;
        }
        try {
          await unlink(path.join(this.dir, entry.file));
        } catch (err) {
          if (!isCode(err, 'ENOENT')) throw new SwitchyardError('STORE_WRITE_FAILED', `deleting ${path.join(this.dir, entry.file)}: ${errorMessage(err)}`);
        }
        this.cache.delete(entry.file);
        deleted.push(entry);
      }
      if (deleted.length > 0) await fsyncDir(this.dir);
      this.log.info(
        {
          event: 'snapshot_prune',
          deleted: deleted.map((e) => ({ seq: e.seq, version: e.version, createdAt: e.createdAt })),
          kept: kept.length,
          maxCount: effective.maxCount,
          maxAgeMs: effective.maxAgeMs,
          live: this.state.live,
          pinned: this.state.pinned,
        },
        deleted.length > 0 ? 'pruned stored snapshots' : 'nothing to prune',
      );
      return { deleted, kept };
    });
  }

  // ---- pin and live

  /** Pins a stored version (full or unique prefix); persisted in state.json. Returns its entry. */
  pin(version: string): Promise<SnapshotEntry> {
    return this.exclusive(async () => {
      const record = this.resolve(await this.scan(), version);
      await this.writeState({ ...this.state, pinned: record.entry.version });
      this.log.info({ event: 'snapshot_pin', version: record.entry.version, seq: record.entry.seq }, 'snapshot version pinned');
      return record.entry;
    });
  }

  unpin(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.pinned === null && !this.stateProblem) return;
      const was = this.state.pinned;
      await this.writeState({ ...this.state, pinned: null });
      this.log.info({ event: 'snapshot_unpin', version: was }, 'snapshot pin removed');
    });
  }

  async pinnedVersion(): Promise<string | undefined> {
    await this.ready();
    return this.state.pinned ?? undefined;
  }

  /** Records the version being served (kept by prune, preferred at startup after the pinned one). */
  setLive(version: string): Promise<void> {
    return this.exclusive(async () => {
      if (this.state.live === version && !this.stateProblem) return;
      await this.writeState({ ...this.state, live: version });
    });
  }

  async liveVersion(): Promise<string | undefined> {
    await this.ready();
    return this.state.live ?? undefined;
  }

  // ---- rejections

  /** Appends a rejected change set to rejections.jsonl, keeping the newest `maxRejections`. */
  recordRejection(input: RejectionInput): Promise<RejectionRecord> {
    return this.exclusive(async () => {
      const files = input.files ? input.files.map((f) => ({ path: f.path, digest: f.digest })) : undefined;
      let changedFiles: ChangedFiles | null = null;
      if (files) {
        const previous = (await this.scan()).records.find((r) => r.files !== null);
        changedFiles = previous ? diffFiles(previous.files ?? [], files) : null;
      }
      const record: RejectionRecord = {
        at: (input.at ?? this.clock()).toISOString(),
        filesDigest: files ? filesDigest(files) : (input.filesDigest ?? null),
        changedFiles,
        liveVersion: input.liveVersion ?? null,
        errors: input.errors.map((e) => ({
          code: e.code,
          message: e.message,
          ...(e.hint !== undefined && { hint: e.hint }),
          ...(e.stage !== undefined && { stage: e.stage }),
          ...(e.file !== undefined && { file: e.file }),
          ...(e.line !== undefined && { line: e.line }),
          ...(e.column !== undefined && { column: e.column }),
        })),
      };
      const all = [...(await this.readRejections()), record].slice(-this.maxRejections);
      const text = all.map((r) => JSON.stringify(r)).join('\n') + '\n';
      try {
        await writeFileAtomic(this.dir, REJECTIONS_FILE, text);
      } catch (err) {
        throw new SwitchyardError('STORE_WRITE_FAILED', `writing ${path.join(this.dir, REJECTIONS_FILE)}: ${errorMessage(err)}`);
      }
      this.log.info(
        { event: 'rejection_recorded', at: record.at, errors: record.errors.length, filesDigest: record.filesDigest, liveVersion: record.liveVersion, kept: all.length },
        'rejected change set recorded',
      );
      return record;
    });
  }

  /** Recorded rejections, newest first. Damaged lines are skipped. */
  async listRejections(): Promise<RejectionRecord[]> {
    await this.ready();
    return (await this.readRejections()).reverse();
  }

  // ---- internals

  private ready(): Promise<void> {
    this.initializing ??= this.init().catch((err: unknown) => {
      this.initializing = undefined;
      throw err;
    });
    return this.initializing;
  }

  private async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (!TEMP_FILE_RE.test(name)) continue;
      await unlink(path.join(this.dir, name)).catch((err: unknown) => {
        if (!isCode(err, 'ENOENT')) throw err;
      });
      this.log.warn({ event: 'snapshot_store_temp_removed', file: name, dir: this.dir }, 'removed a temp file left by an interrupted write');
    }
    await this.readState();
  }

  /** Runs mutations one at a time, after the store is open. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(
      () => this.ready().then(fn),
      () => this.ready().then(fn),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async readState(): Promise<void> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, STATE_FILE), 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      this.setStateProblem('STORE_UNREADABLE', errorMessage(err));
      return;
    }
    let parsed;
    try {
      parsed = STATE_SCHEMA.safeParse(JSON.parse(text));
    } catch {
      this.setStateProblem('STORE_BAD_STATE', 'state.json is not JSON; pin and live version are lost');
      return;
    }
    if (!parsed.success) {
      this.setStateProblem('STORE_BAD_STATE', `state.json is malformed (${parsed.error.issues[0]?.message ?? 'invalid'}); pin and live version are lost`);
      return;
    }
    this.state = { pinned: parsed.data.pinned, live: parsed.data.live, lastSeq: parsed.data.lastSeq };
  }

  private setStateProblem(code: StoreProblemCode, message: string): void {
    this.stateProblem = { code, file: STATE_FILE, message };
    this.log.error({ event: 'snapshot_store_state_damaged', code, file: STATE_FILE, dir: this.dir, message }, message);
  }

  private async writeState(next: StoreState): Promise<void> {
    const doc = { format: STATE_FORMAT, pinned: next.pinned, live: next.live, lastSeq: next.lastSeq, updatedAt: this.clock().toISOString() };
    try {
      await writeFileAtomic(this.dir, STATE_FILE, `${JSON.stringify(doc, null, 2)}\n`);
    } catch (err) {
      throw new SwitchyardError('STORE_WRITE_FAILED', `writing ${path.join(this.dir, STATE_FILE)}: ${errorMessage(err)}`);
    }
    this.state = { ...next };
    this.stateProblem = undefined;
  }

  private async readRejections(): Promise<RejectionRecord[]> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, REJECTIONS_FILE), 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return [];
      throw new SwitchyardError('STORE_UNREADABLE', `reading ${path.join(this.dir, REJECTIONS_FILE)}: ${errorMessage(err)}`);
    }
    const out: RejectionRecord[] = [];
    let damaged = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const parsed = REJECTION_SCHEMA.safeParse(JSON.parse(line));
        if (parsed.success) out.push(parsed.data as RejectionRecord);
        else damaged++;
      } catch {
        damaged++;
      }
    }
    if (damaged > 0) {
      this.log.warn({ event: 'snapshot_store_state_damaged', code: 'STORE_BAD_STATE', file: REJECTIONS_FILE, damagedLines: damaged }, 'skipped damaged lines of the rejection log');
    }
    return out;
  }

  /** Verifies every snapshot file (each at most once while it is unchanged). */
  private async scan(): Promise<Scan> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      throw new SwitchyardError('STORE_UNREADABLE', `reading ${this.dir}: ${errorMessage(err)}`);
    }
    const records: ValidRecord[] = [];
    const problems: StoreProblem[] = [];
    if (this.stateProblem) problems.push(this.stateProblem);
    let maxSeq = 0;
    const present = new Set<string>();
    for (const name of names.sort()) {
      const legacy = name.endsWith(LEGACY_SNAPSHOT_FILE_SUFFIX);
      if (!(legacy || name.endsWith(SNAPSHOT_FILE_SUFFIX)) || TEMP_FILE_RE.test(name)) continue;
      present.add(name);
      const match = (legacy ? LEGACY_SNAPSHOT_FILE_RE : SNAPSHOT_FILE_RE).exec(name);
      // Legacy names count too: a new file never takes the sequence number of an old one.
      if (match) maxSeq = Math.max(maxSeq, Number(match[1]));
      const result = await this.scanFile(name, match, legacy);
      if (!result) continue;
      if ('valid' in result) records.push(result.valid);
      else problems.push(result.problem);
    }
    for (const name of this.cache.keys()) if (!present.has(name)) this.cache.delete(name);
    records.sort((a, b) => b.entry.seq - a.entry.seq);
    return { records, problems, maxSeq };
  }

  private async scanFile(name: string, match: RegExpExecArray | null, legacy: boolean): Promise<ScanResult | undefined> {
    const full = path.join(this.dir, name);
    let st;
    try {
      st = await stat(full);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined; // deleted meanwhile
      return this.problem(name, 'unreadable', 'STORE_UNREADABLE', errorMessage(err));
    }
    if (!st.isFile()) return this.problem(name, 'not-a-file', 'STORE_GARBAGE', 'not a regular file');
    const stamp = stampOf(st);
    const cached = this.cache.get(name);
    if (cached?.stamp === stamp) return cached.result;
    let result: ScanResult;
    if (legacy) {
      // Not read: the name says it all, and the file stays for an earlier release to use.
      result = this.problem(name, stamp, 'STORE_UNKNOWN_FORMAT', `a ${LEGACY_SNAPSHOT_FILE_SUFFIX} file ${LEGACY_FORMAT_MESSAGE}`);
    } else if (!match) {
      result = this.problem(name, stamp, 'STORE_GARBAGE', `file name does not match <seq>-<version>${SNAPSHOT_FILE_SUFFIX}`);
    } else {
      let bytes: Buffer;
      try {
        bytes = await readFile(full);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return undefined;
        return this.problem(name, stamp, 'STORE_UNREADABLE', errorMessage(err));
      }
      const parsed = parseSnapshotFile(bytes, { seq: Number(match[1]), version: match[2]! });
      result = parsed.ok
        ? { valid: { entry: entryOf(name, bytes.length, parsed.header.version, parsed.header.typeVersions, parsed.resourceCount, parsed.header.meta), files: parsed.header.meta.files } }
        : this.problem(name, stamp, parsed.code, parsed.message);
    }
    this.cache.set(name, { stamp, result });
    return result;
  }

  /** A damaged file: logged once per file content, reported by every list(). */
  private problem(file: string, stamp: string, code: StoreProblemCode, message: string): { problem: StoreProblem } {
    const key = `${file}@${stamp}`;
    if (!this.reported.has(key)) {
      this.reported.add(key);
      this.log.warn({ event: 'snapshot_file_corrupt', code, file, dir: this.dir, message }, 'skipping a damaged snapshot file');
    }
    return { problem: { code, file, message } };
  }

  private resolve(scan: Scan, ref: string): ValidRecord {
    const exact = scan.records.find((r) => r.entry.version === ref);
    if (exact) return exact;
    const damaged = scan.problems.filter((p) => ref.length >= MIN_VERSION_PREFIX && (SNAPSHOT_FILE_RE.exec(p.file) ?? LEGACY_SNAPSHOT_FILE_RE.exec(p.file))?.[2]?.startsWith(ref));
    const inDamaged = damaged.length > 0 ? `; stored only in damaged file(s): ${damaged.map((p) => `${p.file} (${p.code})`).join(', ')}` : '';
    if (ref.length < MIN_VERSION_PREFIX || !/^[0-9a-f]+$/.test(ref)) {
      throw new SwitchyardError('STORE_UNKNOWN_VERSION', `"${ref}" is not a stored version nor a hex prefix of at least ${MIN_VERSION_PREFIX} characters`);
    }
    const versions = new Map<string, ValidRecord>();
    for (const r of scan.records) if (r.entry.version.startsWith(ref) && !versions.has(r.entry.version)) versions.set(r.entry.version, r);
    if (versions.size === 0) throw new SwitchyardError('STORE_UNKNOWN_VERSION', `no valid stored snapshot has version ${ref}${inDamaged}`);
    if (versions.size > 1) throw new SwitchyardError('STORE_AMBIGUOUS_VERSION', `prefix ${ref} matches versions ${[...versions.keys()].join(', ')}`);
    return [...versions.values()][0]!;
  }

  private async loadRecord(record: ValidRecord): Promise<LoadedSnapshot> {
    const { entry } = record;
    const full = path.join(this.dir, entry.file);
    let bytes: Buffer;
    let stamp: string;
    try {
      [bytes, stamp] = await Promise.all([readFile(full), stat(full).then(stampOf)]);
    } catch (err) {
      throw new SwitchyardError(isCode(err, 'ENOENT') ? 'STORE_UNKNOWN_VERSION' : 'STORE_UNREADABLE', `reading ${full}: ${errorMessage(err)}`);
    }
    const parsed = parseSnapshotFile(bytes, { seq: entry.seq, version: entry.version });
    if (!parsed.ok) {
      const result = this.problem(entry.file, stamp, parsed.code, parsed.message);
      this.cache.set(entry.file, { stamp, result });
      throw new SwitchyardError(parsed.code, `${entry.file}: ${parsed.message}`);
    }
    return { snapshot: parsed.snapshot, entry };
  }
}

function checkRetention(p: RetentionPolicy): RetentionPolicy {
  if (!Number.isInteger(p.maxCount) || p.maxCount < 1) throw new RangeError(`retention maxCount must be a positive integer, got ${p.maxCount}`);
  if (!(p.maxAgeMs > 0)) throw new RangeError(`retention maxAgeMs must be positive, got ${p.maxAgeMs}`);
  return Object.freeze({ maxCount: p.maxCount, maxAgeMs: p.maxAgeMs });
}
