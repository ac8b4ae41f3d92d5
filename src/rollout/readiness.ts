// The model-readiness gate: a model is routable only when its shard's endpoints say it is loaded.
// For every model the rules route to, each endpoint of the model's shard (and of the shard it
// migrates to) is asked grpc.health.v1.Health/Check with service = <model name>; the model is ready
// when, on every such shard, a quorum of endpoints (default: a majority) answers SERVING. Until then
// the compiler keeps the objective on its previous model (CompileOptions.readiness); a model that
// stops being ready is withdrawn the same way. Readiness changes trigger a recompile (onChange).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import pino from 'pino';
import type { RuleSet } from '../rules/model.js';
import type { ReadinessOptions, ResolverTable } from '../compile/types.js';
import { readinessHolds, type ReadinessHold } from '../compile/readiness.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { HealthClient, type HealthCheckResult } from './health.js';

export type Quorum = 'majority' | 'all' | 'any' | number;

export interface ReadinessGateOptions {
  /** Between two probe rounds. Default 2000 ms. */
  intervalMs?: number;
  /** Deadline of one health check. Default 1000 ms. */
  timeoutMs?: number;
  /** Endpoints of a shard that must be SERVING: majority (default), all, any, or a fraction 0 < q <= 1. */
  quorum?: Quorum;
  /** How to count an endpoint whose server does not implement the health service. Default not-serving. */
  unimplemented?: 'serving' | 'not-serving';
  /** A model became ready or stopped being ready: recompile (wire to pipeline.reload). */
  onChange?: (reason: string) => void;
  /** The health check (tests inject one); default: grpc.health.v1.Health/Check over a shared channel per endpoint. */
  check?: (address: string, service: string, timeoutMs: number) => Promise<HealthCheckResult>;
  clock?: Clock;
  logger?: Logger;
}

export interface EndpointReadiness {
  readonly shard: string;
  readonly address: string;
  /** SERVING, NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN, or ERROR (the check failed); null before the first check. */
  readonly status: string | null;
  readonly code: 'READY_NOT_SERVING' | 'READY_PROBE_FAILED' | null;
  readonly error: string | null;
  readonly checkedAt: string | null;
  readonly latencyMs: number | null;
}

export interface ShardReadiness {
  readonly shard: string;
  readonly serving: number;
  readonly endpoints: number;
  readonly quorum: number;
}

export interface ModelReadiness {
  readonly model: string;
  readonly ready: boolean;
  /** Why not: READY_NO_QUORUM with the counts, or "not checked yet". */
  readonly reason: string | null;
  readonly shards: readonly ShardReadiness[];
  readonly endpoints: readonly EndpointReadiness[];
  /** Since when the model has its current readiness. */
  readonly since: string | null;
}

export interface ReadinessState {
  readonly intervalMs: number;
  readonly quorum: Quorum;
  readonly models: readonly ModelReadiness[];
  /** Uses of unready models the last compile held back (objective kept on its previous model, cells redirected, ...). */
  readonly holds: readonly ReadinessHold[];
  readonly lastRoundAt: string | null;
}

interface Probe {
  status: string | null;
  code: EndpointReadiness['code'];
  error: string | null;
  checkedAt: number | undefined;
  latencyMs: number | undefined;
}

interface Target {
  /** Shards whose endpoints must be ready, each with its endpoint addresses. */
  readonly shards: ReadonlyArray<{ readonly name: string; readonly addresses: readonly string[] }>;
}

