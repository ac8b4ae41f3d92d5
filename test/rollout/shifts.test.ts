// The ShiftScheduler with a manual clock: holds, one step per expiry, persisted progress across
// restarts, pause/resume/abort, edited shifts, a corrupt progress file, readiness waiting.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrafficShiftRule } from '../../src/rules/model.js';
import { ShiftScheduler, SHIFT_PROGRESS_FILE, type ShiftEvent, type ShiftProgressFile } from '../../src/rollout/shifts.js';
import { trafficShift } from '../compile/fixtures.js';
import { ManualClock } from './manual-clock.js';

const S = 'search-v4-rollout';
const steps = [
  { percent: 5, holdSeconds: 60 },
  { percent: 25, holdSeconds: 120 },
  { percent: 100, holdSeconds: 30 },
];
const shifts = (rule: TrafficShiftRule = trafficShift(S, 'SearchRanking', 'search-v4', steps)): Map<string, TrafficShiftRule> => new Map([[rule.name, rule]]);

let dir: string;
let clock: ManualClock;
let open: ShiftScheduler[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-shifts-'));
  clock = new ManualClock();
  open = [];
});

afterEach(async () => {
  for (const s of open) s.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Rig {
  scheduler: ShiftScheduler;
  advances: string[];
  aborts: string[];
  events: ShiftEvent[];
}

/** A scheduler whose onAdvance does what the pipeline does: sync (the compile) with the rules. */
async function rig(rules = shifts(), extra: { isRoutable?: (m: string) => boolean } = {}): Promise<Rig> {
  const advances: string[] = [];
  const aborts: string[] = [];
  const events: ShiftEvent[] = [];
  const scheduler: ShiftScheduler = await ShiftScheduler.open({
    dir,
    clock,
    onAdvance: async (reason) => {
      advances.push(reason);
      await scheduler.sync(rules);
    },
    onAbort: async (reason) => {
      aborts.push(reason);
      await scheduler.sync(rules);
    },
    ...extra,
  });
  scheduler.onEvent((e) => events.push(e));
  open.push(scheduler);
  return { scheduler, advances, aborts, events };
}

async function progress(): Promise<ShiftProgressFile> {
  return JSON.parse(await readFile(path.join(dir, SHIFT_PROGRESS_FILE), 'utf8')) as ShiftProgressFile;
}

/** Fires due timers, then waits for the advance they started (disk writes, onAdvance). */
async function advance(r: Rig, ms: number): Promise<void> {
  clock.advance(ms);
  await r.scheduler.idle();
}

describe('ShiftScheduler', () => {
  it('advances one step per hold, each through onAdvance, then completes; progress is persisted', async () => {
    const r = await rig();
    expect(await r.scheduler.sync(shifts())).toEqual({ shiftSteps: { [S]: 0 }, abortedShifts: [] });
    const t0 = clock.now();
    expect((await progress()).shifts[S]).toMatchObject({ step: 0, state: 'running', stepStartedAt: new Date(t0).toISOString() });
    r.scheduler.start();

    await advance(r, 59_999);
    expect(r.advances).toEqual([]);
    await advance(r, 1);
    expect(r.advances).toEqual([`traffic shift ${S} step 1 (25%)`]);
    expect(r.scheduler.compileOptions().shiftSteps).toEqual({ [S]: 1 });
    // The step holds from the compile that carried it.
    expect((await progress()).shifts[S]).toMatchObject({ step: 1, state: 'running', stepStartedAt: new Date(t0 + 60_000).toISOString() });
    expect(r.scheduler.state().shifts[0]).toMatchObject({ step: 1, percent: 25, nextAt: new Date(t0 + 180_000).toISOString(), waiting: null });

    await advance(r, 120_000);
    expect(r.advances).toHaveLength(2);
    await advance(r, 30_000);
    expect(r.advances).toHaveLength(2); // completing publishes nothing new
    expect(r.scheduler.state().shifts[0]).toMatchObject({ state: 'completed', step: 2, percent: 100, nextAt: null });
    expect((await progress()).shifts[S]).toMatchObject({ step: 2, state: 'completed', stepStartedAt: null });
    expect(r.events.map((e) => e.type)).toEqual(['started', 'advanced', 'advanced', 'completed']);
    expect(clock.pending()).toBe(0);
  });

  it('a restart mid-step resumes the same step and the same hold', async () => {
    const a = await rig();
    await a.scheduler.sync(shifts());
    a.scheduler.start();
    await advance(a, 60_000); // step 1, holds 120 s
    await advance(a, 50_000);
    const before = a.scheduler.state().shifts[0]!;
    a.scheduler.stop();

    const b = await rig();
    expect(await b.scheduler.sync(shifts())).toEqual({ shiftSteps: { [S]: 1 }, abortedShifts: [] });
    b.scheduler.start();
    expect(b.scheduler.state().shifts[0]).toEqual(before);
    await advance(b, 69_999);
    expect(b.advances).toEqual([]);
    await advance(b, 1);
    expect(b.advances).toEqual([`traffic shift ${S} step 2 (100%)`]);
  });

  it('after downtime longer than several holds, advances exactly one step, published, with its full hold', async () => {
    const a = await rig();
    await a.scheduler.sync(shifts());
    a.scheduler.stop();
    clock.jump(3_600_000); // down for an hour: steps 0 and 1 would both have expired

    const b = await rig();
    expect((await b.scheduler.sync(shifts())).shiftSteps).toEqual({ [S]: 0 });
    b.scheduler.start();
    await advance(b, 0);
    expect(b.advances).toEqual([`traffic shift ${S} step 1 (25%)`]);
    expect(b.scheduler.compileOptions().shiftSteps).toEqual({ [S]: 1 });
    await advance(b, 119_999);
    expect(b.advances).toHaveLength(1);
    await advance(b, 1);
    expect(b.advances).toHaveLength(2);
  });

  it('a step whose publish failed does not hold until a compile carries it', async () => {
    let fail = true;
    const scheduler: ShiftScheduler = await ShiftScheduler.open({
      dir,
      clock,
      onAdvance: async () => {
        if (fail) throw new Error('rules rejected');
        await scheduler.sync(shifts());
      },
    });
    open.push(scheduler);
    await scheduler.sync(shifts());
    scheduler.start();
    clock.advance(60_000);
    await scheduler.idle();
    expect(scheduler.state().shifts[0]).toMatchObject({ step: 1, stepStartedAt: null, waiting: 'the step is not published yet' });
    clock.advance(600_000);
    await scheduler.idle();
    expect(scheduler.state().shifts[0]!.step).toBe(1);
    fail = false;
    await scheduler.sync(shifts()); // the next successful compile
    expect(scheduler.state().shifts[0]).toMatchObject({ step: 1, stepStartedAt: new Date(clock.now()).toISOString() });
  });

  it('pause keeps the step and the time already held; resume holds for the rest', async () => {
    const r = await rig();
    await r.scheduler.sync(shifts());
    r.scheduler.start();
    await advance(r, 40_000);
    expect(await r.scheduler.pause(S)).toMatchObject({ state: 'paused', step: 0, nextAt: null });
    expect((await progress()).shifts[S]).toMatchObject({ state: 'paused', elapsedMs: 40_000, stepStartedAt: null });
    await advance(r, 3_600_000);
    expect(r.advances).toEqual([]);
    expect(r.scheduler.compileOptions()).toEqual({ shiftSteps: { [S]: 0 }, abortedShifts: [] });
    // A restart while paused stays paused.
    r.scheduler.stop();
    const b = await rig();
    await b.scheduler.sync(shifts());
    b.scheduler.start();
    await advance(b, 3_600_000);
    expect(b.advances).toEqual([]);
    expect(await b.scheduler.resume(S)).toMatchObject({ state: 'running', nextAt: new Date(clock.now() + 20_000).toISOString() });
    await advance(b, 20_000);
    expect(b.advances).toEqual([`traffic shift ${S} step 1 (25%)`]);
  });

  it('abort: compiled as aborted, published through onAbort, and persisted; an edit restarts the shift at step 0', async () => {
    const r = await rig();
    await r.scheduler.sync(shifts());
    r.scheduler.start();
    await advance(r, 60_000);
    expect(await r.scheduler.abort(S)).toMatchObject({ state: 'aborted', step: 1, percent: 0 });
    expect(r.aborts).toEqual([`traffic shift ${S} aborted`]);
    expect(r.scheduler.compileOptions()).toEqual({ shiftSteps: { [S]: 1 }, abortedShifts: [S] });
    await advance(r, 3_600_000);
    expect(r.advances).toHaveLength(1);
    await expect(r.scheduler.resume(S)).rejects.toMatchObject({ code: 'ROLLOUT_SHIFT_STATE' });
    await expect(r.scheduler.pause(S)).rejects.toMatchObject({ code: 'ROLLOUT_SHIFT_STATE' });
    await expect(r.scheduler.pause('nope')).rejects.toMatchObject({ code: 'ROLLOUT_UNKNOWN_SHIFT' });

    // A restart keeps it aborted.
    r.scheduler.stop();
    const b = await rig();
    expect(await b.scheduler.sync(shifts())).toEqual({ shiftSteps: { [S]: 1 }, abortedShifts: [S] });
    // Editing the shift (another step list) restarts it at step 0, running.
    const edited = trafficShift(S, 'SearchRanking', 'search-v4', [{ percent: 10, holdSeconds: 60 }, ...steps.slice(1)]);
    expect(await b.scheduler.sync(shifts(edited))).toEqual({ shiftSteps: { [S]: 0 }, abortedShifts: [] });
    expect(b.events.map((e) => e.type)).toEqual(['restarted']);
    // A shift removed from the rules is forgotten.
    expect(await b.scheduler.sync(new Map())).toEqual({ shiftSteps: {}, abortedShifts: [] });
    expect((await progress()).shifts).toEqual({});
  });

  it('a corrupt progress file is moved aside and every shift restarts paused at step 0', async () => {
    await writeFile(path.join(dir, SHIFT_PROGRESS_FILE), '{"format": 1, "shifts": {"x": {"step": "two"}}}');
    const r = await rig();
    expect(await r.scheduler.sync(shifts())).toEqual({ shiftSteps: { [S]: 0 }, abortedShifts: [] });
    const st = r.scheduler.state();
    expect(st.shifts[0]).toMatchObject({ state: 'paused', step: 0 });
    expect(st.recoveredFrom).toMatch(/shifts\.json\.corrupt-/);
    expect((await readdir(dir)).filter((f) => f.startsWith('shifts.json.corrupt-'))).toHaveLength(1);
    expect((await progress()).shifts[S]).toMatchObject({ state: 'paused', step: 0 });
  });

  it('the hold of a shift to a model that is not routable waits for readiness', async () => {
    let routable = false;
    const r = await rig(shifts(), { isRoutable: () => routable });
    await r.scheduler.sync(shifts());
    r.scheduler.start();
    expect(r.scheduler.state().shifts[0]).toMatchObject({ stepStartedAt: null, waiting: 'model "search-v4" is not routable yet (readiness)' });
    await advance(r, 3_600_000);
    expect(r.advances).toEqual([]);
    routable = true;
    await r.scheduler.sync(shifts()); // the recompile the readiness gate triggers
    await advance(r, 60_000);
    expect(r.advances).toHaveLength(1);
    // Withdrawn again: the clock stops at the next compile.
    routable = false;
    await r.scheduler.sync(shifts());
    await advance(r, 3_600_000);
    expect(r.advances).toHaveLength(1);
  });
});
