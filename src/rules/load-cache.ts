// Incremental loading of a rules directory: the same LoadResult as loadRuleDir (same RuleSet
// content, same errors in the same order; both go through assembleLoadResult), re-reading and
// re-parsing only what changed. What is kept per rule file: its stat stamp, the digest of its
// bytes, its parsed documents and each document's own validation (validateDocument). The checks
// across documents (duplicates, references) and the RuleSet are rebuilt on every load: they are
// global, and cheap next to parsing.
//
// Two ways to load:
// - a full scan (no hint): walks the directory like findRuleFiles and stats every file. A file
//   whose stamp (device, inode, size, mtime, ctime) equals the cached one, taken when the file was
//   already older than `racyMs`, is not read again; any other file is read and digested, and it is
//   parsed again only when its digest changed. A stamp taken while the file was younger than
//   `racyMs` is never trusted (two writes within one timestamp tick and with the same size would
//   look alike: git's "racily clean" problem), so such files are read again by the next scan.
// - a hinted load (the watcher's change set): re-reads only the hinted paths, whatever their stamp,
//   and trusts everything else. It falls back to a full scan when the hint cannot be applied
//   exactly: the ConfigMap `..data` link flipped, a JS/TS module or helper changed (or the directory
//   holds modules at all: they run on every load, like loadRuleDir does, because their output can
//   depend on files they import and on anything else they read), a path is not a regular file, or
//   its directory was not walked by the last scan (new directory, moved symlink).
// A hint is a claim about what changed, and it can be wrong (chokidar does not follow symlinked
// subdirectories or see edits of symlink targets outside the tree; events can be lost). The
// caller decides how to verify it: RulesPipeline runs a full scan after every hinted load and
// reloads again when the scan finds more (see src/app/pipeline.ts).
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareStrings, ruleError, type RuleError } from './errors.js';
import { readRuleFile, ruleFileOf, sourceTypeOf, type FoundFile, type ReadFile } from './files.js';
import { mapLimit } from './limit.js';
import { assembleLoadResult, type ParsedRuleFile } from './load.js';
import { loadModuleFile, moduleConcurrency } from './module-source.js';
import { parseRuleText } from './parse-text.js';
import type { LoadOptions, LoadResult } from './types.js';
import { validateDocument } from './validate.js';
import { CONFIGMAP_DATA_LINK } from './watch-filter.js';

/** Paths (relative to the rules directory, `/`-separated) a change set reports; the classification does not matter. */
export interface ChangeHint {
  readonly added?: readonly string[];
  readonly changed?: readonly string[];
  readonly removed?: readonly string[];
}

export interface RuleDirCacheOptions extends LoadOptions {
  /** A stat stamp taken less than this long after the file's last change is not trusted. Default 2000 ms. */
  readonly racyMs?: number;
  /** Wall clock in ms (tests). Default Date.now. */
  readonly now?: () => number;
}

export interface IncrementalLoad {
  readonly result: LoadResult;
  /** 'scan': walked the whole directory; 'hinted': applied a change hint. */
  readonly mode: 'scan' | 'hinted';
  /** Why a hint was not applied (the load was a full scan instead). */
  readonly fallback?: string;
  /** Rule files read this time (paths). */
  readonly read: number;
  /** YAML/JSON files parsed this time (their digest was new), and modules evaluated. */
  readonly parsed: number;
  /**
   * Whether the input differs from the previous load's: file list, digests, scan errors, or
   * modules (which always count as changed). When false, `result` is the previous result object.
   */
  readonly changed: boolean;
}

export const DEFAULT_RACY_MS = 2000;

interface Entry {
  readonly found: FoundFile;
  /** Stat stamp taken before the bytes were read; undefined when unknown. */
  readonly stamp: string | undefined;
  /** The stamp was taken when the file was older than racyMs. */
  readonly trusted: boolean;
  readonly digest: string;
  /** Kept for modules only (loadModuleFile needs the source to locate exports). */
  readonly text?: string;
  /** YAML/JSON: parsed documents and their validation; helpers and modules: just the file. */
  readonly parsed: ParsedRuleFile;
}

interface StatFile extends FoundFile {
  readonly stat: BigIntStats;
}

const DIR_LOC = { file: '.', line: 0, column: 0 } as const;
const FILE_START = { line: 1, column: 1 } as const;

