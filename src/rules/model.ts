// The validated rule model: what researchers write in rules/, after loading and validation.
// This is the contract between src/rules (load, validate) and src/compile (pure compiler).
// Every rule keeps where it came from, so any later error (validation, compile, publish) can point
// at file:line:column.

export interface SourceLocation {
  /** Path relative to the rules directory, with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export const RULE_KINDS = [
  'Objective',
  'Model',
  'Shard',
  'Experiment',
  'TrafficShift',
  'Migration',
  'Shadow',
  'Override',
  'Client',
  'RolloutPolicy',
] as const;

export type RuleKind = (typeof RULE_KINDS)[number];

interface RuleBase<K extends RuleKind> {
  readonly kind: K;
  /** Unique per kind. */
  readonly name: string;
  /** Where the rule document (or module export) starts. */
  readonly loc: SourceLocation;
  /** Location of each field by dotted path ("cells.control.model", "endpoints.0.port"). */
  readonly fieldLocs: Readonly<Record<string, SourceLocation>>;
}

/** A business use case; the enumeration every request names. */
export interface ObjectiveRule extends RuleBase<'Objective'> {
  readonly defaultModel: string;
  readonly modelType?: string;
  readonly inputType?: string;
  /** Per-request timeout for this objective. */
  readonly timeoutMs: number;
  /** Retries on unavailable/resource-exhausted. */
  readonly retries: number;
  readonly description?: string;
}

/** A servable workflow hosted on one shard. */
export interface ModelRule extends RuleBase<'Model'> {
  readonly shard: string;
  readonly version: string;
  /** Free-form model parameters handed to the request as part of ObjectiveConfig. */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface ShardEndpoint {
  readonly address: string;
  readonly port: number;
  readonly zone?: string;
  readonly region?: string;
  readonly weight?: number;
}

export interface ShardLimits {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRetries?: number;
}

export interface ShardOutlierDetection {
  readonly consecutive5xx?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
}

/** A serving cluster shard (a VIP): one EDS cluster. */
export interface ShardRule extends RuleBase<'Shard'> {
  readonly endpoints: readonly ShardEndpoint[];
  readonly limits?: ShardLimits;
  readonly outlierDetection?: ShardOutlierDetection;
  readonly connectTimeoutMs?: number;
  readonly lbPolicy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH';
}

export interface ExperimentCell {
  readonly id: string;
  readonly model: string;
  /** 0..100, cells of one experiment sum to 100. */
  readonly percent: number;
}

/** A/B test: each user lands in one cell, sticky. `name` is the abTestId as a string. */
export interface ExperimentRule extends RuleBase<'Experiment'> {
  readonly abTestId: string;
  readonly targetObjectives: readonly string[];
  /** In declaration order. */
  readonly cells: readonly ExperimentCell[];
  /** Hash salt; defaults to "ab<abTestId>". */
  readonly salt: string;
  readonly modelType?: string;
  readonly modelInputType?: string;
}

export interface TrafficShiftStep {
  /** Share of users on `to`, 0..100, non-decreasing. */
  readonly percent: number;
  /** How long the step holds before the next one, in seconds. */
  readonly holdSeconds: number;
}

/** Gradual move of an objective's users from its default model to `to`. */
export interface TrafficShiftRule extends RuleBase<'TrafficShift'> {
  readonly objective: string;
  readonly to: string;
  readonly steps: readonly TrafficShiftStep[];
}

/** Gradual move of a model from one shard (VIP) to another: weighted clusters. */
export interface MigrationRule extends RuleBase<'Migration'> {
  readonly model: string;
  readonly from: string;
  readonly to: string;
  /** Share of the model's traffic on `to`, 0..100. */
  readonly percent: number;
}

/** Mirror live traffic of an objective to a candidate model; responses discarded (Envoy only). */
export interface ShadowRule extends RuleBase<'Shadow'> {
  readonly objective: string;
  readonly model: string;
  readonly percent: number;
}

export interface OverrideMatch {
  /** Calling service (Client name). */
  readonly client?: string;
  /** Request header equality, e.g. test traffic markers. */
  readonly header?: { readonly name: string; readonly value: string };
}

/** Force a model for a client or for requests carrying a header. */
export interface OverrideRule extends RuleBase<'Override'> {
  readonly objective: string;
  readonly model: string;
  readonly match: OverrideMatch;
}

/** A calling service (tenant). */
export interface ClientRule extends RuleBase<'Client'> {
  readonly rateLimitRps?: number;
  readonly maxConcurrentRequests?: number;
  /** Requests from this client are test traffic (logged apart, eligible for test overrides). */
  readonly testTraffic: boolean;
}

/** Who is in the canary wave: nodes whose metadata has every listed pair, or whose cluster matches a pattern. */
export interface RolloutCanary {
  /** Node metadata key -> value, compared as strings (`canary: true` matches true and "true"); all must match. Empty: no node matches by metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Node cluster patterns (`*` matches any run of characters); any may match. */
  readonly clusters: readonly string[];
  /** Seconds to wait after every canary proxy ACKed before the first wave opens. */
  readonly bakeSeconds: number;
}

export interface RolloutWave {
  /** Cumulative share of the non-canary fleet (by a stable hash of the node id), 0 < percent <= 100, increasing; the last is 100. */
  readonly percent: number;
  /** Seconds to wait after every proxy of the wave ACKed before the next wave opens. */
  readonly bakeSeconds: number;
}

/** How a new snapshot reaches the fleet: a canary wave, then waves of the rest (see docs/rollout.md). At most one per rule set. */
export interface RolloutPolicyRule extends RuleBase<'RolloutPolicy'> {
  readonly canary: RolloutCanary;
  /** In order; non-empty. */
  readonly waves: readonly RolloutWave[];
  /** Seconds an open wave may wait for its proxies' ACKs; then the rollout pauses (stalled) for an operator. */
  readonly ackTimeoutSeconds: number;
}

export type Rule =
  | ObjectiveRule
  | ModelRule
  | ShardRule
  | ExperimentRule
  | TrafficShiftRule
  | MigrationRule
  | ShadowRule
  | OverrideRule
  | ClientRule
  | RolloutPolicyRule;

export interface RuleFile {
  /** Relative path, forward slashes. */
  readonly path: string;
  /** sha256 hex of the file bytes. */
  readonly digest: string;
}

/** A validated rule set. Maps are keyed by name; iteration order is not meaningful. */
export interface RuleSet {
  readonly objectives: ReadonlyMap<string, ObjectiveRule>;
  readonly models: ReadonlyMap<string, ModelRule>;
  readonly shards: ReadonlyMap<string, ShardRule>;
  readonly experiments: ReadonlyMap<string, ExperimentRule>;
  readonly trafficShifts: ReadonlyMap<string, TrafficShiftRule>;
  readonly migrations: ReadonlyMap<string, MigrationRule>;
  readonly shadows: ReadonlyMap<string, ShadowRule>;
  readonly overrides: ReadonlyMap<string, OverrideRule>;
  readonly clients: ReadonlyMap<string, ClientRule>;
  /** Rollout policies (at most one). Optional so rule sets built by hand (tests, tools) stay valid; the loader always sets it. */
  readonly rolloutPolicies?: ReadonlyMap<string, RolloutPolicyRule>;
  /** The files the set was loaded from, sorted by path. */
  readonly files: readonly RuleFile[];
}
