// Ordered, ACK-gated delivery of a new snapshot to the fleet: the SnapshotProvider the ADS server
// asks "which snapshot should this node hold now?".
//
// It holds the last good snapshot (fully rolled out) and, during a rollout, the target. The
// policy's waves (canary first) open one after another: snapshotFor(node) answers the target only
// for nodes whose wave is open, the last good one otherwise. A wave is done when every proxy in it
// (the streams connected when it opened, plus any that join) has ACKed the target for every type it
// subscribes to, and its bake time has passed; then the next wave opens. Any NACK of the target
// halts the rollout: every proxy goes back to the last good snapshot, the reason is recorded, and
// nothing else changes until an operator or a new publish acts. See docs/rollout.md.
import type { Logger } from 'pino';
import pino from 'pino';
import type { NodeInfo, ServedSnapshot, SnapshotProvider } from '../xds/provider.js';
import type { AdsServer } from '../xds/server.js';
import type { AdsStream, AckEvent, NackEvent, SendEvent } from '../xds/stream.js';
import { isFullStateType, shortName } from '../proto/type-urls.js';
import { typeVersion } from '../snapshot/snapshot.js';
import type { TypeStatus } from '../xds/stream-status.js';
import { SwitchyardError } from '../errors/catalog.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { DEFAULT_ROLLOUT_POLICY, describePolicy, waveOf, type RolloutPolicySpec } from './policy.js';

/** What the provider listens to: the ADS server's stream events (AdsServer satisfies it). */
export type FleetSource = Pick<AdsServer, 'on' | 'off'>;
/** A stream as the provider sees it (AdsStream). */
export type FleetStream = Pick<AdsStream, 'id' | 'node' | 'closed' | 'status'>;

export type RolloutStatus = 'idle' | 'rolling' | 'paused' | 'halted' | 'completed' | 'aborted' | 'forced' | 'superseded';
export type WaveStatus = 'pending' | 'active' | 'baking' | 'done' | 'halted' | 'skipped';

/** An open wave waited the policy's ACK timeout: the rollout paused until an operator decides. */
export interface StallReason {
  readonly wave: number;
  readonly name: string;
  /** Members that had not ACKed the target (node ids, at most 20). */
  readonly waitingFor: readonly string[];
  readonly waiting: number;
  readonly ackTimeoutMs: number;
  readonly at: string;
}

export interface HaltReason {
  readonly node: string;
  readonly cluster: string;
  readonly streamId: string;
  readonly typeUrl: string;
  /** CDS, EDS, LDS, RDS, RESOLVER. */
  readonly type: string;
  /** The client's error_detail message. */
  readonly message: string;
  /** The type version the client rejected. */
  readonly rejectedVersion: string;
  /** Index of the wave the node belongs to. */
  readonly wave: number;
  readonly at: string;
}

export interface WaveState {
  readonly index: number;
  readonly name: string;
  /** Cumulative share of the non-canary fleet; absent for the canary. */
  readonly percent?: number;
  readonly bakeMs: number;
  readonly status: WaveStatus;
  /** Connected proxies (streams with a known node) that belong to the wave now. */
  readonly members: number;
  /** Members that hold the target (ACKed it for every subscribed type). */
  readonly acked: number;
  /** Up to 20 node ids of members not holding the target yet (open waves only). */
  readonly waitingFor: readonly string[];
  readonly openedAt: string | null;
  readonly ackedAt: string | null;
  readonly doneAt: string | null;
  /** When the bake of a baking wave ends. */
  readonly bakeUntil: string | null;
}

export interface RolloutSummary {
  readonly id: number;
  readonly status: RolloutStatus;
  readonly targetVersion: string;
  readonly fromVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly haltReason: HaltReason | null;
}

