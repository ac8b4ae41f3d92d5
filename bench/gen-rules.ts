// Generates large, realistic rule sets for benchmarks: in memory (a RuleSet) and as a rules
// directory of YAML files (one file per objective with its models, experiments, shift, shadows,
// overrides and migrations; one shards file; one clients file), so a benchmark can measure
// file-save-to-publish on the same content.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type {
  ClientRule,
  ExperimentRule,
  MigrationRule,
  ModelRule,
  ObjectiveRule,
  OverrideRule,
  Rule,
  RuleSet,
  ShadowRule,
  ShardEndpoint,
  ShardRule,
  SourceLocation,
  TrafficShiftRule,
  RolloutPolicyRule,
} from '../src/rules/model.js';
import { prng } from './prng.js';

export interface GenerateOptions {
  objectives: number;
  models: number;
  shards: number;
  /** Same seed, same rule set. Default 1. */
  seed?: number;
  /** Number of Client rules. Default 50. */
  clients?: number;
}


const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
const ZONES = ['a', 'b', 'c'] as const;
const MODEL_TYPES = ['ranker', 'retriever', 'classifier', 'embedder'] as const;

interface Generated {
  /** Rules grouped by the file writeRuleFiles puts them in. */
  files: Map<string, Rule[]>;
}

function generate(opts: GenerateOptions): Generated {
  const random = prng(opts.seed ?? 1);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const files = new Map<string, Rule[]>();
  const add = (file: string, rule: Omit<Rule, 'loc' | 'fieldLocs'>): void => {
    const list = files.get(file) ?? [];
    const loc: SourceLocation = { file, line: 1 + list.length * 10, column: 1 };
    list.push({ ...rule, loc, fieldLocs: {} } as Rule);
    files.set(file, list);
  };

  // ---- shards: 3..8 endpoints each, spread over the zones of one region.
  const shardNames: string[] = [];
  for (let s = 0; s < opts.shards; s++) {
    const name = `shard-${pad(s, 4)}`;
    shardNames.push(name);
    const region = REGIONS[s % REGIONS.length]!;
    const endpoints: ShardEndpoint[] = [];
    const n = int(3, 8);
    for (let e = 0; e < n; e++) {
      const zone = `${region}${ZONES[e % ZONES.length]}`;
      endpoints.push({ address: `10.${(s >> 8) & 255}.${s & 255}.${e + 10}`, port: 8080, region, zone, ...(e % 4 === 3 ? { weight: 2 } : {}) });
    }
    const shard: Omit<ShardRule, 'loc' | 'fieldLocs'> = {
      kind: 'Shard',
      name,
      endpoints,
      ...(s % 2 === 0 ? { limits: { maxConnections: 1024, maxPendingRequests: 256, maxRequests: 4096, maxRetries: 16 } } : {}),
      ...(s % 3 === 0 ? { outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 20 } } : {}),
      ...(s % 5 === 0 ? { connectTimeoutMs: 500, lbPolicy: 'LEAST_REQUEST' as const } : {}),
    };
    add('shards.yaml', shard);
  }

  // ---- clients
  const clientNames: string[] = [];
  for (let c = 0; c < (opts.clients ?? 50); c++) {
    const name = `client-${pad(c, 3)}`;
    clientNames.push(name);
    const client: Omit<ClientRule, 'loc' | 'fieldLocs'> = {
      kind: 'Client',
      name,
      testTraffic: c % 10 === 9,
      ...(c % 2 === 0 ? { rateLimitRps: 1000 * (1 + (c % 7)), maxConcurrentRequests: 64 } : {}),
    };
    add('clients.yaml', client);
  }

  // ---- objectives, each owning a contiguous block of models.
  let nextModel = 0;
  let nextAbTest = 10_000;
  for (let o = 0; o < opts.objectives; o++) {
    const objective = `Objective${pad(o, 5)}`;
    const file = `objectives/${objective}.yaml`;
    // Models are spread evenly; with fewer models than objectives, the extra objectives reuse one.
    const share = Math.floor(opts.models / opts.objectives) + (o < opts.models % opts.objectives ? 1 : 0);
    const owned: string[] = [];
    for (let m = 0; m < share; m++) owned.push(`model-${pad(nextModel++, 6)}`);
    const models = owned.length > 0 ? owned : [`model-${pad(o % Math.max(1, opts.models), 6)}`];
    const modelType = pick(MODEL_TYPES);
    const defaultModel = models[0]!;
    const obj: Omit<ObjectiveRule, 'loc' | 'fieldLocs'> = {
      kind: 'Objective',
      name: objective,
      defaultModel,
      modelType,
      inputType: `${modelType}-input`,
      timeoutMs: int(1, 40) * 50,
      retries: int(0, 3),
    };
    add(file, obj);
    for (const name of owned) {
      const model: Omit<ModelRule, 'loc' | 'fieldLocs'> = {
        kind: 'Model',
        name,
        shard: pick(shardNames),
        version: `${int(1, 9)}.${int(0, 20)}.${int(0, 99)}`,
        params: { topK: int(10, 500), temperature: Math.round(random() * 100) / 100, features: { recency: random() < 0.5, locale: pick(['en', 'fr', 'ja']) } },
      };
      add(file, model);
    }
    const others = models.slice(1);
    // Half the objectives run an A/B test over 2..4 of their models.
    if (others.length > 0 && random() < 0.5) {
      const cellModels = [defaultModel, ...others.slice(0, int(1, Math.min(3, others.length)))];
      const base = Math.floor(100 / cellModels.length);
      const abTestId = String(nextAbTest++);
      const exp: Omit<ExperimentRule, 'loc' | 'fieldLocs'> = {
        kind: 'Experiment',
        name: abTestId,
        abTestId,
        targetObjectives: [objective],
        cells: cellModels.map((model, i) => ({
          id: i === 0 ? 'control' : `cell${i + 1}`,
          model,
          percent: i === cellModels.length - 1 ? 100 - base * (cellModels.length - 1) : base,
        })),
        salt: `ab${abTestId}`,
      };
      add(file, exp);
    }
    if (others.length > 0 && random() < 0.15) {
      const shift: Omit<TrafficShiftRule, 'loc' | 'fieldLocs'> = {
        kind: 'TrafficShift',
        name: `${objective}-rollout`,
        objective,
        to: others.at(-1)!,
        steps: [5, 25, 50, 100].map((percent) => ({ percent, holdSeconds: 600 })),
      };
      add(file, shift);
    }
    if (others.length > 0 && random() < 0.1) {
      const shadow: Omit<ShadowRule, 'loc' | 'fieldLocs'> = { kind: 'Shadow', name: `${objective}-shadow`, objective, model: others.at(-1)!, percent: int(1, 20) };
      add(file, shadow);
    }
    if (others.length > 0 && random() < 0.1) {
      const byClient = random() < 0.5;
      const ov: Omit<OverrideRule, 'loc' | 'fieldLocs'> = {
        kind: 'Override',
        name: `${objective}-override`,
        objective,
        model: pick(others),
        match: byClient ? { client: pick(clientNames) } : { header: { name: 'x-test-traffic', value: 'true' } },
      };
      add(file, ov);
    }
  }

  // ---- migrations: ~3 % of models move to another shard.
  for (const [file, rules] of [...files]) {
    if (!file.startsWith('objectives/')) continue;
    for (const r of [...rules]) {
      if (r.kind !== 'Model' || random() >= 0.03 || shardNames.length < 2) continue;
      let to = pick(shardNames);
      while (to === r.shard) to = pick(shardNames);
      const mig: Omit<MigrationRule, 'loc' | 'fieldLocs'> = { kind: 'Migration', name: `${r.name}-migration`, model: r.name, from: r.shard, to, percent: int(0, 10) * 10 };
      add(file, mig);
    }
  }
  return { files };
}

