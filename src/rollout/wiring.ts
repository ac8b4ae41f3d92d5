// Glue between the rollout layer and the composition root (src/app), kept here so the app only
// calls a few functions: the compile options of a rule set (traffic shift steps + readiness), the
// resolver table a served snapshot carries (the "previous" table after a restart), and the hooks
// that keep the control plane's live version equal to the fleet's last good version.
import type { RuleSet } from '../rules/model.js';
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import { TypeUrl } from '../proto/type-urls.js';
import { decodeMessage } from '../proto/messages.js';
import { resolverTableFromMessage, RESOLVER_TABLE_MESSAGE, RESOLVER_TABLE_RESOURCE_NAME } from '../resolver/table-message.js';
import type { ServedSnapshot } from '../xds/provider.js';
import type { ShiftScheduler } from './shifts.js';
import type { ReadinessGate } from './readiness.js';
import type { RolloutEvent, RolloutProvider } from './provider.js';
import { rolloutPolicyOf } from './policy.js';

/** The resolver table a snapshot carries (undefined when it has none or it does not decode). */
export function resolverTableOf(snapshot: ServedSnapshot | undefined): ResolverTable | undefined {
  const resource = snapshot?.resource(TypeUrl.ResolverTable, RESOLVER_TABLE_RESOURCE_NAME);
  if (!resource) return undefined;
  try {
    return resolverTableFromMessage(decodeMessage(RESOLVER_TABLE_MESSAGE, resource.bytes));
  } catch {
    return undefined;
  }
}

export interface RolloutCompileInputs {
  readonly ruleSet: RuleSet;
  /** Static options (listenerName, ...). */
  readonly base?: CompileOptions;
  readonly shifts?: ShiftScheduler;
  readonly readiness?: ReadinessGate;
  /** The resolver table served before this compile (pipeline's last one, or resolverTableOf(restored snapshot)). */
  readonly previous?: ResolverTable;
  /** Applies the rule set's RolloutPolicy to the next rollouts. */
  readonly rollout?: Pick<RolloutProvider, 'setPolicy'>;
}

/**
 * Everything the rollout layer contributes to one compile, in the order that matters: readiness
 * first (a shift's clock runs only while its model is routable), then the shift steps. Also hands
 * the rule set's RolloutPolicy to the provider. Call it in the pipeline between load and compile.
 */
export async function rolloutCompileOptions(inputs: RolloutCompileInputs): Promise<CompileOptions> {
  const { ruleSet } = inputs;
  inputs.rollout?.setPolicy(rolloutPolicyOf(ruleSet));
  const readiness = inputs.readiness ? await inputs.readiness.prepare(ruleSet, inputs.previous) : undefined;
  const shifts = inputs.shifts ? await inputs.shifts.sync(ruleSet.trafficShifts) : undefined;
  return {
    ...inputs.base,
    ...(shifts ? { shiftSteps: { ...inputs.base?.shiftSteps, ...shifts.shiftSteps }, abortedShifts: shifts.abortedShifts } : {}),
    ...(readiness ?? {}),
  };
}

/** What the control plane must offer for the fleet's last good version to be what a restart restores. */
export interface LiveVersionSink {
  /** The fleet is fully on `version` (rollout completed or forced): persist it as live. */
  confirmLive(version: string): void | Promise<void>;
  /** The fleet went back to `version` (rollout halted or aborted): persist it as live again.
   * `refused` is the target the fleet did not take (re-offering the same version should not
   * pretend it is live). */
  revertLive(version: string, reason: string, refused: string): void | Promise<void>;
}

/**
 * Keeps the control plane's persisted live version equal to the fleet's last good version: a
 * restart mid-rollout then restores the last good snapshot, never an unconfirmed target.
 * installed/completed/forced -> confirmLive(version); halted/aborted -> revertLive(last good).
 */
export function followRollout(provider: RolloutProvider, sink: LiveVersionSink, onError: (err: unknown) => void = () => undefined): () => void {
  return provider.onEvent((e: RolloutEvent) => {
    const run = (): void | Promise<void> => {
      switch (e.type) {
        case 'installed': // the first snapshot, or an urgent one: every proxy has it
          return sink.confirmLive(e.version);
        case 'completed':
        case 'forced':
          return sink.confirmLive(e.target);
        case 'halted':
          return sink.revertLive(e.from, `rollout halted: node ${e.reason.node} NACKed ${e.reason.type}: ${e.reason.message}`, e.target);
        case 'aborted':
          return sink.revertLive(e.from, 'rollout aborted by an operator', e.target);
        default:
          return undefined;
      }
    };
    try {
      void Promise.resolve(run()).catch(onError);
    } catch (err) {
      onError(err);
    }
  });
}
