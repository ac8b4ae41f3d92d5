// Debouncing and net-effect classification of a burst of file-system events.
// Knows nothing about chokidar: it is fed (path, kind) pairs and flushes a summary.

/**
 * What happened to a path. `add`/`change`/`unlink` come from chokidar and carry existence
 * information; `touch` is a raw fs.watch event that only says "something happened here".
 */
export type PathEventKind = 'add' | 'change' | 'unlink' | 'touch';

/** The net effect of one burst; every list deduplicated and sorted. */
export interface BurstSummary {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  /** Milliseconds from the burst's first event to the flush. */
  readonly durationMs: number;
}

type ExistenceKind = Exclude<PathEventKind, 'touch'>;

interface PathHistory {
  first?: ExistenceKind;
  last?: ExistenceKind;
}

/**
 * Net effect of a path's history: existed before the burst unless its first event was `add`,
 * exists after unless its last was `unlink`. Created-and-deleted temp files cancel out
 * (undefined). A path only touched is reported as changed: the event was real even if
 * chokidar had not caught up with it.
 */
export function classify(history: PathHistory): 'added' | 'changed' | 'removed' | undefined {
  if (history.first === undefined || history.last === undefined) return 'changed';
  const existedBefore = history.first !== 'add';
  const existsAfter = history.last !== 'unlink';
  if (existedBefore && existsAfter) return 'changed';
  if (existedBefore) return 'removed';
  return existsAfter ? 'added' : undefined;
}

/** Records events per path and summarizes them. */
export class BurstAccumulator {
  readonly #paths = new Map<string, PathHistory>();

  get size(): number {
    return this.#paths.size;
  }

  record(path: string, kind: PathEventKind): void {
    let history = this.#paths.get(path);
    if (history === undefined) {
      history = {};
      this.#paths.set(path, history);
    }
    if (kind === 'touch') return;
    history.first ??= kind;
    history.last = kind;
  }

  summarize(durationMs: number): BurstSummary {
    const lists = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    for (const [path, history] of this.#paths) {
      const outcome = classify(history);
      if (outcome !== undefined) lists[outcome].push(path);
    }
    return {
      added: lists.added.sort(),
      changed: lists.changed.sort(),
      removed: lists.removed.sort(),
      durationMs,
    };
  }
}

export interface BurstDebouncerOptions {
  /** Flush once no event arrived for this long. */
  readonly quietMs: number;
  /** Flush at the latest this long after the burst's first event, even if events keep coming. */
  readonly maxDelayMs: number;
  /** Receives every burst, including ones that cancelled out (all lists empty). */
  readonly onFlush: (summary: BurstSummary) => void;
}

/**
 * Trailing debounce with a cap. The quiet window absorbs an editor's multi-step save or a
 * `git checkout`; the cap keeps a never-ending stream of writes from starving consumers.
 */
export class BurstDebouncer {
  readonly #options: BurstDebouncerOptions;
  #burst = new BurstAccumulator();
  #startedAt = 0;
  #quietTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: BurstDebouncerOptions) {
    validateWindows(options.quietMs, options.maxDelayMs);
    this.#options = options;
  }

  /** True while a burst is open (events recorded, not yet flushed). */
  get pending(): boolean {
    return this.#quietTimer !== undefined;
  }

  record(path: string, kind: PathEventKind): void {
    this.#burst.record(path, kind);
    if (this.#quietTimer !== undefined) clearTimeout(this.#quietTimer);
    this.#quietTimer = setTimeout(() => this.flush(), this.#options.quietMs);
    if (this.#maxTimer === undefined) {
      this.#startedAt = Date.now();
      this.#maxTimer = setTimeout(() => this.flush(), this.#options.maxDelayMs);
    }
  }

  /** Ends the open burst now and hands its summary to `onFlush`; no-op when idle. */
  flush(): void {
    if (!this.pending) return;
    const burst = this.#takeBurst();
    try {
      this.#options.onFlush(burst.summarize(Date.now() - this.#startedAt));
    } finally {
      this.#wakeIdleWaiters();
    }
  }

  /** Drops the open burst without flushing it (used on close). */
  cancel(): void {
    this.#takeBurst();
    this.#wakeIdleWaiters();
  }

  /** Resolves once no burst is open: immediately when idle, else right after the next flush. */
  whenIdle(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #takeBurst(): BurstAccumulator {
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#maxTimer);
    this.#quietTimer = undefined;
    this.#maxTimer = undefined;
    const burst = this.#burst;
    this.#burst = new BurstAccumulator();
    return burst;
  }

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

// maxDelayMs < quietMs is allowed: every burst then flushes maxDelayMs after its start.
function validateWindows(quietMs: number, maxDelayMs: number): void {
  for (const [name, value] of [['quietMs', quietMs], ['maxDelayMs', maxDelayMs]] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
    }
  }
}
