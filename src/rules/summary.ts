// Counts of a RuleSet, for `switchyard check`, logs and the admin API.
import { RULE_KINDS, type RuleKind, type RuleSet } from './model.js';

const FIELD: Record<RuleKind, Exclude<keyof RuleSet, 'files'>> = {
  Objective: 'objectives',
  Model: 'models',
  Shard: 'shards',
  Experiment: 'experiments',
  TrafficShift: 'trafficShifts',
  Migration: 'migrations',
  Shadow: 'shadows',
  Override: 'overrides',
  Client: 'clients',
  RolloutPolicy: 'rolloutPolicies',
};

export function countRules(rs: RuleSet): Record<RuleKind, number> {
  return Object.fromEntries(RULE_KINDS.map((k) => [k, rs[FIELD[k]]?.size ?? 0])) as Record<RuleKind, number>;
}

/** "3 Objective, 7 Model, ..." (kinds with zero rules left out), in the model's kind order. */
export function describeCounts(rs: RuleSet): string {
  const counts = countRules(rs);
  return RULE_KINDS.filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`)
    .join(', ');
}

export function totalRules(rs: RuleSet): number {
  return Object.values(countRules(rs)).reduce((a, b) => a + b, 0);
}
