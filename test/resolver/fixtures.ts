// ResolverTable fixtures built directly in TypeScript (no rules, no compiler).
import type { ResolverCell, ResolverExperiment, ResolverModel, ResolverObjective, ResolverOverride, ResolverShift, ResolverTable } from '../../src/compile/types.js';
import { ResolveError } from '../../src/resolver/errors.js';
import { prng } from '../../bench/prng.js';

/** Consecutive half-open bucket ranges from 0, each round(percent * 100) wide, the last absorbing rounding. */
export function cells(...specs: [id: string, model: string, percent: number][]): ResolverCell[] {
  let start = 0;
  return specs.map(([id, model, percent], i) => {
    const end = i === specs.length - 1 ? 10_000 : start + Math.round(percent * 100);
    const c = { id, model, percent, bucketStart: start, bucketEnd: end };
    start = end;
    return c;
  });
}

export function experiment(abTestId: string, cellList: ResolverCell[], salt = `ab${abTestId}`): ResolverExperiment {
  return { abTestId, salt, cells: cellList };
}

export function shift(name: string, from: string, to: string, percent: number): ResolverShift {
  return { name, from, to, percent, stepIndex: 0, salt: `shift:${name}` };
}

export function objective(
  name: string,
  defaultModel: string,
  extra: { experiments?: ResolverExperiment[]; shift?: ResolverShift; overrides?: ResolverOverride[]; timeoutMs?: number; retries?: number; modelType?: string } = {},
): ResolverObjective {
  const models = new Set<string>([defaultModel]);
  for (const e of extra.experiments ?? []) for (const c of e.cells) models.add(c.model);
  if (extra.shift) models.add(extra.shift.to);
  for (const o of extra.overrides ?? []) models.add(o.model);
  return {
    name,
    defaultModel,
    ...(extra.modelType !== undefined ? { modelType: extra.modelType } : {}),
    timeoutMs: extra.timeoutMs ?? 250,
    retries: extra.retries ?? 2,
    routingKeys: Object.fromEntries([...models].sort().map((m) => [m, `${name}/${m}`])),
    experiments: extra.experiments ?? [],
    ...(extra.shift ? { shift: extra.shift } : {}),
    overrides: extra.overrides ?? [],
  };
}

export function model(name: string, params: Record<string, unknown> = {}, version = '1', shard = 'shard-a'): ResolverModel {
  return { name, version, shard, params };
}

export function table(objectives: ResolverObjective[], models: ResolverModel[], clients: Record<string, boolean> = {}): ResolverTable {
  return {
    objectives: Object.fromEntries(objectives.map((o) => [o.name, o])),
    models: Object.fromEntries(models.map((m) => [m.name, m])),
    clients: Object.fromEntries(Object.entries(clients).map(([name, testTraffic]) => [name, { testTraffic }])),
  };
}

export const MODELS: ResolverModel[] = [
  model('rank-v1', { depth: 3, features: ['watch', 'time'], temperature: 0.7, nested: { on: true, off: null } }, '1.4.2'),
  model('rank-v2', { depth: 4 }, '2.0.0'),
  model('rank-v3', {}, '3.0.0-rc1'),
  model('rank-exp', { depth: 5, flags: [] }, '0.9'),
  model('search-v3', { k: 10 }, '3'),
  model('search-v4', { k: 20 }, '4'),
  model('search-test', {}, 't'),
  model('plain-v1', {}, '1', 'shard-b'),
  model('combo-default', {}, '1'),
  model('combo-exp', {}, '1'),
  model('combo-shift', {}, '1'),
  model('combo-override', {}, '1'),
];

export const CWR_EXPERIMENT = experiment('12345', cells(['control', 'rank-v1', 50], ['cell2', 'rank-v2', 25], ['cell3', 'rank-exp', 25]));

/** The main fixture: an experiment objective, a shift objective, a plain objective and a combined one. */
export function fullTable(shiftPercent = 25): ResolverTable {
  return table(
    [
      objective('ContinueWatchingRanking', 'rank-v1', {
        experiments: [CWR_EXPERIMENT],
        overrides: [
          { name: 'cwr-qa-bot', model: 'rank-v3', client: 'qa-bot' },
          { name: 'cwr-header', model: 'rank-v3', header: { name: 'x-test-model', value: 'rank-v3' } },
        ],
        timeoutMs: 120,
        retries: 1,
        modelType: 'ranking',
      }),
      objective('SearchRanking', 'search-v3', {
        shift: shift('search-v4-rollout', 'search-v3', 'search-v4', shiftPercent),
        overrides: [{ name: 'search-header', model: 'search-test', header: { name: 'x-search-model', value: 'test' } }],
      }),
      objective('Plain', 'plain-v1'),
      // An experiment whose cells cover only [0, 5000): users above fall through to the shift.
      objective('Combo', 'combo-default', {
        experiments: [experiment('777', [{ id: 'exp', model: 'combo-exp', percent: 50, bucketStart: 0, bucketEnd: 5000 }])],
        shift: shift('combo-shift', 'combo-default', 'combo-shift', 50),
        overrides: [{ name: 'combo-web-override', model: 'combo-override', client: 'web' }],
      }),
    ],
    MODELS,
    { 'qa-bot': true, web: false, mobile: false },
  );
}

/** Runs `fn` and returns the ResolveError it throws (fails when it throws nothing or something else). */
export function resolveErrorOf(fn: () => unknown): ResolveError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ResolveError) return err;
    throw new Error(`expected a ResolveError, got ${String(err)}`);
  }
  throw new Error('expected a ResolveError, nothing was thrown');
}

export { prng };

export function userIds(count: number, seed = 1): string[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => `u${i}-${Math.floor(random() * 1e9).toString(36)}`);
}