export interface RolloutState {
  /** idle: nothing rolled out since start; completed/aborted/forced/superseded/halted: the last rollout ended so. */
  readonly status: RolloutStatus;
  /** Operators paused rollouts: no wave opens until resume (sticky across publishes). */
  readonly paused: boolean;
  readonly lastGoodVersion: string | null;
  /** The version being rolled out (or the one the last rollout tried). */
  readonly targetVersion: string | null;
  readonly rolloutId: number | null;
  readonly policy: { readonly name: string; readonly source: 'rules' | 'default'; readonly description: string };
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Index of the highest open wave; null when none is open. */
  readonly currentWave: number | null;
  readonly waves: readonly WaveState[];
  readonly haltReason: HaltReason | null;
  /** Set while a rollout is paused because a wave did not ACK in time; resume waits again, force or abort end it. */
  readonly stall: StallReason | null;
  /** Newest first, at most 20 (the current one included). */
  readonly history: readonly RolloutSummary[];
}

export type RolloutEvent =
  | { readonly type: 'installed'; readonly version: string; readonly urgent: boolean }
  | { readonly type: 'started'; readonly rollout: number; readonly target: string; readonly from: string }
  | { readonly type: 'wave-opened' | 'wave-acked' | 'wave-done'; readonly rollout: number; readonly target: string; readonly wave: number; readonly name: string; readonly members: number }
  | { readonly type: 'completed' | 'aborted' | 'forced' | 'superseded'; readonly rollout: number; readonly target: string; readonly from: string }
  | { readonly type: 'halted'; readonly rollout: number; readonly target: string; readonly from: string; readonly reason: HaltReason }
  | { readonly type: 'stalled'; readonly rollout: number; readonly target: string; readonly reason: StallReason }
  | { readonly type: 'paused' | 'resumed' };

export interface RolloutProviderOptions {
  /** Waves of the next rollouts; default DEFAULT_ROLLOUT_POLICY. Replace with setPolicy(). */
  policy?: RolloutPolicySpec;
  /** The ADS server (or any source of its events). Or attach() later: the server needs the provider first. */
  fleet?: FleetSource;
  /** Served to every node until the first publish; becomes the last good snapshot. */
  initial?: ServedSnapshot;
  clock?: Clock;
  logger?: Logger;
  /** While a wave waits for ACKs, re-check its members this often (a safety net for streams that
   * settle on the target without sending anything, hence without an event). Default 500 ms. */
  recheckMs?: number;
}

interface Tracked {
  readonly stream: FleetStream;
  /** Wave under `policy` (computed once the node is known). */
  policy?: RolloutPolicySpec;
  wave?: number;
  /** Holds the current rollout's target (rollout id). */
  convergedFor?: number;
}

interface WaveRuntime {
  readonly spec: RolloutPolicySpec['waves'][number];
  readonly index: number;
  status: WaveStatus;
  openedAt?: number;
  ackedAt?: number;
  doneAt?: number;
  bakeUntil?: number;
  bakeTimer?: TimerHandle;
  /** Fires when the wave has waited ackTimeoutMs for ACKs (cleared once it ACKed). */
  ackTimer?: TimerHandle;
  /** Members (open waves) that do not hold the target yet. */
  readonly pending: Set<Tracked>;
}

interface Rollout {
  readonly id: number;
  readonly target: ServedSnapshot;
  readonly from: ServedSnapshot;
  readonly policy: RolloutPolicySpec;
  readonly waves: WaveRuntime[];
  /** Highest open wave, -1 before the canary opens. */
  opened: number;
  status: RolloutStatus;
  readonly startedAt: number;
  finishedAt?: number;
  halt?: HaltReason;
  stall?: StallReason;
}

const HISTORY = 20;
const WAITING_SHOWN = 20;

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * A type the stream has already rejected in exactly the target's content (design rule 3: the server
 * never sends rejected content to that stream again, so it will neither ACK nor NACK it anew).
 * State-of-the-world versions are content versions: the type set's version, or for a named LDS/CDS
 * subscription the version of the named subset.
 */
export function refusedType(stream: FleetStream, target: ServedSnapshot): TypeStatus | undefined {
  if (!stream.node || stream.closed) return undefined;
  for (const t of stream.status().types) {
    if (!t.lastNack || t.pendingAck || t.ackedSnapshot === target.version) continue;
    const set = target.type(t.typeUrl);
    if (!set) continue;
    if (t.lastNack.version === set.version) return t;
    if (!t.wildcard && isFullStateType(t.typeUrl)) {
      const picked = t.subscribed.map((n) => set.resources.get(n)).filter((r) => r !== undefined);
      if (t.lastNack.version === typeVersion(picked)) return t;
    }
  }
  return undefined;
}

