// The rollout layer as one object for the composition root: the RolloutProvider (waves), the
// ShiftScheduler (self-advancing traffic shifts) and, when enabled, the ReadinessGate, wired to
// each other. The app gives it a way to recompile (`recompile`, normally pipeline.reload) and asks
// it for the compile options of each compile.
import type { Logger } from 'pino';
import pino from 'pino';
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import type { RuleSet } from '../rules/model.js';
import type { Clock } from './clock.js';
import { RolloutProvider, type RolloutState } from './provider.js';
import { ReadinessGate, type ReadinessGateOptions, type ReadinessState } from './readiness.js';
import { ShiftScheduler, type ShiftSchedulerState } from './shifts.js';
import { rolloutCompileOptions } from './wiring.js';

export interface RolloutLayerOptions {
  /** The snapshot directory: the traffic shift progress file lives there. */
  snapshotDir: string;
  /** Recompiles the rules and publishes the result; `urgent` publishes with publishUrgent (no waves). */
  recompile: (reason: string, opts: { urgent: boolean }) => Promise<unknown>;
  /** Model-readiness gate; off unless given (model servers must implement grpc.health.v1). */
  readiness?: Omit<ReadinessGateOptions, 'onChange' | 'logger' | 'clock'>;
  logger?: Logger;
  clock?: Clock;
}

export interface RolloutLayerState {
  readonly rollout: RolloutState;
  readonly shifts: ShiftSchedulerState;
  readonly readiness: ReadinessState | null;
}

export class RolloutLayer {
  readonly provider: RolloutProvider;
  readonly gate: ReadinessGate | undefined;
  private constructor(
    readonly shifts: ShiftScheduler,
    provider: RolloutProvider,
    gate: ReadinessGate | undefined,
  ) {
    this.provider = provider;
    this.gate = gate;
  }

  static async open(options: RolloutLayerOptions): Promise<RolloutLayer> {
    const log = options.logger ?? pino({ level: 'silent' });
    const clock = options.clock ? { clock: options.clock } : {};
    const recompile = (reason: string, urgent: boolean): Promise<unknown> =>
      options.recompile(reason, { urgent }).catch((err: unknown) => log.error({ event: 'rollout_recompile_failed', reason, err }, 'recompile requested by the rollout layer failed'));
    const provider = new RolloutProvider({ logger: log.child({ component: 'rollout' }), ...clock });
    const gate = options.readiness
      ? new ReadinessGate({ ...options.readiness, logger: log.child({ component: 'readiness' }), ...clock, onChange: (reason) => void recompile(reason, false) })
      : undefined;
    const shifts = await ShiftScheduler.open({
      dir: options.snapshotDir,
      logger: log.child({ component: 'shifts' }),
      ...clock,
      onAdvance: (reason) => recompile(reason, false),
      onAbort: (reason) => recompile(reason, true),
      ...(gate ? { isRoutable: (model: string) => gate.isReady(model) } : {}),
    });
    return new RolloutLayer(shifts, provider, gate);
  }

  /** The compile options of one compile (call between load and compile). */
  compileOptions(ruleSet: RuleSet, previous: ResolverTable | undefined, base?: CompileOptions): Promise<CompileOptions> {
    return rolloutCompileOptions({ ruleSet, ...(base ? { base } : {}), shifts: this.shifts, ...(this.gate ? { readiness: this.gate } : {}), ...(previous ? { previous } : {}), rollout: this.provider });
  }

  /** Starts shift timers and readiness rounds (after the first compile). */
  start(): void {
    this.shifts.start();
    this.gate?.start();
  }

  stop(): void {
    this.shifts.stop();
    this.gate?.stop();
  }

  state(): RolloutLayerState {
    return { rollout: this.provider.state(), shifts: this.shifts.state(), readiness: this.gate?.state() ?? null };
  }
}