/**
 * findRuleFiles (src/rules/files.ts) with the stats of every sibling taken in parallel, returning
 * them, and the directories walked (relative path -> realpath). Same files, same errors, same
 * order (test/app/reload-incremental.test.ts compares them).
 */
export async function scanRuleFiles(root: string): Promise<{ files: StatFile[]; errors: RuleError[]; dirs: Map<string, string> }> {
  const files: StatFile[] = [];
  const errors: RuleError[] = [];
  const dirs = new Map<string, string>();
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    return { files, errors: [ruleError('RULE_DIR_UNREADABLE', DIR_LOC, `rules directory ${why}`)], dirs };
  }
  const visited = new Set<string>();

  const walk = async (abs: string, rel: string): Promise<void> => {
    const real = await realpath(abs);
    if (visited.has(real)) return; // a symlink loop or a second link to the same directory
    visited.add(real);
    dirs.set(rel, real);
    // Dotfiles, .git, and the ConfigMap's ..data / ..2024_... entries.
    const names = (await readdir(abs)).sort(compareStrings).filter((name) => !name.startsWith('.') && name !== 'node_modules');
    const stats = await Promise.all(
      names.map((name) =>
        stat(join(abs, name), { bigint: true }).then(
          (st) => ({ st }),
          (err: unknown) => ({ err }),
        ),
      ),
    );
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const s = stats[i]!;
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if ('err' in s) {
        const e = s.err as NodeJS.ErrnoException;
        if (sourceTypeOf(name)) errors.push(ruleError('RULE_FILE_UNREADABLE', { file: childRel, ...FILE_START }, `cannot read file (${e.code ?? e.message}; a dangling symlink?)`));
        continue;
      }
      if (s.st.isDirectory()) await walk(childAbs, childRel);
      else if (s.st.isFile()) {
        const type = sourceTypeOf(name);
        if (type) files.push({ path: childRel, abs: childAbs, type, stat: s.st });
      }
    }
  };
  try {
    await walk(root, '');
  } catch (e) {
    errors.push(ruleError('RULE_DIR_UNREADABLE', DIR_LOC, `rules directory cannot be read (${(e as Error).message})`));
  }
  files.sort((a, b) => compareStrings(a.path, b.path));
  return { files, errors, dirs };
}

function stampOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Time of the file's last change (content or inode), in ms. */
function changedAtMs(st: BigIntStats): number {
  const ns = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs;
  return Number(ns / 1_000_000n);
}

function parseFile(f: ReadFile): ParsedRuleFile {
  const file = ruleFileOf(f);
  if (f.type !== 'yaml' && f.type !== 'json') return { file };
  const source = parseRuleText(f.path, f.text);
  // Once validated, the documents themselves (values and node location maps) are not needed
  // again: the rules keep their own locations. Only the parse errors are.
  return { file, source: { docs: [], errors: source.errors }, validated: source.docs.map(validateDocument) };
}

