// Traffic shifts that advance themselves. The ShiftScheduler knows, per TrafficShift, the current
// step, when that step started holding and whether the shift runs, is paused, aborted or completed.
// It gives the compiler `shiftSteps` / `abortedShifts`, and when the current step's hold expires it
// advances one step and asks for a recompile + publish (onAdvance), which goes through the same
// rollout as any rule change. Progress is persisted (xds-snapshots/shifts.json, atomic writes) so a
// restart neither resets nor skips a step. See docs/rollout.md for the exact rules.
//
// Invariants:
// - A step's hold starts when the compile that carries it runs (sync()), never before: a step that
//   was not published does not hold. (stepStartedAt = null means "not published yet".)
// - One step at a time: an expired hold (also one that expired while Switchyard was down) moves the
//   shift exactly one step, that step is published, and it holds for its full time.
// - A shift whose destination model is not routable (readiness gate) does not hold: its clock runs
//   only while users can actually reach the new model.
// - An edited shift (different objective, model or steps: another digest) restarts at step 0.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import type { TrafficShiftRule } from '../rules/model.js';
import { writeFileAtomic, isCode } from '../snapshot/store-fs.js';
import { SwitchyardError } from '../errors/catalog.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';

export const SHIFT_PROGRESS_FILE = 'shifts.json';
export const SHIFT_PROGRESS_FORMAT = 1;

export type ShiftRunState = 'running' | 'paused' | 'aborted' | 'completed';

/** One shift's persisted progress. Times are ISO strings. */
export interface ShiftProgress {
  /** Digest of the shift's definition (objective, to, steps): an edit restarts the shift at step 0. */
  readonly digest: string;
  readonly step: number;
  /** When the current step started holding; null until the compile that carries it runs (or while paused or waiting). */
  readonly stepStartedAt: string | null;
  readonly state: ShiftRunState;
  /** Paused: how long the step had held when it was paused (resume continues from there). */
  readonly elapsedMs?: number;
  readonly updatedAt: string;
}

export interface ShiftProgressFile {
  readonly format: typeof SHIFT_PROGRESS_FORMAT;
  readonly shifts: Readonly<Record<string, ShiftProgress>>;
}

/** What the compiler needs from the scheduler (spread into CompileOptions). */
export interface ShiftCompileOptions {
  readonly shiftSteps: Readonly<Record<string, number>>;
  readonly abortedShifts: readonly string[];
}

export interface ShiftView {
  readonly name: string;
  readonly objective: string;
  readonly to: string;
  readonly state: ShiftRunState;
  readonly step: number;
  readonly steps: number;
  /** Share of users on `to` now (0 when aborted). */
  readonly percent: number;
  readonly holdSeconds: number;
  readonly stepStartedAt: string | null;
  /** When the next step (or completion) is due; null when not running or not holding. */
  readonly nextAt: string | null;
  /** Why a running shift's clock does not run (its model is not routable, or the step is not published yet). */
  readonly waiting: string | null;
  readonly digest: string;
}

export interface ShiftSchedulerState {
  readonly file: string;
  readonly shifts: readonly ShiftView[];
  /** The last failure to write the progress file, if the newest write failed. */
  readonly writeError: string | null;
  /** The progress file was unreadable at start and moved aside (all shifts restarted paused at step 0). */
  readonly recoveredFrom: string | null;
}

export type ShiftEvent =
  | { readonly type: 'started' | 'restarted'; readonly shift: string; readonly step: number }
  | { readonly type: 'advanced'; readonly shift: string; readonly step: number; readonly percent: number }
  | { readonly type: 'completed' | 'paused' | 'resumed' | 'aborted'; readonly shift: string; readonly step: number };

