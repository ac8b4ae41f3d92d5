// The compile options a running server would use for a rule set, rebuilt from its rollout state
// (GET /v1/rollout), so `switchyard plan` compiles what the server would publish: traffic shifts
// at their current step (0 for a shift the server does not know or that was edited: it restarts),
// aborted shifts at 0 %, and unready models held back as the readiness gate does. Mirrors
// ShiftScheduler.sync/compileOptions and ReadinessGate.prepare without their side effects.
import type { CompileOptions, ResolverTable } from '../compile/types.js';
import type { RuleSet } from '../rules/model.js';
import type { ReadinessState } from './readiness.js';
import { shiftDigest, type ShiftSchedulerState } from './shifts.js';

export interface ServerRolloutState {
  readonly shifts: ShiftSchedulerState;
  readonly readiness: ReadinessState | null;
}

export interface ServerCompileOptions {
  readonly options: CompileOptions;
  /** What the options assume, one sentence each (for the plan's notes). */
  readonly notes: string[];
}

export function serverCompileOptions(ruleSet: RuleSet, state: ServerRolloutState, previous: ResolverTable | undefined): ServerCompileOptions {
  const notes: string[] = [];
  const shiftSteps: Record<string, number> = {};
  const abortedShifts: string[] = [];
  const known = new Map(state.shifts.shifts.map((s) => [s.name, s]));
  for (const [name, rule] of [...ruleSet.trafficShifts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const s = known.get(name);
    if (!s || s.digest !== shiftDigest(rule)) {
      notes.push(`Traffic shift ${name} ${s ? 'is edited: the server restarts it' : 'is new: the server starts it'} at step 1 of ${rule.steps.length} (${rule.steps[0]?.percent ?? 0} %).`);
      continue;
    }
    const step = Math.min(s.step, Math.max(0, rule.steps.length - 1));
    shiftSteps[name] = step;
    if (s.state === 'aborted') {
      abortedShifts.push(name);
      notes.push(`Traffic shift ${name} is aborted on the server: its users stay on the default model.`);
    } else if (step > 0) {
      notes.push(`Traffic shift ${name} is compiled at the server's current step ${step + 1} of ${rule.steps.length} (${rule.steps[step]?.percent ?? 0} %).`);
    }
  }
  let readiness: CompileOptions['readiness'];
  if (state.readiness) {
    const byModel = new Map(state.readiness.models.map((m) => [m.model, m]));
    const unready = [...byModel.values()].filter((m) => !m.ready && ruleSet.models.has(m.model)).map((m) => m.model);
    const unknown = [...ruleSet.models.keys()].filter((m) => !byModel.has(m));
    const previousDefaults: Record<string, string> = {};
    for (const [name, o] of Object.entries(previous?.objectives ?? {})) previousDefaults[name] = o.defaultModel;
    readiness = { unready, previousDefaults };
    if (unready.length > 0) notes.push(`Models the server finds not ready are held back as it would: ${unready.sort().join(', ')}.`);
    if (unknown.length > 0) notes.push(`${unknown.length} model${unknown.length === 1 ? '' : 's'} the server has not probed yet (assumed ready; the server checks them before it publishes): ${unknown.sort().slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}.`);
  }
  return {
    options: {
      ...(Object.keys(shiftSteps).length > 0 ? { shiftSteps } : {}),
      ...(abortedShifts.length > 0 ? { abortedShifts } : {}),
      ...(readiness ? { readiness } : {}),
    },
    notes,
  };
}
