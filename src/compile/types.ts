// Output of the pure compiler: xDS resources (plain objects per type URL, encoded by the snapshot
// layer) plus the resolver table that resolver clients consume.
import type { SnapshotInput } from '../snapshot/snapshot.js';
import type { SourceLocation } from '../rules/model.js';

export interface CompileOptions {
  /** Current step index per TrafficShift name (advanced by the rollout layer); default 0. */
  readonly shiftSteps?: Readonly<Record<string, number>>;
  /** Listener / RouteConfiguration name for proxyless clients (xds:///NAME). Default "model-serving". */
  readonly listenerName?: string;
  /**
   * TrafficShifts an operator aborted (rollout layer): every user of the objective is back on its
   * default model (`from`) at once: the shift compiles at 0 % (step index 0); its routes stay, so a
   * client still holding an older resolver table keeps working.
   */
  readonly abortedShifts?: readonly string[];
  /** Models that are not ready to take traffic (model-readiness gate); see {@link ReadinessOptions}. */
  readonly readiness?: ReadinessOptions;
}

/**
 * Nothing routes to an unready model: no routing-key route, no routing key in the resolver table.
 * An objective whose defaultModel is unready keeps the model it had (`previousDefaults`, when that
 * one is defined and ready; otherwise the unready default stays: there is nothing else to serve);
 * experiment cells on an unready model send their users to the objective's (kept) default model;
 * a TrafficShift to an unready model is left out (users stay on `from`); overrides and shadows
 * naming an unready model are left out. Without this option (or with an empty `unready` list) the
 * output is unchanged.
 */
export interface ReadinessOptions {
  /** Model names not ready (order and unknown names do not matter). */
  readonly unready: readonly string[];
  /** Objective name -> the default model it served before (e.g. from the previous resolver table). */
  readonly previousDefaults?: Readonly<Record<string, string>>;
}

export interface ResolverModel {
  readonly name: string;
  readonly version: string;
  readonly shard: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export interface ResolverCell {
  readonly id: string;
  readonly model: string;
  readonly percent: number;
  /** Half-open bucket range [bucketStart, bucketEnd) out of 10,000 buckets. */
  readonly bucketStart: number;
  readonly bucketEnd: number;
}

export interface ResolverExperiment {
  readonly abTestId: string;
  readonly salt: string;
  readonly cells: readonly ResolverCell[];
}

export interface ResolverShift {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Current share of users on `to`, 0..100. */
  readonly percent: number;
  readonly stepIndex: number;
  /** Salt of the shift's user hash (stable across steps so users only move one way). */
  readonly salt: string;
}

export interface ResolverOverride {
  readonly name: string;
  readonly model: string;
  readonly client?: string;
  readonly header?: { readonly name: string; readonly value: string };
}

export interface ResolverObjective {
  readonly name: string;
  readonly defaultModel: string;
  readonly modelType?: string;
  readonly inputType?: string;
  readonly timeoutMs: number;
  readonly retries: number;
  /** routingKey per model reachable from this objective ("<objective>/<model>"). */
  readonly routingKeys: Readonly<Record<string, string>>;
  readonly experiments: readonly ResolverExperiment[];
  readonly shift?: ResolverShift;
  readonly overrides: readonly ResolverOverride[];
}

export interface ResolverTable {
  readonly objectives: Readonly<Record<string, ResolverObjective>>;
  readonly models: Readonly<Record<string, ResolverModel>>;
  readonly clients: Readonly<Record<string, { readonly testTraffic: boolean }>>;
}

/** Which rule each compiled resource (and route) comes from, so a problem found later (e.g. by
 * the validator) points at file:line. */
export interface CompileOrigins {
  /** typeUrl -> resource name -> the rule that produced it. */
  readonly resources: Readonly<Record<string, Readonly<Record<string, SourceLocation>>>>;
  /** Route name (rk:<key>, objective:<name>) -> the objective it routes. */
  readonly routes: Readonly<Record<string, SourceLocation>>;
}

export interface CompileResult {
  /** Plain Envoy messages per type URL, deterministic (sorted) order. */
  readonly resources: SnapshotInput;
  readonly resolverTable: ResolverTable;
  readonly origins: CompileOrigins;
}