function address(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Models the rules can send traffic to: objective defaults, experiment cells, shift destinations, overrides, shadows. */
export function routedModels(rs: RuleSet): string[] {
  const out = new Set<string>();
  for (const o of rs.objectives.values()) out.add(o.defaultModel);
  for (const e of rs.experiments.values()) for (const c of e.cells) out.add(c.model);
  for (const s of rs.trafficShifts.values()) out.add(s.to);
  for (const o of rs.overrides.values()) out.add(o.model);
  for (const s of rs.shadows.values()) out.add(s.model);
  return [...out].filter((m) => rs.models.has(m)).sort();
}

export function quorumOf(q: Quorum, total: number): number {
  if (total === 0) return 1; // a shard without endpoints is never ready
  if (q === 'majority') return Math.floor(total / 2) + 1;
  if (q === 'all') return total;
  if (q === 'any') return 1;
  return Math.min(total, Math.max(1, Math.ceil(q * total)));
}

export class ReadinessGate {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly quorum: Quorum;
  private readonly clock: Clock;
  private readonly log: Logger;
  private targets = new Map<string, Target>();
  /** model -> address -> last probe. */
  private readonly probes = new Map<string, Map<string, Probe>>();
  private readonly clients = new Map<string, HealthClient>();
  /** Readiness as last reported (onChange fires on a transition). */
  private readonly reported = new Map<string, { ready: boolean; since: number }>();
  private lastRuleSet: RuleSet | undefined;
  private lastOptions: ReadinessOptions | undefined;
  private timer: TimerHandle | undefined;
  private running = false;
  private round: Promise<void> | undefined;
  private lastRoundAt: number | undefined;

  constructor(private readonly options: ReadinessGateOptions = {}) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.quorum = options.quorum ?? 'majority';
    if (typeof this.quorum === 'number' && !(this.quorum > 0 && this.quorum <= 1)) throw new RangeError(`quorum fraction must be in (0, 1], got ${this.quorum}`);
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? pino({ level: 'silent' });
  }

  /**
   * Called by every compile: watches the models `rs` routes to, checks at once any endpoint never
   * checked (bounded by the check deadline), and returns the compile option. `previous` is the
   * resolver table served before (the objectives' previous default models).
   */
  async prepare(rs: RuleSet, previous?: ResolverTable): Promise<{ readiness: ReadinessOptions }> {
    this.setTargets(rs);
    const unchecked: Array<[string, string]> = [];
    for (const [model, t] of this.targets) {
      const probes = this.probes.get(model)!;
      for (const s of t.shards) for (const a of s.addresses) if (probes.get(a)?.checkedAt === undefined) unchecked.push([model, a]);
    }
    if (unchecked.length > 0) await Promise.all(unchecked.map(([m, a]) => this.probe(m, a)));
    for (const model of this.targets.keys()) this.noteReadiness(model, false);
    const previousDefaults: Record<string, string> = {};
    for (const [name, o] of Object.entries(previous?.objectives ?? {})) previousDefaults[name] = o.defaultModel;
    const readiness: ReadinessOptions = { unready: [...this.targets.keys()].filter((m) => !this.isReady(m)), previousDefaults };
    this.lastRuleSet = rs;
    this.lastOptions = readiness;
    return { readiness };
  }

  /** Starts the periodic probe rounds. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** One probe round over every watched endpoint now (fires onChange on a transition). */
  probeNow(): Promise<void> {
    this.round ??= (async () => {
      try {
        const work: Array<Promise<void>> = [];
        for (const [model, t] of this.targets) for (const s of t.shards) for (const a of s.addresses) work.push(this.probe(model, a));
        await Promise.all(work);
        this.lastRoundAt = this.clock.now();
        const changed: string[] = [];
        for (const model of this.targets.keys()) if (this.noteReadiness(model, true)) changed.push(model);
        if (changed.length > 0) {
          const reason = `model readiness changed: ${changed.map((m) => `${m} ${this.isReady(m) ? 'ready' : 'not ready'}`).join(', ')}`;
          this.options.onChange?.(reason);
        }
      } finally {
        this.round = undefined;
      }
    })();
    return this.round;
  }

  /** Ready by the latest checks (an unwatched model counts as ready: the gate has no opinion). */
  isReady(model: string): boolean {
    const t = this.targets.get(model);
    if (!t) return true;
    return t.shards.every((s) => this.servingOn(model, s.addresses) >= quorumOf(this.quorum, s.addresses.length));
  }

  state(): ReadinessState {
    const models: ModelReadiness[] = [];
    for (const [model, t] of [...this.targets].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const probes = this.probes.get(model)!;
      const shards = t.shards.map((s) => ({ shard: s.name, serving: this.servingOn(model, s.addresses), endpoints: s.addresses.length, quorum: quorumOf(this.quorum, s.addresses.length) }));
      const ready = this.isReady(model);
      const unchecked = t.shards.some((s) => s.addresses.some((a) => probes.get(a)?.checkedAt === undefined));
      const short = shards.filter((s) => s.serving < s.quorum);
      models.push({
        model,
        ready,
        reason: ready ? null : unchecked ? 'not checked yet' : `READY_NO_QUORUM: ${short.map((s) => `shard ${s.shard} has ${s.serving} of ${s.endpoints} endpoints SERVING, needs ${s.quorum}`).join('; ')}`,
        shards,
        endpoints: t.shards.flatMap((s) =>
          s.addresses.map((a) => {
            const p = probes.get(a);
            return {
              shard: s.name,
              address: a,
              status: p?.status ?? null,
              code: p?.code ?? null,
              error: p?.error ?? null,
              checkedAt: p?.checkedAt === undefined ? null : new Date(p.checkedAt).toISOString(),
              latencyMs: p?.latencyMs ?? null,
            };
          }),
        ),
        since: this.reported.has(model) ? new Date(this.reported.get(model)!.since).toISOString() : null,
      });
    }
    return {
      intervalMs: this.intervalMs,
      quorum: this.quorum,
      models,
      holds: this.lastRuleSet && this.lastOptions ? readinessHolds(this.lastRuleSet, this.lastOptions) : [],
      lastRoundAt: this.lastRoundAt === undefined ? null : new Date(this.lastRoundAt).toISOString(),
    };
  }

  // ---- internals

  private setTargets(rs: RuleSet): void {
    const next = new Map<string, Target>();
    const migrations = new Map([...rs.migrations.values()].map((m) => [m.model, m]));
    for (const model of routedModels(rs)) {
      const m = rs.models.get(model)!;
      const shardNames = [m.shard, ...(migrations.get(model) ? [migrations.get(model)!.to] : [])];
      const shards = [...new Set(shardNames)].map((name) => ({ name, addresses: (rs.shards.get(name)?.endpoints ?? []).map(address) }));
      next.set(model, { shards });
    }
    this.targets = next;
    const wanted = new Set<string>();
    for (const [model, t] of next) {
      let probes = this.probes.get(model);
      if (!probes) this.probes.set(model, (probes = new Map()));
      const addrs = new Set(t.shards.flatMap((s) => s.addresses));
      for (const a of probes.keys()) if (!addrs.has(a)) probes.delete(a);
      for (const a of addrs) wanted.add(a);
    }
    for (const model of [...this.probes.keys()]) if (!next.has(model)) this.probes.delete(model);
    for (const model of [...this.reported.keys()]) if (!next.has(model)) this.reported.delete(model);
    for (const [a, c] of this.clients) {
      if (wanted.has(a)) continue;
      c.close();
      this.clients.delete(a);
    }
  }

  private servingOn(model: string, addresses: readonly string[]): number {
    const probes = this.probes.get(model);
    let n = 0;
    for (const a of addresses) if (probes?.get(a)?.status === 'SERVING') n++;
    return n;
  }

  /** Records the model's readiness; returns true on a transition (a model first seen is not a transition). */
  private noteReadiness(model: string, log: boolean): boolean {
    const ready = this.isReady(model);
    const prev = this.reported.get(model);
    if (prev && prev.ready === ready) return false;
    this.reported.set(model, { ready, since: this.clock.now() });
    if (!prev) return false;
    if (log) {
      if (ready) this.log.info({ event: 'model_ready', model }, 'model is ready: routes to it are published');
      else this.log.warn({ event: 'model_not_ready', code: 'READY_NO_QUORUM', model }, 'model is no longer ready: routes to it are withdrawn');
    }
    return true;
  }

  private async probe(model: string, addr: string): Promise<void> {
    const started = this.clock.now();
    const t0 = performance.now();
    let result: HealthCheckResult;
    try {
      result = this.options.check ? await this.options.check(addr, model, this.timeoutMs) : await this.client(addr).check(model, this.timeoutMs);
    } catch (err) {
      result = { ok: false, code: grpc.status.UNKNOWN, error: (err as Error).message };
    }
    const probes = this.probes.get(model);
    if (!probes || !this.targets.has(model)) return; // no longer watched
    const unimplementedServing = !result.ok && result.code === grpc.status.UNIMPLEMENTED && this.options.unimplemented === 'serving';
    const status = result.ok ? result.status : unimplementedServing ? 'SERVING' : 'ERROR';
    const prev = probes.get(addr);
    probes.set(addr, {
      status,
      code: status === 'SERVING' ? null : result.ok ? 'READY_NOT_SERVING' : 'READY_PROBE_FAILED',
      error: result.ok ? null : result.error,
      checkedAt: started,
      latencyMs: Math.round((performance.now() - t0) * 10) / 10,
    });
    if (prev?.status !== undefined && prev.status !== status && prev.status !== null) {
      this.log.info({ event: 'endpoint_health', model, endpoint: addr, from: prev.status, to: status, error: result.ok ? undefined : result.error }, 'model endpoint health changed');
    }
  }

  private client(addr: string): HealthClient {
    let c = this.clients.get(addr);
    if (!c) this.clients.set(addr, (c = new HealthClient(addr)));
    return c;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.probeNow()
        .catch((err: unknown) => this.log.error({ event: 'readiness_round_error', err }, 'readiness probe round failed'))
        .finally(() => this.schedule());
    }, this.intervalMs);
  }
}