/** Distributes rules into the RuleSet maps, inserting them in the order given (as after load + validate). */
export function ruleSetOf(rules: Iterable<Rule>): RuleSet {
  const rs = {
    objectives: new Map<string, ObjectiveRule>(),
    models: new Map<string, ModelRule>(),
    shards: new Map<string, ShardRule>(),
    experiments: new Map<string, ExperimentRule>(),
    trafficShifts: new Map<string, TrafficShiftRule>(),
    migrations: new Map<string, MigrationRule>(),
    shadows: new Map<string, ShadowRule>(),
    overrides: new Map<string, OverrideRule>(),
    clients: new Map<string, ClientRule>(),
    rolloutPolicies: new Map<string, RolloutPolicyRule>(),
  };
  const mapOf: { [K in Rule['kind']]: Map<string, Extract<Rule, { kind: K }>> } = {
    Objective: rs.objectives,
    Model: rs.models,
    Shard: rs.shards,
    Experiment: rs.experiments,
    TrafficShift: rs.trafficShifts,
    Migration: rs.migrations,
    Shadow: rs.shadows,
    Override: rs.overrides,
    Client: rs.clients,
    RolloutPolicy: rs.rolloutPolicies,
  };
  for (const r of rules) (mapOf[r.kind] as Map<string, Rule>).set(r.name, r);
  return { ...rs, files: [] };
}

function toRuleSet(g: Generated): RuleSet {
  return ruleSetOf([...g.files.values()].flat());
}

/** A RuleSet (in memory, as after load + validate) of the given size; same options, same set. */
export function generateRuleSet(opts: GenerateOptions): RuleSet {
  return toRuleSet(generate(opts));
}

/** The YAML document of a rule: its fields as authored in rule files (src/rules/schema.ts), without loc/fieldLocs. */
export function ruleDocument(rule: Rule): Record<string, unknown> {
  switch (rule.kind) {
    case 'Experiment': {
      // Rule files key cells by id ("cells.control.model"); name is the abTestId; salt defaults to ab<id>.
      const { kind, abTestId, targetObjectives, cells, salt, modelType, modelInputType } = rule;
      return {
        kind,
        abTestId,
        targetObjectives,
        cells: Object.fromEntries(cells.map((c) => [c.id, { model: c.model, percent: c.percent }])),
        ...(salt !== `ab${abTestId}` ? { salt } : {}),
        ...(modelType !== undefined ? { modelType } : {}),
        ...(modelInputType !== undefined ? { modelInputType } : {}),
      };
    }
    case 'TrafficShift': {
      // Rule files say `hold` (seconds); the model calls it holdSeconds.
      const { kind, name, objective, to, steps } = rule;
      return { kind, name, objective, to, steps: steps.map((s) => ({ percent: s.percent, hold: s.holdSeconds })) };
    }
    default: {
      const { loc: _loc, fieldLocs: _fieldLocs, ...fields } = rule;
      return fields;
    }
  }
}

/**
 * Writes a rules directory equivalent to generateRuleSet(opts): `shards.yaml`, `clients.yaml` and
 * `objectives/<Objective>.yaml` (the objective, its models, experiment, shift, shadow, override and
 * migrations), as multi-document YAML. Returns the relative paths written, sorted.
 */
export function writeRuleFiles(dir: string, opts: GenerateOptions): string[] {
  const g = generate(opts);
  const written: string[] = [];
  for (const [file, rules] of g.files) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, rules.map((r) => stringify(ruleDocument(r), { lineWidth: 0 })).join('---\n'));
    written.push(file);
  }
  return written.sort();
}
