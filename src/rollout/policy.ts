// Which wave a proxy belongs to. Wave 0 is the canary (nodes selected by metadata or cluster);
// waves 1..n split the rest of the fleet by a stable hash of the node id into cumulative shares
// (10 %, 50 %, 100 % by default). Membership is a pure function of the node and the policy: the same
// node lands in the same wave on every replica, after every restart and in every rollout.
import { createHash } from 'node:crypto';
import type { NodeInfo } from '../xds/provider.js';
import type { RolloutPolicyRule, RuleSet } from '../rules/model.js';
import { ROLLOUT_POLICY_DEFAULTS } from '../rules/normalize.js';

/** Buckets of the node-id hash (same resolution as experiment cells: 0.01 %). */
export const NODE_BUCKETS = 10_000;

export interface WaveSpec {
  /** "canary", "wave 1", ... */
  readonly name: string;
  /** Canary: undefined; other waves: cumulative share of the non-canary fleet, 0..100. */
  readonly percent?: number;
  /** Half-open range of node buckets [bucketStart, bucketEnd) (non-canary waves). */
  readonly bucketStart?: number;
  readonly bucketEnd?: number;
  readonly bakeMs: number;
}

export interface RolloutPolicySpec {
  /** Rule name, or "default" for the built-in policy. */
  readonly name: string;
  readonly source: 'rules' | 'default';
  readonly canary: { readonly metadata: Readonly<Record<string, string>>; readonly clusters: readonly string[] };
  /** Wave 0 is the canary. */
  readonly waves: readonly WaveSpec[];
  /** How long an open wave may wait for ACKs before the rollout pauses as stalled. */
  readonly ackTimeoutMs: number;
}

function spec(name: string, source: RolloutPolicySpec['source'], rule: Pick<RolloutPolicyRule, 'canary' | 'waves' | 'ackTimeoutSeconds'>): RolloutPolicySpec {
  const waves: WaveSpec[] = [{ name: 'canary', bakeMs: rule.canary.bakeSeconds * 1000 }];
  let start = 0;
  rule.waves.forEach((w, i) => {
    const end = i === rule.waves.length - 1 ? NODE_BUCKETS : Math.min(NODE_BUCKETS, Math.max(start, Math.round(w.percent * (NODE_BUCKETS / 100))));
    waves.push({ name: `wave ${i + 1}`, percent: w.percent, bucketStart: start, bucketEnd: end, bakeMs: w.bakeSeconds * 1000 });
    start = end;
  });
  return { name, source, canary: { metadata: { ...rule.canary.metadata }, clusters: [...rule.canary.clusters] }, waves, ackTimeoutMs: rule.ackTimeoutSeconds * 1000 };
}

/** Canary = nodes with metadata `canary: true`; then 10 %, 50 %, 100 % of the rest; no bake. */
export const DEFAULT_ROLLOUT_POLICY: RolloutPolicySpec = spec('default', 'default', {
  canary: { metadata: { ...ROLLOUT_POLICY_DEFAULTS.canaryMetadata }, clusters: [], bakeSeconds: 0 },
  waves: ROLLOUT_POLICY_DEFAULTS.waves.map((percent) => ({ percent, bakeSeconds: 0 })),
  ackTimeoutSeconds: ROLLOUT_POLICY_DEFAULTS.ackTimeoutSeconds,
});

/** The policy a rule set defines (its single RolloutPolicy), or the default. */
export function rolloutPolicyOf(rs: Pick<RuleSet, 'rolloutPolicies'> | undefined): RolloutPolicySpec {
  const rules = [...(rs?.rolloutPolicies?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rule = rules[0];
  return rule ? spec(rule.name, 'rules', rule) : DEFAULT_ROLLOUT_POLICY;
}

/** A policy from plain values (tests, benchmarks): waves as cumulative percents, bakes in ms. */
export function rolloutPolicy(opts: {
  name?: string;
  canaryMetadata?: Record<string, string>;
  canaryClusters?: string[];
  canaryBakeMs?: number;
  waves?: Array<number | { percent: number; bakeMs?: number }>;
  ackTimeoutMs?: number;
}): RolloutPolicySpec {
  const waves = (opts.waves ?? ROLLOUT_POLICY_DEFAULTS.waves).map((w) => (typeof w === 'number' ? { percent: w, bakeSeconds: 0 } : { percent: w.percent, bakeSeconds: (w.bakeMs ?? 0) / 1000 }));
  return spec(opts.name ?? 'custom', 'rules', {
    canary: { metadata: opts.canaryMetadata ?? { ...ROLLOUT_POLICY_DEFAULTS.canaryMetadata }, clusters: opts.canaryClusters ?? [], bakeSeconds: (opts.canaryBakeMs ?? 0) / 1000 },
    waves,
    ackTimeoutSeconds: (opts.ackTimeoutMs ?? ROLLOUT_POLICY_DEFAULTS.ackTimeoutSeconds * 1000) / 1000,
  });
}

/** Stable bucket of a node id: the first 4 bytes of sha256("rollout:" + id), modulo 10,000. */
export function nodeBucket(nodeId: string): number {
  return createHash('sha256').update(`rollout:${nodeId}`).digest().readUInt32BE(0) % NODE_BUCKETS;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

const globCache = new Map<string, RegExp>();
function globMatch(glob: string, value: string): boolean {
  let re = globCache.get(glob);
  if (!re) globCache.set(glob, (re = globToRegExp(glob)));
  return re.test(value);
}

function metadataString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return undefined;
}

export function isCanary(node: NodeInfo, policy: RolloutPolicySpec): boolean {
  const meta = Object.entries(policy.canary.metadata);
  if (meta.length > 0 && meta.every(([k, v]) => metadataString(node.metadata?.[k]) === v)) return true;
  return policy.canary.clusters.some((c) => globMatch(c, node.cluster));
}

/** The wave index of a node (0 = canary). */
export function waveOf(node: NodeInfo, policy: RolloutPolicySpec): number {
  if (isCanary(node, policy)) return 0;
  const b = nodeBucket(node.id);
  for (let i = 1; i < policy.waves.length; i++) {
    const w = policy.waves[i]!;
    if (b >= (w.bucketStart ?? 0) && b < (w.bucketEnd ?? NODE_BUCKETS)) return i;
  }
  return policy.waves.length - 1;
}

/** One line per wave, for logs and docs: "canary (metadata canary=true), wave 1 (<10%), ...". */
export function describePolicy(policy: RolloutPolicySpec): string {
  const sel = [
    ...Object.entries(policy.canary.metadata).map(([k, v]) => `metadata ${k}=${v}`),
    ...policy.canary.clusters.map((c) => `cluster ${c}`),
  ].join(' or ');
  return policy.waves
    .map((w) => (w.percent === undefined ? `canary (${sel || 'nobody'})` : `${w.name} (${w.percent}%)`) + (w.bakeMs > 0 ? ` bake ${w.bakeMs / 1000}s` : ''))
    .join(', ')
    .concat(`; ACK timeout ${policy.ackTimeoutMs / 1000}s`);
}
