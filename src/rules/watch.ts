// Watches a rules directory and emits one debounced "change set" per burst of edits.
// Consumers re-read the whole directory on each change set; this component's job is to
// never miss a change and to not wake them up for editor noise.
//
// Symlinks and ConfigMap volumes. chokidar runs with `followSymlinks: false`: in that mode it
// keeps the realpath of every symlink and, whenever the directory holding it is re-read,
// emits `change` for a symlink whose realpath moved. A ConfigMap update swaps `..data`
// (rename of `..data_tmp` over it), which re-reads the volume root, so `..data` and every
// `foo.yaml -> ..data/foo.yaml` link report `change` although their paths are unchanged.
// With `followSymlinks: true` chokidar records each symlink once and never re-checks it,
// descends into `..data/` (duplicate paths), and only notices the swap if and when kubelet
// deletes the old timestamped directory. The raw fs.watch event for `..data` on the root is
// also fed in (see #onRaw), so the swap is seen even if chokidar's re-read were to lag.
// Cost of not following: symlinked subdirectories are not descended into, and in-place edits
// to a symlink target outside the tree are not seen (a retargeted link is).

import { realpath, stat } from 'node:fs/promises';
import { watch, type ChokidarOptions, type FSWatcher } from 'chokidar';
import { pino, type Logger } from 'pino';
import { BurstDebouncer, type BurstSummary, type PathEventKind } from './watch-burst.js';
import { isIgnoredPath, isRelevantPath, rawEventPath, toRulePath } from './watch-filter.js';

export { CONFIGMAP_DATA_LINK, RULE_FILE_EXTENSIONS } from './watch-filter.js';

export const DEFAULT_QUIET_MS = 150;
export const DEFAULT_MAX_DELAY_MS = 1000;

/**
 * One debounced burst of changes. Paths are relative to the watched root, `/`-separated,
 * deduplicated and sorted. `..data` in `changed` means a ConfigMap volume flipped to a new
 * version. Classification is best effort (a path only seen by a raw event is `changed`);
 * consumers must re-read the whole directory rather than trust it.
 */
