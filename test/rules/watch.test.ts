import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RuleDirWatcher, type ChangeSet, type RuleDirWatcherOptions } from '../../src/rules/watch.js';
import { BurstDebouncer, classify, type BurstSummary } from '../../src/rules/watch-burst.js';
import { isIgnoredPath, isRelevantPath, rawEventPath } from '../../src/rules/watch-filter.js';

// Timing policy: a burst split in two by a stalled CI machine must not fail a test that is
// not about splitting. Tests asserting "exactly one change set" use EXACT (a quiet window
// far longer than the gap between two awaited fs calls); tests about what is reported use
// FAST and accept the answer spread over several change sets. No test sleeps.
const FAST: RuleDirWatcherOptions = { quietMs: 50, maxDelayMs: 1000 };
const EXACT: RuleDirWatcherOptions = { quietMs: 250, maxDelayMs: 10_000 };

// ---------------------------------------------------------------- harness

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
});

/** A queue of values pushed by a callback, awaited one at a time. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

interface Harness {
  readonly dir: string;
  readonly watcher: RuleDirWatcher;
  readonly errors: Error[];
  next(): Promise<ChangeSet>;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-watch-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startWatching(dir: string, options: RuleDirWatcherOptions): Promise<Harness> {
  const watcher = new RuleDirWatcher(dir, options);
  const inbox = new Inbox<ChangeSet>();
  const errors: Error[] = [];
  watcher.onChangeSet((changeSet) => inbox.push(changeSet));
  watcher.onError((error) => errors.push(error));
  cleanups.push(async () => {
    await watcher.close();
    expect(errors).toEqual([]);
  });
  await watcher.start();
  return { dir, watcher, errors, next: () => inbox.next() };
}

const write = (dir: string, rel: string, body = `rev: ${Math.random()}\n`): Promise<void> =>
  writeFile(join(dir, rel), body);

/** Editor-style atomic save: write a hidden temp file, rename it over the target. */
async function atomicSave(dir: string, rel: string, body?: string): Promise<void> {
  const tmp = `.${rel}.tmp-${process.pid}`;
  await write(dir, tmp, body);
  await rename(join(dir, tmp), join(dir, rel));
}

/**
 * Proves that nothing was reported since the last change set, without a sleep: change sets
 * are ordered, so a straggler would be, or be merged into, the one the sentinel produces.
 */
async function expectNextIsOnly(h: Harness, sentinel: string): Promise<ChangeSet> {
  await write(h.dir, sentinel);
  const changeSet = await h.next();
  expect(changeSet).toMatchObject({ added: [sentinel], changed: [], removed: [] });
  return changeSet;
}

type Outcome = 'added' | 'changed' | 'removed';

/**
 * Collects change sets until each expected path has appeared under its expected outcome in
 * one of them, then checks that no other path was reported. Tolerates a burst split in two.
 */
async function settle(h: Harness, expected: Record<string, Outcome>): Promise<ChangeSet[]> {
  const seen: ChangeSet[] = [];
  const reported = (path: string, outcome: Outcome): boolean =>
    seen.some((changeSet) => changeSet[outcome].includes(path));
  while (!Object.entries(expected).every(([path, outcome]) => reported(path, outcome))) {
    seen.push(await h.next());
  }
  const paths = new Set(seen.flatMap((c) => [...c.added, ...c.changed, ...c.removed]));
  expect([...paths].sort()).toEqual(Object.keys(expected).sort());
  return seen;
}

// ---------------------------------------------------------------- ConfigMap volume simulation

let configMapVersion = 0;

/** Writes a new timestamped payload directory, as kubelet does, and returns its name. */
async function writePayload(dir: string, files: Record<string, string>): Promise<string> {
  configMapVersion += 1;
  const name = `..2025_11_21_09_00_00.${String(configMapVersion).padStart(9, '0')}`;
  await mkdir(join(dir, name));
  for (const [file, body] of Object.entries(files)) await writeFile(join(dir, name, file), body);
  return name;
}

async function createConfigMapVolume(dir: string, files: Record<string, string>): Promise<string> {
  const payload = await writePayload(dir, files);
  await symlink(payload, join(dir, '..data'));
  for (const file of Object.keys(files)) await symlink(join('..data', file), join(dir, file));
  return payload;
}

