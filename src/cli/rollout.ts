// `switchyard rollout status|pause|resume|abort|force` and `switchyard shift pause|resume|abort
// <name>`: the fleet's waves, the traffic shifts and model readiness of a running server, and the
// operator actions on them (docs/rollout.md).
import type { RolloutLayerState } from '../rollout/layer.js';
import type { ShiftView } from '../rollout/shifts.js';
import type { AdminClient } from './client.js';
import { writeJson, type CliIO } from './io.js';

export interface RolloutFlags {
  json?: boolean;
}

const short = (v: string | null | undefined): string => (v ? v.slice(0, 12) : '-');

export function formatRollout(s: RolloutLayerState): string {
  const r = s.rollout;
  const lines: string[] = [];
  lines.push(`Rollout: ${r.status}${r.paused ? ' (paused)' : ''}  last good ${short(r.lastGoodVersion)}  target ${short(r.targetVersion)}  policy ${r.policy.name} (${r.policy.source})`);
  for (const w of r.waves) {
    const what = w.percent === undefined ? 'canary' : `${w.name} (${w.percent}%)`;
    const waiting = w.waitingFor.length > 0 ? `  waiting for ${w.waitingFor.join(', ')}${w.members - w.acked > w.waitingFor.length ? ', ...' : ''}` : '';
    lines.push(`  ${what.padEnd(18)} ${w.status.padEnd(8)} ${String(w.acked).padStart(5)}/${String(w.members).padEnd(5)} ACKed${w.bakeUntil ? `  bakes until ${w.bakeUntil}` : ''}${waiting}`);
  }
  if (r.stall) {
    const st = r.stall;
    lines.push(`  stalled (ROLLOUT_ACK_TIMEOUT): ${st.waiting} prox${st.waiting === 1 ? 'y' : 'ies'} of ${st.name} did not ACK within ${st.ackTimeoutMs / 1000} s (at ${st.at}): ${st.waitingFor.join(', ')}${st.waiting > st.waitingFor.length ? ', ...' : ''}; resume waits again, force or abort ends it`);
  }
  if (r.haltReason) {
    const h = r.haltReason;
    lines.push(`  halted: node ${h.node} (wave ${h.wave}) NACKed ${h.type} at ${h.at}: ${h.message}`);
  }
  if (s.shifts.shifts.length > 0) {
    lines.push('Traffic shifts:');
    for (const x of s.shifts.shifts) {
      const next = x.nextAt ? `  next step at ${x.nextAt}` : x.waiting ? `  waiting: ${x.waiting}` : '';
      lines.push(`  ${x.name.padEnd(28)} ${x.state.padEnd(9)} step ${x.step + 1}/${x.steps}  ${String(x.percent).padStart(3)}% on ${x.to} (${x.objective})${next}`);
    }
  }
  if (s.shifts.recoveredFrom) lines.push(`  progress file was unreadable; moved to ${s.shifts.recoveredFrom}`);
  if (s.shifts.writeError) lines.push(`  cannot write the progress file: ${s.shifts.writeError}`);
  if (s.readiness) {
    lines.push('Model readiness:');
    for (const m of s.readiness.models) lines.push(`  ${m.model.padEnd(28)} ${m.ready ? 'ready' : 'NOT READY'}${m.reason ? `  ${m.reason}` : ''}`);
    for (const h of s.readiness.holds) lines.push(`  held: ${h.kind} ${h.rule} (${h.objective}) ${h.model}${h.instead ? ` -> ${h.instead}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function rolloutStatus(client: AdminClient, io: CliIO, flags: RolloutFlags): Promise<number> {
  const s = await client.get<RolloutLayerState>('/v1/rollout');
  if (flags.json) writeJson(io, s);
  else io.stdout.write(formatRollout(s));
  return 0;
}

export async function rolloutOperation(client: AdminClient, io: CliIO, op: 'pause' | 'resume' | 'abort' | 'force', flags: RolloutFlags): Promise<number> {
  const s = await client.post<RolloutLayerState>(`/v1/rollout/${op}`, {});
  if (flags.json) writeJson(io, s);
  else io.stdout.write(formatRollout(s));
  return 0;
}

export async function shiftOperation(client: AdminClient, io: CliIO, op: 'pause' | 'resume' | 'abort', name: string, flags: RolloutFlags): Promise<number> {
  const v = await client.post<ShiftView>(`/v1/shifts/${encodeURIComponent(name)}/${op}`, {});
  if (flags.json) writeJson(io, v);
  else io.stdout.write(`Traffic shift ${v.name}: ${v.state}, step ${v.step + 1}/${v.steps}, ${v.percent}% of ${v.objective} users on ${v.to}.\n`);
  return 0;
}