/** A relative rule path as the watcher reports it, split; undefined when it is not one. */
function segmentsOf(path: string): string[] | undefined {
  const segments = path.split('/');
  if (path === '' || path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return segments;
}

type HintPlan = { readonly paths: readonly string[] } | { readonly fallback: string };

/**
 * The incremental loader of one rules directory. Loads are serialized: a call made while another
 * runs waits for it.
 */
export class RuleDirCache {
  readonly root: string;
  private readonly racyMs: number;
  private readonly now: () => number;
  private entries = new Map<string, Entry>();
  /** Paths of `entries` in order; undefined when it must be sorted again. */
  private order: string[] | undefined = [];
  /** Files found but unreadable, by path. */
  private readErrors = new Map<string, RuleError>();
  /** Errors of the last walk (directory unreadable, dangling links). */
  private walkErrors: RuleError[] = [];
  /** Directories the last walk entered: relative path -> realpath. */
  private dirs = new Map<string, string>();
  private scanned = false;
  private previous: { signature: string; result: LoadResult } | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    dir: string,
    private readonly options: RuleDirCacheOptions = {},
  ) {
    this.root = resolve(dir);
    this.racyMs = options.racyMs ?? DEFAULT_RACY_MS;
    this.now = options.now ?? Date.now;
  }

  /** Loads the directory: a full scan without `hint`, else the hinted paths when that is exact. */
  load(hint?: ChangeHint): Promise<IncrementalLoad> {
    const run = this.tail.then(() => this.run(hint));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Forgets everything: the next load reads every file again. */
  clear(): void {
    this.entries = new Map();
    this.order = [];
    this.readErrors = new Map();
    this.walkErrors = [];
    this.dirs = new Map();
    this.scanned = false;
    this.previous = undefined;
  }

  private async run(hint: ChangeHint | undefined): Promise<IncrementalLoad> {
    if (hint) {
      const plan = await this.planHint(hint);
      if ('paths' in plan) return this.applyHint(plan.paths);
      return this.scan(plan.fallback);
    }
    return this.scan(undefined);
  }

  private hasModules(): boolean {
    for (const e of this.entries.values()) if (e.found.type === 'module' || e.found.type === 'helper') return true;
    return false;
  }

  /** The paths a hint asks to re-read, or why it cannot be applied exactly. */
  private async planHint(hint: ChangeHint): Promise<HintPlan> {
    if (!this.scanned) return { fallback: 'first load' };
    if (this.walkErrors.length > 0) return { fallback: 'the last scan had errors' };
    if (this.hasModules()) return { fallback: 'rule modules are evaluated on every load' };
    const all = [...new Set([...(hint.added ?? []), ...(hint.changed ?? []), ...(hint.removed ?? [])])].sort(compareStrings);
    const paths: string[] = [];
    const dirsToCheck = new Set<string>(['']);
    for (const p of all) {
      const segments = segmentsOf(p);
      if (!segments) return { fallback: `not a relative path: ${JSON.stringify(p)}` };
      if (segments.includes(CONFIGMAP_DATA_LINK)) return { fallback: `${CONFIGMAP_DATA_LINK} changed` };
      // The walk never enters hidden entries or node_modules: such paths cannot change the rules.
      if (segments.some((s) => s.startsWith('.') || s === 'node_modules')) continue;
      const type = sourceTypeOf(segments[segments.length - 1]!);
      if (type === undefined) continue; // not a rule file (a directory event is reported per file)
      if (type === 'module' || type === 'helper') return { fallback: `module ${p} changed` };
      const dir = segments.slice(0, -1).join('/');
      if (!this.dirs.has(dir)) return { fallback: `${dir} is a directory the last scan did not enter` };
      dirsToCheck.add(dir);
      paths.push(p);
    }
    // A directory moved or retargeted since the last scan may hold other files, or be a second
    // link to a directory walked under another name: only a walk knows.
    for (const dir of dirsToCheck) {
      const real = await realpath(join(this.root, dir)).catch(() => undefined);
      if (real === undefined || real !== this.dirs.get(dir)) return { fallback: `directory ${dir || '.'} moved` };
    }
    return { paths };
  }

  private async applyHint(paths: readonly string[]): Promise<IncrementalLoad> {
    const started = this.now();
    const toRead: Array<{ found: FoundFile; stamp: string; trusted: boolean }> = [];
    const removed: string[] = [];
    for (const p of paths) {
      const abs = join(this.root, ...p.split('/'));
      let st: BigIntStats;
      try {
        st = await stat(abs, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.scan(`cannot stat ${p}`);
        // Gone, unless a dangling symlink is left (the walk reports those).
        const link = await lstat(abs).catch(() => undefined);
        if (link) return this.scan(`${p} is a dangling symlink`);
        removed.push(p);
        continue;
      }
      if (!st.isFile()) return this.scan(`${p} is not a regular file`);
      const type = sourceTypeOf(p.slice(p.lastIndexOf('/') + 1))!;
      toRead.push({ found: { path: p, abs, type }, stamp: stampOf(st), trusted: changedAtMs(st) < started - this.racyMs });
    }
    for (const p of removed) {
      if (this.entries.delete(p)) this.order = undefined;
      this.readErrors.delete(p);
    }
    const read = await Promise.all(toRead.map((t) => readRuleFile(t.found)));
    let parsed = 0;
    toRead.forEach((t, i) => {
      const r = read[i]!;
      if (!('digest' in r)) {
        if (this.entries.delete(t.found.path)) this.order = undefined;
        this.readErrors.set(t.found.path, r);
        return;
      }
      this.readErrors.delete(t.found.path);
      const before = this.entries.get(t.found.path);
      if (!before) this.order = undefined;
      const reuse = before && before.digest === r.digest && before.found.type === r.type ? before.parsed : undefined;
      if (!reuse) parsed++;
      this.entries.set(t.found.path, { found: t.found, stamp: t.stamp, trusted: t.trusted, digest: r.digest, parsed: reuse ?? parseFile(r) });
    });
    return this.finish('hinted', undefined, toRead.length, parsed, false);
  }

  private async scan(fallback: string | undefined): Promise<IncrementalLoad> {
    const started = this.now();
    const walk = await scanRuleFiles(this.root);
    const next = new Map<string, Entry>();
    const readErrors = new Map<string, RuleError>();
    const toRead: Array<{ found: FoundFile; stamp: string; trusted: boolean; before: Entry | undefined }> = [];
    for (const f of walk.files) {
      const found: FoundFile = { path: f.path, abs: f.abs, type: f.type };
      const before = this.entries.get(f.path);
      const stamp = stampOf(f.stat);
      const trusted = changedAtMs(f.stat) < started - this.racyMs;
      if (before && before.trusted && before.stamp === stamp && before.found.abs === f.abs && before.found.type === f.type) {
        next.set(f.path, before);
        continue;
      }
      toRead.push({ found, stamp, trusted, before });
    }
    const read = await Promise.all(toRead.map((t) => readRuleFile(t.found)));
    let parsed = 0;
    toRead.forEach((t, i) => {
      const r = read[i]!;
      if (!('digest' in r)) {
        readErrors.set(t.found.path, r);
        return;
      }
      const b = t.before;
      const reuse = b && b.digest === r.digest && b.found.type === r.type ? b.parsed : undefined;
      if (!reuse && (r.type === 'yaml' || r.type === 'json')) parsed++;
      next.set(t.found.path, {
        found: t.found,
        stamp: t.stamp,
        trusted: t.trusted,
        digest: r.digest,
        ...(r.type === 'module' ? { text: r.text } : {}),
        parsed: reuse ?? parseFile(r),
      });
    });
    this.entries = next;
    this.order = undefined;
    this.readErrors = readErrors;
    this.walkErrors = walk.errors;
    this.dirs = walk.dirs;
    this.scanned = true;
    const modules = await this.evaluateModules();
    return this.finish('scan', fallback, toRead.length, parsed + modules.size, modules.size > 0, modules);
  }

  /** Every rule module, evaluated again (as loadRuleDir does on every load). */
  private async evaluateModules(): Promise<Map<string, ParsedRuleFile>> {
    const modules = [...this.entries.values()].filter((e) => e.found.type === 'module').sort((a, b) => compareStrings(a.found.path, b.found.path));
    const out = new Map<string, ParsedRuleFile>();
    if (modules.length === 0) return out;
    const results = await mapLimit(modules, moduleConcurrency(this.options), async (e) =>
      loadModuleFile(e.found.abs, e.found.path, e.text ?? '', this.root, this.options),
    );
    modules.forEach((e, i) => out.set(e.found.path, { file: e.parsed.file, source: results[i]! }));
    return out;
  }

  private sortedPaths(): string[] {
    this.order ??= [...this.entries.keys()].sort(compareStrings);
    return this.order;
  }

  private finish(
    mode: 'scan' | 'hinted',
    fallback: string | undefined,
    read: number,
    parsed: number,
    forceChanged: boolean,
    modules?: ReadonlyMap<string, ParsedRuleFile>,
  ): IncrementalLoad {
    const paths = this.sortedPaths();
    // loadRuleDir's error order: the walk's, then unreadable files in path order, then each file's.
    const readErrors = [...this.readErrors.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, e]) => e);
    const scanErrors = [...this.walkErrors, ...readErrors];
    const parsedFiles = paths.map((p) => modules?.get(p) ?? this.entries.get(p)!.parsed);
    const signature = signatureOf(parsedFiles, scanErrors);
    const base = { mode, ...(fallback !== undefined ? { fallback } : {}), read, parsed };
    if (!forceChanged && this.previous && this.previous.signature === signature) {
      return { ...base, result: this.previous.result, changed: false };
    }
    const result = assembleLoadResult(scanErrors, parsedFiles);
    this.previous = { signature, result };
    return { ...base, result, changed: true };
  }
}

/** What a LoadResult is a function of (for YAML/JSON): the files in order with their digests, and the scan errors. */
function signatureOf(files: readonly ParsedRuleFile[], errors: readonly RuleError[]): string {
  const parts: string[] = [];
  for (const f of files) parts.push(`${f.file.path}\u0000${f.file.digest}`);
  for (const e of errors) parts.push(`!${e.code}\u0000${e.file}\u0000${e.line}\u0000${e.column}\u0000${e.message}`);
  return parts.join('\n');
}