/** The stream holds `target`: every subscribed type the target serves is ACKed at the target's version, nothing in flight. */
export function streamHolds(stream: FleetStream, target: ServedSnapshot): boolean {
  if (!stream.node || stream.closed) return false;
  for (const t of stream.status().types) {
    if (!t.wildcard && t.subscribed.length === 0) continue;
    if (!target.type(t.typeUrl)) continue;
    if (t.pendingAck || t.ackedSnapshot !== target.version) return false;
  }
  return true;
}

export class RolloutProvider implements SnapshotProvider {
  private lastGoodSnapshot: ServedSnapshot | undefined;
  private rollout: Rollout | undefined;
  private readonly history: Rollout[] = [];
  private policy: RolloutPolicySpec;
  private paused = false;
  private seq = 0;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: RolloutEvent) => void>();
  private readonly tracked = new Map<FleetStream, Tracked>();
  /** Wave of each node object (a stream's node never changes), per policy. */
  private nodeWaves = new WeakMap<NodeInfo, { policy: RolloutPolicySpec; wave: number }>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recheckMs: number;
  private recheckTimer: TimerHandle | undefined;
  private advanceQueued = false;
  private detach: (() => void) | undefined;

  constructor(options: RolloutProviderOptions = {}) {
    this.policy = options.policy ?? DEFAULT_ROLLOUT_POLICY;
    this.lastGoodSnapshot = options.initial;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? pino({ level: 'silent' });
    this.recheckMs = options.recheckMs ?? 500;
    if (options.fleet) this.attach(options.fleet);
  }

  // ---- SnapshotProvider

  snapshotFor(node: NodeInfo): ServedSnapshot | undefined {
    const r = this.rollout;
    if (!r || r.opened < 0 || (r.status !== 'rolling' && r.status !== 'paused')) return this.lastGoodSnapshot;
    return this.waveOfNode(node, r.policy) <= r.opened ? r.target : this.lastGoodSnapshot;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- wiring

  /** Listens to the ADS server's stream events (call before the server starts). Returns detach. */
  attach(fleet: FleetSource): () => void {
    this.detach?.();
    const open = (s: AdsStream): void => void this.track(s);
    const close = (s: AdsStream): void => this.untrack(s);
    const send = (e: SendEvent): void => this.touch(e.stream);
    const ack = (e: AckEvent): void => this.touch(e.stream);
    const nack = (e: NackEvent): void => this.onNack(e);
    fleet.on('open', open);
    fleet.on('close', close);
    fleet.on('send', send);
    fleet.on('ack', ack);
    fleet.on('nack', nack);
    const detach = (): void => {
      fleet.off('open', open);
      fleet.off('close', close);
      fleet.off('send', send);
      fleet.off('ack', ack);
      fleet.off('nack', nack);
      if (this.detach === detach) this.detach = undefined;
    };
    this.detach = detach;
    return detach;
  }

  /** Lifecycle events (wave opened, halted, completed...), e.g. for the control plane and metrics.
   * On 'completed' and 'forced', lastGood is already the target. */
  onEvent(listener: (e: RolloutEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** The waves of the next rollouts (a running rollout keeps the policy it started with). */
  setPolicy(policy: RolloutPolicySpec): void {
    this.policy = policy;
  }

  get currentPolicy(): RolloutPolicySpec {
    return this.policy;
  }

  /** The fully rolled out snapshot. */
  get lastGood(): ServedSnapshot | undefined {
    return this.lastGoodSnapshot;
  }

  /** The newest published snapshot: the target of a running rollout, else the last good one. */
  get snapshot(): ServedSnapshot | undefined {
    const r = this.rollout;
    return r && (r.status === 'rolling' || r.status === 'paused') ? r.target : this.lastGoodSnapshot;
  }

  // ---- publishing

  /**
   * Rolls a snapshot out wave by wave. The first snapshot ever published (nothing to roll from) is
   * installed at once. A publish during a rollout supersedes it: the new one starts over from the
   * last good snapshot (proxies on the superseded target go back to the last good one until their
   * wave opens). Publishing the version a halted rollout tried again changes nothing (resume
   * retries it); publishing the last good version ends a running rollout.
   */
  publish(snapshot: ServedSnapshot): void {
    const lastGood = this.lastGoodSnapshot;
    if (!lastGood) {
      this.install(snapshot, false);
      return;
    }
    const r = this.rollout;
    const running = r !== undefined && (r.status === 'rolling' || r.status === 'paused');
    if (r && (running || r.status === 'halted') && r.target.version === snapshot.version) return;
    if (snapshot.version === lastGood.version) {
      if (r && (running || r.status === 'halted')) {
        this.finish(r, 'superseded');
        this.emitChange();
      }
      return;
    }
    if (r && (running || r.status === 'halted')) this.finish(r, 'superseded');
    this.start(snapshot, lastGood);
  }

  /** Everyone gets the snapshot at once, no waves (rollbacks, aborts); it becomes the last good one. */
  publishUrgent(snapshot: ServedSnapshot): void {
    const r = this.rollout;
    if (r && (r.status === 'rolling' || r.status === 'paused' || r.status === 'halted')) this.finish(r, 'superseded');
    this.install(snapshot, true);
  }

  // ---- operators

  /** No wave opens until resume() (open waves still collect ACKs and bake). Also holds rollouts started meanwhile. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.rollout?.status === 'rolling') this.rollout.status = 'paused';
    this.log.warn({ event: 'rollout_paused', target: this.rollout?.target.version ?? null }, 'rollouts paused');
    this.emitEvent({ type: 'paused' });
  }

  /** Lifts a pause; on a halted rollout, retries the same target from the canary. */
  resume(): void {
    const r = this.rollout;
    const wasPaused = this.paused;
    this.paused = false;
    if (r?.status === 'halted' && this.lastGoodSnapshot) {
      this.log.warn({ event: 'rollout_retry', target: r.target.version }, 'retrying a halted rollout from the canary');
      const target = r.target;
      this.finish(r, 'superseded');
      this.start(target, this.lastGoodSnapshot);
      return;
    }
    if (wasPaused) {
      this.log.info({ event: 'rollout_resumed', target: r?.target.version ?? null }, 'rollouts resumed');
      this.emitEvent({ type: 'resumed' });
    }
    if (r?.status === 'paused') {
      r.status = 'rolling';
      // Waiting again (after a stall or an operator pause): a fresh deadline for the open wave if it still waits.
      r.stall = undefined;
      const w = r.waves[r.opened];
      if (w?.status === 'active' && w.ackTimer === undefined) this.armAckDeadline(r, w);
      this.advance(r);
    }
  }

  /** Everyone back on the last good snapshot at once; the target is dropped. */
  abort(): void {
    const r = this.requireRollout(true);
    this.finish(r, 'aborted');
    this.log.warn({ event: 'rollout_aborted', target: r.target.version, lastGood: r.from.version }, 'rollout aborted: every proxy back on the last good version');
    this.emitChange();
  }

  /** Everyone on the target at once; it becomes the last good snapshot (also for a halted rollout). */
  forceComplete(): void {
    const r = this.requireRollout(true);
    this.lastGoodSnapshot = r.target;
    this.finish(r, 'forced');
    this.log.warn({ event: 'rollout_forced', target: r.target.version }, 'rollout forced: every proxy gets the target now');
    this.emitChange();
  }

  // ---- state

  state(): RolloutState {
    const r = this.rollout;
    const policy = r?.policy ?? this.policy;
    const policyView = { name: policy.name, source: policy.source, description: describePolicy(policy) };
    const base = {
      paused: this.paused,
      lastGoodVersion: this.lastGoodSnapshot?.version ?? null,
      policy: policyView,
      history: [...this.history].reverse().map((h) => this.summary(h)),
    };
    if (!r) {
      return { ...base, status: 'idle', targetVersion: null, rolloutId: null, startedAt: null, finishedAt: null, currentWave: null, waves: [], haltReason: null, stall: null };
    }
    // Members per wave, counted now (streams come and go).
    const members = r.waves.map(() => ({ n: 0, acked: 0, waiting: [] as string[] }));
    for (const t of this.tracked.values()) {
      const w = this.trackedWave(t, r.policy);
      if (w === undefined) continue;
      const m = members[w]!;
      m.n++;
      const opened = w <= r.opened;
      if (opened && streamHolds(t.stream, r.target)) m.acked++;
      else if (opened && m.waiting.length < WAITING_SHOWN) m.waiting.push(t.stream.node!.id);
    }
    return {
      ...base,
      status: r.status,
      targetVersion: r.target.version,
      rolloutId: r.id,
      startedAt: iso(r.startedAt),
      finishedAt: iso(r.finishedAt),
      currentWave: r.opened >= 0 ? r.opened : null,
      waves: r.waves.map((w, i) => ({
        index: i,
        name: w.spec.name,
        ...(w.spec.percent !== undefined ? { percent: w.spec.percent } : {}),
        bakeMs: w.spec.bakeMs,
        status: w.status,
        members: members[i]!.n,
        acked: members[i]!.acked,
        waitingFor: members[i]!.waiting.sort(),
        openedAt: iso(w.openedAt),
        ackedAt: iso(w.ackedAt),
        doneAt: iso(w.doneAt),
        bakeUntil: w.status === 'baking' ? iso(w.bakeUntil) : null,
      })),
      haltReason: r.halt ?? null,
      stall: r.stall ?? null,
    };
  }

  // ---- internals: lifecycle

  private install(snapshot: ServedSnapshot, urgent: boolean): void {
    if (this.lastGoodSnapshot?.version === snapshot.version && !urgent) return;
    this.lastGoodSnapshot = snapshot;
    this.log.info({ event: urgent ? 'snapshot_urgent' : 'snapshot_installed', version: snapshot.version }, urgent ? 'urgent change: every proxy gets it now' : 'first snapshot: served to every proxy');
    this.emitEvent({ type: 'installed', version: snapshot.version, urgent });
    this.emitChange();
  }

  private start(target: ServedSnapshot, from: ServedSnapshot): void {
    const policy = this.policy;
    const r: Rollout = {
      id: ++this.seq,
      target,
      from,
      policy,
      waves: policy.waves.map((spec, index) => ({ spec, index, status: 'pending', pending: new Set<Tracked>() })),
      opened: -1,
      status: this.paused ? 'paused' : 'rolling',
      startedAt: this.clock.now(),
    };
    this.rollout = r;
    this.history.push(r);
    if (this.history.length > HISTORY) this.history.shift();
    this.log.info({ event: 'rollout_started', rollout: r.id, target: target.version, from: from.version, policy: policy.name, waves: describePolicy(policy), paused: this.paused }, 'rollout started');
    this.emitEvent({ type: 'started', rollout: r.id, target: target.version, from: from.version });
    if (r.status === 'paused') this.emitChange(); // proxies on a superseded target go back to the last good one
    else this.openWave(r, 0);
  }

  private finish(r: Rollout, status: 'completed' | 'aborted' | 'forced' | 'superseded'): void {
    r.status = status;
    r.finishedAt ??= this.clock.now();
    for (const w of r.waves) {
      if (w.bakeTimer !== undefined) this.clock.clearTimeout(w.bakeTimer);
      w.bakeTimer = undefined;
      this.clearAckDeadline(w);
      w.pending.clear();
      if (w.status === 'pending') w.status = 'skipped';
      else if (w.status === 'active' || w.status === 'baking') w.status = status === 'forced' ? 'done' : 'skipped';
    }
    this.stopRecheck();
    this.emitEvent({ type: status, rollout: r.id, target: r.target.version, from: r.from.version });
  }

  private openWave(r: Rollout, index: number): void {
    const w = r.waves[index]!;
    w.status = 'active';
    w.openedAt = this.clock.now();
    r.opened = index;
    const members = this.memberCount(r, index);
    this.log.info({ event: 'rollout_wave_opened', rollout: r.id, target: r.target.version, wave: index, name: w.spec.name, members }, 'rollout wave opened');
    this.emitEvent({ type: 'wave-opened', rollout: r.id, target: r.target.version, wave: index, name: w.spec.name, members });
    // Proxies of the wave re-plan now (sends and ACKs arrive as events and are counted in touch()).
    this.emitChange();
    if (this.rollout !== r || r.status !== 'rolling') return;
    for (const t of this.tracked.values()) {
      if (this.trackedWave(t, r.policy) !== index) continue;
      if (this.converged(t, r)) w.pending.delete(t);
      else w.pending.add(t);
    }
    this.checkWave(r);
    if (w.status === 'active') this.armAckDeadline(r, w);
    this.armRecheck();
  }

  private armAckDeadline(r: Rollout, w: WaveRuntime): void {
    this.clearAckDeadline(w);
    if (r.policy.ackTimeoutMs <= 0) return;
    w.ackTimer = this.clock.setTimeout(() => {
      w.ackTimer = undefined;
      this.ackDeadline(r, w);
    }, r.policy.ackTimeoutMs);
  }

  private clearAckDeadline(w: WaveRuntime): void {
    if (w.ackTimer !== undefined) this.clock.clearTimeout(w.ackTimer);
    w.ackTimer = undefined;
  }

  /**
   * The wave waited its ACK timeout. A proxy that neither ACKs nor NACKs is not a rejection, so
   * nothing is rolled back: the rollout pauses (open waves keep the target and keep collecting
   * ACKs) and operators decide: resume waits again, force finishes, abort goes back.
   */
  private ackDeadline(r: Rollout, w: WaveRuntime): void {
    if (this.rollout !== r || r.status !== 'rolling' || w.status !== 'active' || w.pending.size === 0) return;
    const waiting = [...w.pending].map((t) => t.stream.node?.id ?? t.stream.id).sort();
    const stall: StallReason = { wave: w.index, name: w.spec.name, waitingFor: waiting.slice(0, WAITING_SHOWN), waiting: waiting.length, ackTimeoutMs: r.policy.ackTimeoutMs, at: new Date(this.clock.now()).toISOString() };
    r.stall = stall;
    this.log.error(
      { event: 'rollout_stalled', code: 'ROLLOUT_ACK_TIMEOUT', rollout: r.id, target: r.target.version, ...stall },
      `rollout paused: ${waiting.length} prox${waiting.length === 1 ? 'y' : 'ies'} of ${w.spec.name} did not ACK within ${r.policy.ackTimeoutMs / 1000} s`,
    );
    this.pause();
    this.emitEvent({ type: 'stalled', rollout: r.id, target: r.target.version, reason: stall });
  }

  /** The active wave is fully ACKed: bake, then done. */
  private checkWave(r: Rollout): void {
    if (this.rollout !== r || (r.status !== 'rolling' && r.status !== 'paused') || r.opened < 0) return;
    const w = r.waves[r.opened]!;
    if (w.status !== 'active' || w.pending.size > 0) return;
    w.ackedAt = this.clock.now();
    this.clearAckDeadline(w);
    this.log.info({ event: 'rollout_wave_acked', rollout: r.id, target: r.target.version, wave: w.index, name: w.spec.name, ms: w.ackedAt - (w.openedAt ?? w.ackedAt) }, 'every proxy of the wave ACKed the target');
    this.emitEvent({ type: 'wave-acked', rollout: r.id, target: r.target.version, wave: w.index, name: w.spec.name, members: this.memberCount(r, w.index) });
    if (w.spec.bakeMs > 0) {
      w.status = 'baking';
      w.bakeUntil = w.ackedAt + w.spec.bakeMs;
      w.bakeTimer = this.clock.setTimeout(() => {
        w.bakeTimer = undefined;
        if (this.rollout === r && w.status === 'baking') this.waveDone(r, w);
      }, w.spec.bakeMs);
    } else {
      this.waveDone(r, w);
    }
  }

  private waveDone(r: Rollout, w: WaveRuntime): void {
    w.status = 'done';
    w.doneAt = this.clock.now();
    w.pending.clear();
    this.emitEvent({ type: 'wave-done', rollout: r.id, target: r.target.version, wave: w.index, name: w.spec.name, members: this.memberCount(r, w.index) });
    this.advance(r);
  }

  /** Opens the next wave, or completes, unless paused. */
  private advance(r: Rollout): void {
    if (this.rollout !== r || r.status !== 'rolling') return;
    if (r.opened >= 0 && r.waves[r.opened]!.status !== 'done') return;
    const next = r.opened + 1;
    if (next < r.waves.length) {
      this.openWave(r, next);
      return;
    }
    this.lastGoodSnapshot = r.target;
    this.finish(r, 'completed');
    this.log.info({ event: 'rollout_completed', rollout: r.id, version: r.target.version, ms: (r.finishedAt ?? 0) - r.startedAt }, 'rollout completed: the target is the last good version');
  }

  private halt(r: Rollout, e: NackEvent): void {
    const node = e.stream.node;
    const reason: HaltReason = {
      node: node?.id ?? '',
      cluster: node?.cluster ?? '',
      streamId: e.stream.id,
      typeUrl: e.typeUrl,
      type: shortName(e.typeUrl),
      message: e.message,
      rejectedVersion: e.version,
      wave: node ? this.waveOfNode(node, r.policy) : -1,
      at: new Date(this.clock.now()).toISOString(),
    };
    r.status = 'halted';
    r.halt = reason;
    r.finishedAt = this.clock.now();
    for (const w of r.waves) {
      if (w.bakeTimer !== undefined) this.clock.clearTimeout(w.bakeTimer);
      w.bakeTimer = undefined;
      this.clearAckDeadline(w);
      w.pending.clear();
      if (w.status === 'active' || w.status === 'baking') w.status = 'halted';
      else if (w.status === 'pending') w.status = 'skipped';
    }
    this.stopRecheck();
    this.log.error(
      { event: 'rollout_halted', code: 'ROLLOUT_HALTED', rollout: r.id, target: r.target.version, lastGood: r.from.version, ...reason },
      'a proxy NACKed the target: rollout halted, every proxy back on the last good version',
    );
    this.emitEvent({ type: 'halted', rollout: r.id, target: r.target.version, from: r.from.version, reason });
    this.emitChange();
  }

  // ---- internals: streams

  private track(stream: FleetStream): Tracked {
    let t = this.tracked.get(stream);
    if (!t) {
      t = { stream };
      this.tracked.set(stream, t);
    }
    return t;
  }

  private untrack(stream: FleetStream): void {
    const t = this.tracked.get(stream);
    if (!t) return;
    this.tracked.delete(stream);
    const r = this.rollout;
    if (!r || r.opened < 0) return;
    const w = r.waves[r.opened]!;
    if (w.pending.delete(t)) this.queueCheck(r);
  }

  /** A stream sent, received an ACK or may have settled: re-evaluate it for the running rollout. */
  private touch(stream: FleetStream): void {
    const r = this.rollout;
    if (!r || (r.status !== 'rolling' && r.status !== 'paused') || r.opened < 0 || stream.closed) return;
    const t = this.track(stream);
    const wave = this.trackedWave(t, r.policy);
    if (wave !== r.opened) return; // earlier waves are done; later ones hold the last good snapshot
    const w = r.waves[wave]!;
    if (this.converged(t, r)) {
      if (w.pending.delete(t) && w.pending.size === 0) this.queueCheck(r);
    } else if (w.status === 'active' || w.status === 'baking') {
      w.pending.add(t); // a joiner, or a member whose target arrived in pieces
    }
  }

  private onNack(e: NackEvent): void {
    const r = this.rollout;
    if (!r || (r.status !== 'rolling' && r.status !== 'paused') || e.snapshotVersion !== r.target.version) {
      this.touch(e.stream);
      return;
    }
    // Outside the server's request handling: the halt re-plans every stream.
    queueMicrotask(() => {
      if (this.rollout === r && (r.status === 'rolling' || r.status === 'paused')) this.halt(r, e);
    });
  }

  /** Wave transitions run after the event that caused them, never inside the server's handlers. */
  private queueCheck(r: Rollout): void {
    if (this.advanceQueued) return;
    this.advanceQueued = true;
    queueMicrotask(() => {
      this.advanceQueued = false;
      this.checkWave(r);
    });
  }

  private converged(t: Tracked, r: Rollout): boolean {
    if (t.convergedFor === r.id) return true;
    if (!streamHolds(t.stream, r.target)) {
      const refused = refusedType(t.stream, r.target);
      if (refused) this.queueRefusal(r, t.stream, refused);
      return false;
    }
    t.convergedFor = r.id;
    return true;
  }

  /** A member that already rejected the target's content halts the rollout like a new NACK would. */
  private queueRefusal(r: Rollout, stream: FleetStream, t: TypeStatus): void {
    const nack = t.lastNack!;
    queueMicrotask(() => {
      if (this.rollout !== r || (r.status !== 'rolling' && r.status !== 'paused')) return;
      this.halt(r, {
        stream: stream as AdsStream,
        typeUrl: t.typeUrl,
        version: nack.version,
        nonce: '',
        snapshotVersion: r.target.version,
        latencyMs: 0,
        message: `already rejected this content on this stream at ${nack.at} (not sent again): ${nack.message}`,
      });
    });
  }

  private trackedWave(t: Tracked, policy: RolloutPolicySpec): number | undefined {
    const node = t.stream.node;
    if (!node || t.stream.closed) return undefined;
    if (t.policy !== policy || t.wave === undefined) {
      t.policy = policy;
      t.wave = this.waveOfNode(node, policy);
    }
    return t.wave;
  }

  private waveOfNode(node: NodeInfo, policy: RolloutPolicySpec): number {
    const cached = this.nodeWaves.get(node);
    if (cached && cached.policy === policy) return cached.wave;
    const wave = waveOf(node, policy);
    this.nodeWaves.set(node, { policy, wave });
    return wave;
  }

  private memberCount(r: Rollout, index: number): number {
    let n = 0;
    for (const t of this.tracked.values()) if (this.trackedWave(t, r.policy) === index) n++;
    return n;
  }

  /** Safety net while a wave waits: re-check its pending members (and streams whose node arrived late). */
  private armRecheck(): void {
    if (this.recheckTimer !== undefined || this.recheckMs <= 0) return;
    this.recheckTimer = this.clock.setTimeout(() => {
      this.recheckTimer = undefined;
      const r = this.rollout;
      if (!r || (r.status !== 'rolling' && r.status !== 'paused') || r.opened < 0) return;
      const w = r.waves[r.opened]!;
      if (w.status !== 'active' && w.status !== 'baking') return;
      for (const t of this.tracked.values()) if (t.wave === undefined || w.pending.has(t)) this.touch(t.stream);
      if (w.status === 'active' && w.pending.size === 0) this.checkWave(r);
      if (this.rollout === r && r.waves[r.opened]!.status === 'active') this.armRecheck();
    }, this.recheckMs);
  }

  private stopRecheck(): void {
    if (this.recheckTimer !== undefined) this.clock.clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
  }

  private requireRollout(includeHalted: boolean): Rollout {
    const r = this.rollout;
    if (r && (r.status === 'rolling' || r.status === 'paused' || (includeHalted && r.status === 'halted'))) return r;
    throw new SwitchyardError('ROLLOUT_NOT_ACTIVE', `no rollout in progress (last: ${r ? `${r.status} ${r.target.version}` : 'none'})`);
  }

  private summary(r: Rollout): RolloutSummary {
    return {
      id: r.id,
      status: r.status,
      targetVersion: r.target.version,
      fromVersion: r.from.version,
      startedAt: iso(r.startedAt)!,
      finishedAt: iso(r.finishedAt),
      haltReason: r.halt ?? null,
    };
  }

  private emitChange(): void {
    for (const l of [...this.listeners]) l();
  }

  private emitEvent(e: RolloutEvent): void {
    for (const l of [...this.eventListeners]) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ event: 'rollout_listener_error', err }, 'a rollout event listener threw');
      }
    }
  }
}
