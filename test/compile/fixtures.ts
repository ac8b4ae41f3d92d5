// Builds RuleSets directly in TypeScript (no YAML loader), with dummy source locations.
import type {
  ClientRule,
  ExperimentCell,
  ExperimentRule,
  MigrationRule,
  ModelRule,
  ObjectiveRule,
  OverrideMatch,
  OverrideRule,
  Rule,
  RuleSet,
  ShadowRule,
  ShardEndpoint,
  ShardRule,
  SourceLocation,
  TrafficShiftRule,
  TrafficShiftStep,
} from '../../src/rules/model.js';
import { prng } from '../../bench/prng.js';
import { ruleSetOf } from '../../bench/gen-rules.js';

let line = 0;
function loc(): SourceLocation {
  line += 1;
  return { file: 'fixture.yaml', line, column: 1 };
}

const base = { fieldLocs: {} } as const;

export function objective(name: string, defaultModel: string, extra: Partial<ObjectiveRule> = {}): ObjectiveRule {
  return { kind: 'Objective', name, loc: loc(), ...base, defaultModel, timeoutMs: 250, retries: 2, ...extra };
}

export function model(name: string, shard: string, extra: Partial<ModelRule> = {}): ModelRule {
  return { kind: 'Model', name, loc: loc(), ...base, shard, version: '1', params: {}, ...extra };
}

export function shard(name: string, endpoints: ShardEndpoint[], extra: Partial<ShardRule> = {}): ShardRule {
  return { kind: 'Shard', name, loc: loc(), ...base, endpoints, ...extra };
}

export function experiment(abTestId: string, targetObjectives: string[], cells: ExperimentCell[], extra: Partial<ExperimentRule> = {}): ExperimentRule {
  return { kind: 'Experiment', name: abTestId, loc: loc(), ...base, abTestId, targetObjectives, cells, salt: `ab${abTestId}`, ...extra };
}

export function trafficShift(name: string, objectiveName: string, to: string, steps: TrafficShiftStep[]): TrafficShiftRule {
  return { kind: 'TrafficShift', name, loc: loc(), ...base, objective: objectiveName, to, steps };
}

export function migration(name: string, modelName: string, from: string, to: string, percent: number): MigrationRule {
  return { kind: 'Migration', name, loc: loc(), ...base, model: modelName, from, to, percent };
}

export function shadow(name: string, objectiveName: string, modelName: string, percent: number): ShadowRule {
  return { kind: 'Shadow', name, loc: loc(), ...base, objective: objectiveName, model: modelName, percent };
}

export function override(name: string, objectiveName: string, modelName: string, match: OverrideMatch): OverrideRule {
  return { kind: 'Override', name, loc: loc(), ...base, objective: objectiveName, model: modelName, match };
}

export function client(name: string, testTraffic = false, extra: Partial<ClientRule> = {}): ClientRule {
  return { kind: 'Client', name, loc: loc(), ...base, testTraffic, ...extra };
}

/** Distributes rules into the RuleSet maps, inserting them in the order given. */
export function ruleSet(rules: readonly Rule[]): RuleSet {
  return ruleSetOf(rules);
}

/** The rules of a RuleSet as one flat list (for re-insertion in another order). */
export function rulesOf(rs: RuleSet): Rule[] {
  return [
    ...rs.objectives.values(),
    ...rs.models.values(),
    ...rs.shards.values(),
    ...rs.experiments.values(),
    ...rs.trafficShifts.values(),
    ...rs.migrations.values(),
    ...rs.shadows.values(),
    ...rs.overrides.values(),
    ...rs.clients.values(),
  ];
}

export { prng };

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------------------------------------------------------------- scenarios

/** Two objectives on two shards, nothing else: plain routes, no weights, no mirrors. */
export function basicRules(): Rule[] {
  return [
    shard('shard-a', [
      { address: '10.0.0.2', port: 8080, region: 'us-east-1', zone: 'us-east-1b' },
      { address: '10.0.0.1', port: 8080, region: 'us-east-1', zone: 'us-east-1a', weight: 3 },
      { address: '10.0.0.3', port: 8080, region: 'us-east-1', zone: 'us-east-1a' },
    ]),
    shard('shard-b', [{ address: '10.0.1.1', port: 9090 }], {
      limits: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 1000, maxRetries: 3 },
      outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
      connectTimeoutMs: 1500,
      lbPolicy: 'LEAST_REQUEST',
    }),
    model('ranker-v1', 'shard-a', { version: '1.4.2', params: { topK: 50, features: { b: 2, a: 1 } } }),
    model('search-v3', 'shard-b', { version: '3.0.0' }),
    objective('ContinueWatchingRanking', 'ranker-v1', { modelType: 'ranker', inputType: 'user-context', timeoutMs: 150, retries: 1 }),
    objective('SearchRanking', 'search-v3', { timeoutMs: 1250, retries: 0 }),
    client('homepage'),
  ];
}

/** Every rule kind: experiment, traffic shift, migrations (partial, 0 %, 100 %), shadow, overrides. */
export function fullRules(): Rule[] {
  return [
    ...basicRules(),
    shard('shard-c', [
      { address: '10.0.2.1', port: 8080, region: 'eu-west-1', zone: 'eu-west-1a', weight: 2 },
      { address: '10.0.2.2', port: 8080, region: 'eu-west-1', zone: 'eu-west-1b', weight: 5 },
    ]),
    shard('shard-spare', [{ address: '10.0.9.1', port: 8080 }]),
    model('ranker-v2', 'shard-a', { version: '2.0.0', params: { topK: 100 } }),
    model('ranker-v3', 'shard-c', { version: '3.0.0-rc1' }),
    model('ranker-exp', 'shard-c', { version: '0.9.0' }),
    model('search-v4', 'shard-b', { version: '4.0.0' }),
    model('search-test', 'shard-b', { version: '4.1.0-test' }),
    experiment('12345', ['ContinueWatchingRanking'], [
      { id: 'control', model: 'ranker-v1', percent: 33.33 },
      { id: 'cell2', model: 'ranker-v2', percent: 33.33 },
      { id: 'cell3', model: 'ranker-exp', percent: 33.34 },
    ]),
    trafficShift('search-v4-rollout', 'SearchRanking', 'search-v4', [
      { percent: 5, holdSeconds: 600 },
      { percent: 25, holdSeconds: 600 },
      { percent: 100, holdSeconds: 0 },
    ]),
    // ranker-v2 moves from shard-a to shard-c, 30 % done.
    migration('ranker-v2-to-c', 'ranker-v2', 'shard-a', 'shard-c', 30),
    // search-v4 migration not started (0 %): a plain route to shard-b.
    migration('search-v4-to-c', 'search-v4', 'shard-b', 'shard-c', 0),
    // ranker-exp migration finished (100 %): a plain route to shard-b.
    migration('ranker-exp-to-b', 'ranker-exp', 'shard-c', 'shard-b', 100),
    shadow('ranker-v3-shadow', 'ContinueWatchingRanking', 'ranker-v3', 10),
    override('test-traffic-search', 'SearchRanking', 'search-test', { header: { name: 'x-test-traffic', value: 'true' } }),
    override('qa-ranker', 'ContinueWatchingRanking', 'ranker-v3', { client: 'qa-bot' }),
    client('qa-bot', true, { rateLimitRps: 10, maxConcurrentRequests: 2 }),
  ];
}