export interface ShiftSchedulerOptions {
  /** Directory of the progress file (the snapshot directory). */
  dir: string;
  /** File name inside `dir`; default shifts.json. */
  fileName?: string;
  /** Recompile and publish (through the rollout): wire to pipeline.reload. */
  onAdvance: (reason: string) => Promise<unknown>;
  /** Recompile and publish urgently (skipping the waves) after an abort; default onAdvance. */
  onAbort?: (reason: string) => Promise<unknown>;
  /** Readiness: a shift's hold runs only while its `to` model is routable. Default: always. */
  isRoutable?: (model: string) => boolean;
  clock?: Clock;
  logger?: Logger;
}

interface Entry {
  rule: TrafficShiftRule | undefined;
  digest: string;
  step: number;
  /** Epoch ms; undefined = not holding. */
  stepStartedAt: number | undefined;
  state: ShiftRunState;
  elapsedMs: number;
  updatedAt: number;
  timer?: TimerHandle;
}

/** Digest of what a shift does: objective, destination, steps (not its name, location or description). */
export function shiftDigest(rule: Pick<TrafficShiftRule, 'objective' | 'to' | 'steps'>): string {
  const canonical = JSON.stringify({ objective: rule.objective, to: rule.to, steps: rule.steps.map((s) => [s.percent, s.holdSeconds]) });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

function parseProgress(text: string): Map<string, ShiftProgress> {
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== SHIFT_PROGRESS_FORMAT) throw new Error(`not a format ${SHIFT_PROGRESS_FORMAT} progress file`);
  const shifts = (raw as { shifts?: unknown }).shifts;
  if (typeof shifts !== 'object' || shifts === null || Array.isArray(shifts)) throw new Error('"shifts" is not an object');
  const out = new Map<string, ShiftProgress>();
  for (const [name, p] of Object.entries(shifts as Record<string, unknown>)) {
    const e = p as Partial<ShiftProgress>;
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.digest === 'string' &&
      Number.isInteger(e.step) &&
      (e.step as number) >= 0 &&
      (e.stepStartedAt === null || (typeof e.stepStartedAt === 'string' && Number.isFinite(Date.parse(e.stepStartedAt)))) &&
      (e.state === 'running' || e.state === 'paused' || e.state === 'aborted' || e.state === 'completed') &&
      (e.elapsedMs === undefined || (typeof e.elapsedMs === 'number' && e.elapsedMs >= 0));
    if (!ok) throw new Error(`shift "${name}" has a malformed entry`);
    out.set(name, e as ShiftProgress);
  }
  return out;
}

export class ShiftScheduler {
  readonly file: string;
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private started = false;
  private recoveredFrom: string | null = null;
  /** Shifts restarted paused at step 0 after a corrupt progress file (until the first sync). */
  private pauseNewEntries = false;
  private writeError: string | null = null;
  private writes: Promise<void> = Promise.resolve();
  private dueChain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(e: ShiftEvent) => void>();

  private constructor(private readonly options: ShiftSchedulerOptions) {
    this.file = path.join(options.dir, options.fileName ?? SHIFT_PROGRESS_FILE);
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? pino({ level: 'silent' });
  }