/** kubelet's AtomicWriter: new payload, swap `..data`, fix user-visible links, drop the old payload. */
async function updateConfigMapVolume(
  dir: string,
  oldPayload: string,
  oldFiles: readonly string[],
  files: Record<string, string>,
): Promise<string> {
  const payload = await writePayload(dir, files);
  await symlink(payload, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const file of Object.keys(files)) {
    if (!oldFiles.includes(file)) await symlink(join('..data', file), join(dir, file));
  }
  for (const file of oldFiles) if (!(file in files)) await unlink(join(dir, file));
  await rm(join(dir, oldPayload), { recursive: true });
  return payload;
}

// ---------------------------------------------------------------- RuleDirWatcher on real files

describe('RuleDirWatcher', () => {
  it('reports nothing for the files present at start, then numbers change sets from 1', async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    await mkdir(join(dir, 'sub'));
    await write(dir, 'sub/b.json');
    await createConfigMapVolume(join(dir, 'sub'), { 'c.yaml': 'c: 1\n' });
    const h = await startWatching(dir, EXACT);

    const first = await expectNextIsOnly(h, 'sentinel.yaml');
    expect(first.seq).toBe(1);
    await write(dir, 'a.yaml');
    expect(await settle(h, { 'a.yaml': 'changed' })).toEqual([expect.objectContaining({ seq: 2 })]);
    expect(h.watcher.seq).toBe(2);
  });

  it('reports an atomic save (temp file + rename) as one change of the target', async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    const h = await startWatching(dir, EXACT);

    await atomicSave(dir, 'a.yaml', 'a: 2\n');
    expect(await h.next()).toEqual({ seq: 1, added: [], changed: ['a.yaml'], removed: [] });
    await expectNextIsOnly(h, 'sentinel.yaml');
  });

  it("reports vim's backup-and-rename save as one change of the target", async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    const h = await startWatching(dir, EXACT);

    // vim with backupcopy=no: probe file 4913, move the original aside, write anew, drop backup.
    await write(dir, '4913', '');
    await unlink(join(dir, '4913'));
    await rename(join(dir, 'a.yaml'), join(dir, 'a.yaml~'));
    await write(dir, 'a.yaml', 'a: 2\n');
    await unlink(join(dir, 'a.yaml~'));
    expect(await h.next()).toEqual({ seq: 1, added: [], changed: ['a.yaml'], removed: [] });
    await expectNextIsOnly(h, 'sentinel.yaml');
  });

  it('merges a burst of 20 saves into exactly one change set', async () => {
    const dir = await tempDir();
    const files = ['d.yaml', 'a.yaml', 'c.json', 'b.ts'];
    for (const file of files) await write(dir, file);
    const h = await startWatching(dir, EXACT);

    for (let i = 0; i < 20; i += 1) {
      const file = files[i % files.length] ?? 'a.yaml';
      if (i % 2 === 0) await write(dir, file, `save: ${i}\n`);
      else await atomicSave(dir, file, `save: ${i}\n`);
    }
    expect(await h.next()).toEqual({ seq: 1, added: [], changed: ['a.yaml', 'b.ts', 'c.json', 'd.yaml'], removed: [] });
    await h.watcher.whenIdle();
    const sentinel = await expectNextIsOnly(h, 'sentinel.yaml');
    expect(sentinel.seq).toBe(2);
  });

  it('reports a deleted file as removed', async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    await write(dir, 'b.yaml');
    const h = await startWatching(dir, FAST);

    await unlink(join(dir, 'a.yaml'));
    await settle(h, { 'a.yaml': 'removed' });
  });

  it('reports a rename as the old name removed and the new one added', async () => {
    const dir = await tempDir();
    await write(dir, 'old.yaml');
    const h = await startWatching(dir, FAST);

    await rename(join(dir, 'old.yaml'), join(dir, 'new.yaml'));
    await settle(h, { 'old.yaml': 'removed', 'new.yaml': 'added' });
  });

  it('reports every file of a renamed directory', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'team-a'));
    await write(dir, 'team-a/x.yaml');
    await write(dir, 'team-a/README.md');
    const h = await startWatching(dir, FAST);

    await rename(join(dir, 'team-a'), join(dir, 'team-b'));
    await settle(h, { 'team-a/x.yaml': 'removed', 'team-b/x.yaml': 'added' });
  });

  it('reports a new file in a new subdirectory, then watches that subdirectory', async () => {
    const dir = await tempDir();
    const h = await startWatching(dir, FAST);

    await mkdir(join(dir, 'exp/ab12345'), { recursive: true });
    await write(dir, 'exp/ab12345/rule.ts', 'export default [];\n');
    await settle(h, { 'exp/ab12345/rule.ts': 'added' });
    await write(dir, 'exp/ab12345/rule.ts', 'export default [{}];\n');
    await settle(h, { 'exp/ab12345/rule.ts': 'changed' });
  });

  it('ignores editor swap files, backups and files of other types', async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    const h = await startWatching(dir, EXACT);

    const noise = ['.a.yaml.swp', '.a.yaml.swx', 'a.yaml~', '4913', '#a.yaml#', 'notes.md', '.hidden.yaml'];
    for (const file of noise) await write(dir, file);
    await symlink('user@host.1234:1700000000', join(dir, '.#a.yaml')); // emacs lock: a dangling link
    await mkdir(join(dir, '.git'));
    await write(dir, '.git/rules.yaml');
    for (const file of noise) await unlink(join(dir, file));
    await unlink(join(dir, '.#a.yaml'));
    await write(dir, 'left-over.yaml~'); // still there at the flush: ignored all the same

    const first = await expectNextIsOnly(h, 'sentinel.yaml');
    expect(first.seq).toBe(1);
  });

  it('reports a ConfigMap ..data swap once, although no top-level path changed', async () => {
    const dir = await tempDir();
    const payload = await createConfigMapVolume(dir, { 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const h = await startWatching(dir, EXACT);

    await updateConfigMapVolume(dir, payload, ['a.yaml', 'b.yaml'], { 'a.yaml': 'a: 2\n', 'b.yaml': 'b: 1\n' });
    const changeSet = await h.next();
    expect(changeSet).toMatchObject({ seq: 1, added: [], removed: [] });
    // `..data` is reported directly; the links through it are reported because their realpath moved.
    expect(changeSet.changed).toEqual(['..data', 'a.yaml', 'b.yaml']);
    await expectNextIsOnly(h, 'sentinel.yaml');
  });

  it('reports keys added to and removed from a ConfigMap in the same change set as the swap', async () => {
    const dir = await tempDir();
    const payload = await createConfigMapVolume(dir, { 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const h = await startWatching(dir, EXACT);

    await updateConfigMapVolume(dir, payload, ['a.yaml', 'b.yaml'], { 'a.yaml': 'a: 2\n', 'c.yaml': 'c: 1\n' });
    const changeSet = await h.next();
    expect(changeSet).toMatchObject({ seq: 1, added: ['c.yaml'], removed: ['b.yaml'] });
    expect(changeSet.changed).toContain('..data');
    await expectNextIsOnly(h, 'sentinel.yaml');
  });

  it('emits at least once per maxDelay under a never-ending stream of saves', async () => {
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    // The quiet window can never elapse while the loop below runs, so only maxDelay can flush.
    const quietMs = 5000;
    const h = await startWatching(dir, { quietMs, maxDelayMs: 300 });
    const arrivals: number[] = [];
    h.watcher.onChangeSet(() => arrivals.push(Date.now()));

    const giveUpAt = Date.now() + 20_000;
    for (let i = 0; arrivals.length < 3 && Date.now() < giveUpAt; i += 1) {
      await write(dir, 'a.yaml', `save: ${i}\n`);
    }
    expect(arrivals).toHaveLength(3);
    for (let i = 1; i < arrivals.length; i += 1) {
      expect((arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0)).toBeLessThan(quietMs);
    }
    for (let seq = 1; seq <= 3; seq += 1) {
      expect(await h.next()).toEqual({ seq, added: [], changed: ['a.yaml'], removed: [] });
    }
  });

  it('reports a save that chokidar swallows as a too-quick repeat of the previous change', async () => {
    // chokidar drops a `change` coming within 50 ms of the previous one for the same file.
    // With both windows at 0 every event is flushed at once, so each save below lands in
    // that shadow; only the raw fs.watch hint reports it.
    const dir = await tempDir();
    await write(dir, 'a.yaml');
    const h = await startWatching(dir, { quietMs: 0, maxDelayMs: 0 });
    let reports = 0;
    let wake: (() => void) | undefined;
    h.watcher.onChangeSet((changeSet) => {
      if (changeSet.changed.includes('a.yaml')) reports += 1;
      wake?.();
    });

    for (let i = 0; i < 5; i += 1) {
      const before = reports;
      await write(dir, 'a.yaml', `save: ${i}\n`);
      while (reports === before) await new Promise<void>((resolve) => (wake = resolve));
    }
  });

  it('watches the target of a symlinked rules directory and reports paths relative to it', async () => {
    const real = await tempDir();
    const links = await tempDir();
    const linked = join(links, 'rules');
    await symlink(real, linked);
    const h = await startWatching(linked, FAST);

    await write(real, 'a.yaml');
    await settle(h, { 'a.yaml': 'added' });
    expect(h.watcher.root).toBeDefined();
  });

  it('logs one structured event per change set, with its sequence and path count', async () => {
    const dir = await tempDir();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const h = await startWatching(dir, { ...EXACT, logger });

    await write(dir, 'a.yaml');
    await write(dir, 'b.yaml');
    const changeSet = await h.next();
    const events = lines.filter((line) => line.event === 'rules.watch.change_set');
    expect(events).toEqual([
      expect.objectContaining({ seq: changeSet.seq, count: 2, added: 2, changed: 0, removed: 0, component: 'rules-watch' }),
    ]);
  });

  it('surfaces a failing listener through onError and still serves the other listeners', async () => {
    const dir = await tempDir();
    const h = await startWatching(dir, FAST);
    const surfaced = new Inbox<Error>();
    h.watcher.onError((error) => surfaced.push(error));
    h.watcher.onChangeSet(() => {
      throw new Error('listener broke');
    });
    h.watcher.onChangeSet(() => Promise.reject(new Error('async listener broke')));

    await write(dir, 'a.yaml');
    await settle(h, { 'a.yaml': 'added' });
    const messages = [(await surfaced.next()).message, (await surfaced.next()).message];
    expect(messages.sort()).toEqual(['async listener broke', 'listener broke']);
    h.errors.length = 0; // expected here; the harness fails any test with unexpected errors
  });

  it('rejects start() for a missing directory and allows a retry once it exists', async () => {
    const dir = join(await tempDir(), 'later');
    const watcher = new RuleDirWatcher(dir, FAST);
    cleanups.push(() => watcher.close());
    await expect(watcher.start()).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(dir);
    await watcher.start();
    await expect(watcher.start()).rejects.toThrow(/already ready/);
  });

  it('closes idempotently, also when never started', async () => {
    const dir = await tempDir();
    const idle = new RuleDirWatcher(dir);
    await idle.close();
    const h = await startWatching(dir, FAST);
    await Promise.all([h.watcher.close(), h.watcher.close()]);
    await h.watcher.whenIdle();
    await expect(h.watcher.start()).rejects.toThrow(/already closed/);
  });
});

// ---------------------------------------------------------------- debounce semantics (fake timers)

describe('BurstDebouncer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function debouncer(quietMs = 100, maxDelayMs = 1000): { d: BurstDebouncer; flushed: BurstSummary[] } {
    const flushed: BurstSummary[] = [];
    const d = new BurstDebouncer({ quietMs, maxDelayMs, onFlush: (summary) => flushed.push(summary) });
    return { d, flushed };
  }

  it('flushes once, after the quiet window, with deduplicated and sorted paths', () => {
    const { d, flushed } = debouncer();
    d.record('b.yaml', 'change');
    d.record('a.yaml', 'change');
    d.record('b.yaml', 'touch');
    d.record('b.yaml', 'change');
    vi.advanceTimersByTime(99);
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushed).toEqual([{ added: [], changed: ['a.yaml', 'b.yaml'], removed: [], durationMs: 100 }]);
    vi.advanceTimersByTime(10_000);
    expect(flushed).toHaveLength(1);
  });

  it('restarts the quiet window on every event', () => {
    const { d, flushed } = debouncer();
    for (let i = 0; i < 5; i += 1) {
      d.record('a.yaml', 'change');
      vi.advanceTimersByTime(90);
    }
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(flushed).toHaveLength(1);
    expect(flushed[0]?.durationMs).toBe(460);
  });

  it('flushes at maxDelay after the first event of a burst that never goes quiet', () => {
    const { d, flushed } = debouncer(100, 1000);
    for (let t = 0; t < 2900; t += 50) {
      d.record(`f${t}.yaml`, 'add');
      vi.advanceTimersByTime(50);
    }
    expect(flushed.map((s) => s.durationMs)).toEqual([1000, 1000]);
    expect(flushed[0]?.added).toHaveLength(20);
    expect(d.pending).toBe(true);
  });

  it('resolves whenIdle at once when idle, else right after the flush', async () => {
    const { d, flushed } = debouncer();
    await d.whenIdle();
    d.record('a.yaml', 'add');
    let idle = false;
    const waiting = d.whenIdle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    vi.advanceTimersByTime(100);
    await waiting;
    expect(flushed).toHaveLength(1);
  });

  it('drops the open burst on cancel', () => {
    const { d, flushed } = debouncer();
    d.record('a.yaml', 'add');
    d.cancel();
    vi.advanceTimersByTime(5000);
    expect(flushed).toEqual([]);
    expect(d.pending).toBe(false);
  });

  it('rejects windows that cannot work', () => {
    const onFlush = (): void => undefined;
    expect(() => new BurstDebouncer({ quietMs: -1, maxDelayMs: 10, onFlush })).toThrow(RangeError);
    expect(() => new BurstDebouncer({ quietMs: 100, maxDelayMs: Infinity, onFlush })).toThrow(RangeError);
    expect(() => new RuleDirWatcher('.', { quietMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('classify (net effect of one path within a burst)', () => {
  it.each([
    [['add'], 'added'],
    [['add', 'change'], 'added'],
    [['add', 'unlink'], undefined],
    [['add', 'unlink', 'add'], 'added'],
    [['change'], 'changed'],
    [['unlink', 'add'], 'changed'],
    [['change', 'unlink'], 'removed'],
    [['unlink'], 'removed'],
    [['touch'], 'changed'],
    [['touch', 'add', 'unlink', 'touch'], undefined],
  ] as const)('%j -> %s', (kinds, outcome) => {
    let first: 'add' | 'change' | 'unlink' | undefined;
    let last: typeof first;
    for (const kind of kinds) {
      if (kind === 'touch') continue;
      first ??= kind;
      last = kind;
    }
    expect(classify({ first, last })).toBe(outcome);
  });
});

describe('path policy', () => {
  it.each([
    ['a.yaml', false],
    ['sub/a.yaml', false],
    ['..data', false],
    ['..data/a.yaml', false],
    ['.a.yaml.swp', true],
    ['.#a.yaml', true],
    ['a.yaml~', true],
    ['..data_tmp', true],
    ['..2025_11_21_09_00_00.123', true],
    ['..2025_11_21_09_00_00.123/a.yaml', true],
    ['.git/config.yaml', true],
    ['', false],
  ])('isIgnoredPath(%j) is %s', (path, ignored) => {
    expect(isIgnoredPath(path)).toBe(ignored);
  });

  it.each([
    ['a.yaml', true],
    ['a.YML', true],
    ['a.json', true],
    ['a.js', true],
    ['a.mjs', true],
    ['sub/a.ts', true],
    ['..data', true],
    ['4913', false],
    ['#a.yaml#', false],
    ['a.yaml~', false],
    ['README.md', false],
    ['.a.yaml', false],
  ])('isRelevantPath(%j) is %s', (path, relevant) => {
    expect(isRelevantPath(path)).toBe(relevant);
  });

  it('resolves raw fs.watch paths from directory and file watchers', () => {
    expect(rawEventPath('/r', '..data')).toBe(join('/r', '..data'));
    expect(rawEventPath('/r/a.yaml', 'a.yaml')).toBe('/r/a.yaml');
    expect(rawEventPath('/r/sub', null)).toBe('/r/sub');
  });
});