export interface ChangeSet {
  /** 1 for the first change set of this watcher, then +1 each time. */
  readonly seq: number;
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

/** May return a promise; it is not awaited, but its rejection goes to the error listeners. */
export type ChangeSetListener = (changeSet: ChangeSet) => unknown;
export type WatchErrorListener = (error: Error) => void;

export interface RuleDirWatcherOptions {
  /** Quiet window that ends a burst. Default 150 ms. */
  readonly quietMs?: number;
  /** Longest time from a burst's first event to its change set. Default 1000 ms. */
  readonly maxDelayMs?: number;
  /** Default: silent. */
  readonly logger?: Logger;
}

type WatcherState = 'new' | 'starting' | 'ready' | 'closed';

export class RuleDirWatcher {
  /** The directory as given to the constructor. */
  readonly dir: string;
  readonly quietMs: number;
  readonly maxDelayMs: number;
  readonly #log: Logger;
  readonly #burst: BurstDebouncer;
  readonly #changeListeners = new Set<ChangeSetListener>();
  readonly #errorListeners = new Set<WatchErrorListener>();
  #state: WatcherState = 'new';
  #root: string | undefined;
  #fsw: FSWatcher | undefined;
  #seq = 0;
  #abortStart: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(dir: string, options: RuleDirWatcherOptions = {}) {
    this.dir = dir;
    this.quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'rules-watch' });
    this.#burst = new BurstDebouncer({
      quietMs: this.quietMs,
      maxDelayMs: this.maxDelayMs,
      onFlush: (summary) => this.#publish(summary),
    });
  }

  /** The watched directory's realpath, known once start() has resolved it. */
  get root(): string | undefined {
    return this.#root;
  }

  /** Sequence number of the last change set emitted (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Resolves once the initial scan is done; files present then produce no change set, so
   * read the directory after this resolves. Rejects if `dir` is not a readable directory.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`RuleDirWatcher.start(): watcher is already ${this.#state}`);
    this.#state = 'starting';
    let root: string;
    try {
      root = await resolveRoot(this.dir);
    } catch (err) {
      if (this.#state === 'starting') this.#state = 'new'; // the directory may appear later: allow a retry
      throw err;
    }
    if (this.#isClosed()) return; // close() raced the realpath
    this.#root = root;
    const fsw = this.#createChokidar(root);
    this.#fsw = fsw;
    await new Promise<void>((resolve) => {
      this.#abortStart = resolve;
      fsw.once('ready', resolve);
    });
    this.#abortStart = undefined;
    if (this.#isClosed()) return;
    this.#state = 'ready';
    this.#log.debug({ event: 'rules.watch.ready', root }, 'watching rules directory');
  }

  /** Stops watching. A burst still open is dropped: nobody is left to reload. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closed';
    this.#burst.cancel();
    this.#abortStart?.();
    const fsw = this.#fsw;
    this.#fsw = undefined;
    this.#closing = (fsw?.close() ?? Promise.resolve()).then(() => {
      this.#log.debug({ event: 'rules.watch.closed' }, 'stopped watching rules directory');
    });
    return this.#closing;
  }

  /**
   * Calls `listener` with every change set; returns an unsubscribe function. Listeners are
   * not awaited (a slow reload must coalesce on its own); a throw or a rejection goes to
   * the error listeners.
   */
  onChangeSet(listener: ChangeSetListener): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Watch errors (chokidar's, and listener failures); they are never thrown. */
  onError(listener: WatchErrorListener): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Resolves once no burst is open: at once when idle, else right after the next flush. */
  whenIdle(): Promise<void> {
    return this.#burst.whenIdle();
  }

  // A method, not an inline comparison: TS would keep the narrowing across an await.
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #createChokidar(root: string): FSWatcher {
    const options: ChokidarOptions = {
      ignoreInitial: true,
      followSymlinks: false, // see the file header
      // Our debounce already merges unlink+add; chokidar's own atomic mode would delay
      // every unlink by 100 ms and silently drop swap-file patterns we filter ourselves.
      atomic: false,
      ignored: (path: string) => isIgnoredPath(toRulePath(root, path)),
    };
    const fsw = watch(root, options);
    fsw.on('all', (event, path) => this.#onChokidarEvent(event, path));
    fsw.on('raw', (_event, path, details) => this.#onRaw(path, details));
    fsw.on('error', (err) => this.#fail(toError(err)));
    return fsw;
  }

  #onChokidarEvent(event: string, path: string): void {
    const kind = CHOKIDAR_KINDS.get(event);
    // Directory events carry no rules: chokidar reports each file inside a removed or
    // added directory on its own.
    if (kind !== undefined) this.#record(path, kind);
  }

  /**
   * Raw fs.watch events, as "something happened here" hints. chokidar drops a `change` that
   * comes within 50 ms of the previous one for the same file; if that was the last write
   * and a change set had just been flushed (maxDelay), the write would go unreported.
   */
  #onRaw(path: string, details: unknown): void {
    const watchedPath = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (typeof watchedPath !== 'string') return;
    this.#record(rawEventPath(watchedPath, path), 'touch');
  }

  #record(absPath: string, kind: PathEventKind): void {
    // Before ready chokidar still reports symlinks found by the initial scan.
    if (this.#state !== 'ready' || this.#root === undefined) return;
    const rel = toRulePath(this.#root, absPath);
    if (isRelevantPath(rel)) this.#burst.record(rel, kind);
  }

  // Must not throw: it runs inside the debounce timer.
  #publish(summary: BurstSummary): void {
    const count = summary.added.length + summary.changed.length + summary.removed.length;
    if (count === 0 || this.#isClosed()) {
      this.#log.debug({ event: 'rules.watch.burst_cancelled', durationMs: summary.durationMs }, 'burst had no net effect');
      return;
    }
    const changeSet: ChangeSet = Object.freeze({
      seq: ++this.#seq,
      added: summary.added,
      changed: summary.changed,
      removed: summary.removed,
    });
    this.#log.info(
      {
        event: 'rules.watch.change_set',
        seq: changeSet.seq,
        count,
        added: summary.added.length,
        changed: summary.changed.length,
        removed: summary.removed.length,
        durationMs: summary.durationMs,
      },
      'rules directory changed',
    );
    for (const listener of [...this.#changeListeners]) this.#deliver(listener, changeSet);
  }

  #deliver(listener: ChangeSetListener, changeSet: ChangeSet): void {
    try {
      const result = listener(changeSet);
      if (result instanceof Promise) result.catch((err: unknown) => this.#fail(toError(err)));
    } catch (err) {
      this.#fail(toError(err));
    }
  }

  #fail(error: Error): void {
    this.#log.error({ event: 'rules.watch.error', err: error }, 'rules watcher error');
    for (const listener of [...this.#errorListeners]) {
      try {
        listener(error);
      } catch (err) {
        this.#log.error({ event: 'rules.watch.error_listener_failed', err }, 'onError listener threw');
      }
    }
  }
}

const CHOKIDAR_KINDS: ReadonlyMap<string, PathEventKind> = new Map([
  ['add', 'add'],
  ['change', 'change'],
  ['unlink', 'unlink'],
]);

/** Realpath of `dir`, so a symlinked rules directory is watched, not the link itself. */
async function resolveRoot(dir: string): Promise<string> {
  const root = await realpath(dir);
  if (!(await stat(root)).isDirectory()) throw new Error(`rules path is not a directory: ${dir}`);
  return root;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