  /** Reads the progress file (a missing file is a fresh start; a corrupt one is moved aside). */
  static async open(options: ShiftSchedulerOptions): Promise<ShiftScheduler> {
    const s = new ShiftScheduler(options);
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      throw new SwitchyardError('ROLLOUT_PROGRESS_CORRUPT', `reading ${this.file}: ${(err as Error).message}`);
    }
    let parsed: Map<string, ShiftProgress>;
    try {
      parsed = parseProgress(text);
    } catch (err) {
      const aside = `${this.file}.corrupt-${new Date(this.clock.now()).toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.file, aside);
      this.recoveredFrom = aside;
      this.pauseNewEntries = true;
      this.log.error(
        { event: 'shift_progress_corrupt', code: 'ROLLOUT_PROGRESS_CORRUPT', file: this.file, movedTo: aside, error: (err as Error).message },
        'traffic shift progress unreadable: moved aside; every shift restarts paused at step 0',
      );
      return;
    }
    for (const [name, p] of parsed) {
      this.entries.set(name, {
        rule: undefined,
        digest: p.digest,
        step: p.step,
        stepStartedAt: p.stepStartedAt === null ? undefined : Date.parse(p.stepStartedAt),
        state: p.state,
        elapsedMs: p.elapsedMs ?? 0,
        updatedAt: Date.parse(p.updatedAt) || this.clock.now(),
      });
    }
  }

  /**
   * Called by every compile with the rule set's shifts: reconciles progress (new shifts start at
   * step 0, edited ones restart at step 0, removed ones are forgotten), starts the hold of steps
   * this compile publishes, persists, and returns the compile options.
   */
  async sync(shifts: ReadonlyMap<string, TrafficShiftRule>): Promise<ShiftCompileOptions> {
    const now = this.clock.now();
    let changed = false;
    for (const [name, e] of this.entries) {
      if (!shifts.has(name)) {
        this.disarm(e);
        this.entries.delete(name);
        changed = true;
        this.log.info({ event: 'shift_forgotten', shift: name }, 'traffic shift removed from the rules: progress forgotten');
      }
    }
    for (const [name, rule] of shifts) {
      const digest = shiftDigest(rule);
      let e = this.entries.get(name);
      if (!e || e.digest !== digest) {
        const edited = e !== undefined;
        if (e) this.disarm(e);
        e = { rule, digest, step: 0, stepStartedAt: undefined, state: this.pauseNewEntries ? 'paused' : 'running', elapsedMs: 0, updatedAt: now };
        this.entries.set(name, e);
        changed = true;
        this.log.info({ event: edited ? 'shift_restarted' : 'shift_started', shift: name, objective: rule.objective, to: rule.to, state: e.state }, edited ? 'traffic shift edited: restarts at step 0' : 'traffic shift starts at step 0');
        this.emit({ type: edited ? 'restarted' : 'started', shift: name, step: 0 });
      }
      e.rule = rule;
      const last = rule.steps.length - 1;
      if (e.step > last) {
        e.step = Math.max(0, last);
        changed = true;
      }
      if (e.state === 'running') {
        const routable = this.routable(rule);
        if (routable && e.stepStartedAt === undefined) {
          e.stepStartedAt = now; // this compile carries the step: its hold starts now
          e.updatedAt = now;
          changed = true;
        } else if (!routable && e.stepStartedAt !== undefined) {
          e.stepStartedAt = undefined; // users cannot reach `to`: the hold waits for readiness
          e.updatedAt = now;
          changed = true;
        }
      }
    }
    this.pauseNewEntries = false;
    if (changed) await this.persist();
    if (this.started) for (const name of this.entries.keys()) this.arm(name);
    return this.compileOptions();
  }

  /** The compile options for the current progress (no reconciliation). */
  compileOptions(): ShiftCompileOptions {
    const shiftSteps: Record<string, number> = {};
    const aborted: string[] = [];
    for (const name of [...this.entries.keys()].sort()) {
      const e = this.entries.get(name)!;
      shiftSteps[name] = e.step;
      if (e.state === 'aborted') aborted.push(name);
    }
    return { shiftSteps, abortedShifts: aborted };
  }

  /** Arms the hold timers (a hold that expired while stopped fires at once: one step). */
  start(): void {
    this.started = true;
    for (const name of this.entries.keys()) this.arm(name);
  }

  /** Disarms every timer; progress stays on disk. */
  stop(): void {
    this.started = false;
    for (const e of this.entries.values()) this.disarm(e);
  }

  /** Resolves when no advance is in progress (tests, shutdown). */
  idle(): Promise<void> {
    return this.dueChain;
  }

  onEvent(listener: (e: ShiftEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- operators

  /** Freezes the shift at its step (users stay where they are); the hold resumes where it stopped. */
  async pause(name: string): Promise<ShiftView> {
    const e = this.entry(name);
    if (e.state === 'paused') return this.view(name, e);
    if (e.state !== 'running') throw new SwitchyardError('ROLLOUT_SHIFT_STATE', `traffic shift "${name}" is ${e.state}: only a running shift can be paused`);
    const now = this.clock.now();
    this.disarm(e);
    e.elapsedMs = e.stepStartedAt === undefined ? 0 : Math.max(0, now - e.stepStartedAt);
    e.stepStartedAt = undefined;
    e.state = 'paused';
    e.updatedAt = now;
    await this.persist();
    this.log.warn({ event: 'shift_paused', shift: name, step: e.step, elapsedMs: e.elapsedMs }, 'traffic shift paused');
    this.emit({ type: 'paused', shift: name, step: e.step });
    return this.view(name, e);
  }

  /** Continues a paused shift: the step holds for what was left of its hold. */
  async resume(name: string): Promise<ShiftView> {
    const e = this.entry(name);
    if (e.state === 'running') return this.view(name, e);
    if (e.state !== 'paused') {
      throw new SwitchyardError('ROLLOUT_SHIFT_STATE', `traffic shift "${name}" is ${e.state}: only a paused shift can be resumed`);
    }
    const now = this.clock.now();
    e.state = 'running';
    e.stepStartedAt = e.rule && this.routable(e.rule) ? now - e.elapsedMs : undefined;
    e.elapsedMs = 0;
    e.updatedAt = now;
    await this.persist();
    this.log.info({ event: 'shift_resumed', shift: name, step: e.step }, 'traffic shift resumed');
    this.emit({ type: 'resumed', shift: name, step: e.step });
    if (this.started) this.arm(name);
    return this.view(name, e);
  }

  /** Every user back on the objective's default model at once (compiled at 0 %, published urgently). */
  async abort(name: string): Promise<ShiftView> {
    const e = this.entry(name);
    if (e.state === 'aborted') return this.view(name, e);
    const now = this.clock.now();
    this.disarm(e);
    e.state = 'aborted';
    e.stepStartedAt = undefined;
    e.elapsedMs = 0;
    e.updatedAt = now;
    await this.persist();
    this.log.warn({ event: 'shift_aborted', shift: name, step: e.step }, 'traffic shift aborted: every user back on the previous model');
    this.emit({ type: 'aborted', shift: name, step: e.step });
    await (this.options.onAbort ?? this.options.onAdvance)(`traffic shift ${name} aborted`);
    return this.view(name, e);
  }

  state(): ShiftSchedulerState {
    return {
      file: this.file,
      shifts: [...this.entries.keys()].sort().map((n) => this.view(n, this.entries.get(n)!)),
      writeError: this.writeError,
      recoveredFrom: this.recoveredFrom,
    };
  }

  // ---- internals

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e || !e.rule) throw new SwitchyardError('ROLLOUT_UNKNOWN_SHIFT', `no traffic shift named "${name}"${this.entries.size > 0 ? ` (known: ${[...this.entries.keys()].sort().join(', ')})` : ''}`);
    return e;
  }

  private routable(rule: TrafficShiftRule): boolean {
    return this.options.isRoutable?.(rule.to) ?? true;
  }

  private view(name: string, e: Entry): ShiftView {
    const rule = e.rule;
    const step = rule?.steps[e.step];
    const hold = step?.holdSeconds ?? 0;
    const holding = e.state === 'running' && e.stepStartedAt !== undefined;
    let waiting: string | null = null;
    if (e.state === 'running' && e.stepStartedAt === undefined) waiting = rule && !this.routable(rule) ? `model "${rule.to}" is not routable yet (readiness)` : 'the step is not published yet';
    return {
      name,
      objective: rule?.objective ?? '',
      to: rule?.to ?? '',
      state: e.state,
      step: e.step,
      steps: rule?.steps.length ?? 0,
      percent: e.state === 'aborted' ? 0 : (step?.percent ?? 0),
      holdSeconds: hold,
      stepStartedAt: e.stepStartedAt === undefined ? null : new Date(e.stepStartedAt).toISOString(),
      nextAt: holding ? new Date(e.stepStartedAt! + hold * 1000).toISOString() : null,
      waiting,
      digest: e.digest,
    };
  }

  private disarm(e: Entry): void {
    if (e.timer !== undefined) this.clock.clearTimeout(e.timer);
    e.timer = undefined;
  }

  private arm(name: string): void {
    const e = this.entries.get(name);
    if (!e || !this.started) return;
    this.disarm(e);
    if (e.state !== 'running' || e.stepStartedAt === undefined || !e.rule) return;
    const step = e.rule.steps[e.step];
    if (!step) return;
    const dueAt = e.stepStartedAt + step.holdSeconds * 1000;
    const startedAt = e.stepStartedAt;
    e.timer = this.clock.setTimeout(() => {
      e.timer = undefined;
      // One advance at a time, in order; each re-checks that nothing changed meanwhile.
      this.dueChain = this.dueChain.then(() => this.due(name, startedAt)).catch((err: unknown) => {
        this.log.error({ event: 'shift_advance_error', shift: name, err }, 'traffic shift advance failed');
      });
    }, dueAt - this.clock.now());
  }

  private async due(name: string, startedAt: number): Promise<void> {
    const e = this.entries.get(name);
    if (!e || !e.rule || e.state !== 'running' || e.stepStartedAt !== startedAt) return;
    const last = e.rule.steps.length - 1;
    const now = this.clock.now();
    if (e.step >= last) {
      e.state = 'completed';
      e.stepStartedAt = undefined;
      e.updatedAt = now;
      await this.persist();
      this.log.info({ event: 'shift_completed', shift: name, step: e.step }, 'traffic shift completed');
      this.emit({ type: 'completed', shift: name, step: e.step });
      return;
    }
    e.step++;
    e.stepStartedAt = undefined; // holds from the compile that publishes it
    e.updatedAt = now;
    await this.persist();
    if ((e.state as ShiftRunState) === 'aborted' || this.entries.get(name) !== e) return; // the abort published already
    const percent = e.rule.steps[e.step]!.percent;
    this.log.info({ event: 'shift_advanced', shift: name, step: e.step, percent }, 'traffic shift advanced one step');
    this.emit({ type: 'advanced', shift: name, step: e.step, percent });
    try {
      await this.options.onAdvance(`traffic shift ${name} step ${e.step} (${percent}%)`);
    } catch (err) {
      // The step stays due: it holds from the next compile that carries it.
      this.log.error({ event: 'shift_publish_failed', shift: name, step: e.step, err }, 'publishing the next traffic shift step failed; it is retried with the next compile');
    }
    this.arm(name);
  }

  private snapshotFile(): ShiftProgressFile {
    const shifts: Record<string, ShiftProgress> = {};
    for (const name of [...this.entries.keys()].sort()) {
      const e = this.entries.get(name)!;
      shifts[name] = {
        digest: e.digest,
        step: e.step,
        stepStartedAt: e.stepStartedAt === undefined ? null : new Date(e.stepStartedAt).toISOString(),
        state: e.state,
        ...(e.state === 'paused' ? { elapsedMs: e.elapsedMs } : {}),
        updatedAt: new Date(e.updatedAt).toISOString(),
      };
    }
    return { format: SHIFT_PROGRESS_FORMAT, shifts };
  }

  /** Writes the current progress (atomic, durable); writes are serialized, the newest content wins. */
  private persist(): Promise<void> {
    const run = this.writes.then(async () => {
      const text = `${JSON.stringify(this.snapshotFile(), null, 2)}\n`;
      try {
        await writeFileAtomic(path.dirname(this.file), path.basename(this.file), text);
        this.writeError = null;
      } catch (err) {
        this.writeError = (err as Error).message;
        this.log.error({ event: 'shift_progress_write_failed', code: 'ROLLOUT_PROGRESS_WRITE_FAILED', file: this.file, error: this.writeError }, 'cannot write the traffic shift progress file');
      }
    });
    this.writes = run;
    return run;
  }

  private emit(e: ShiftEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ event: 'shift_listener_error', err }, 'a traffic shift event listener threw');
      }
    }
  }
}
