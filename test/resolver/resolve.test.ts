import { describe, expect, it } from 'vitest';
import { compileResolver, resolve, tableDigest } from '../../src/resolver/resolve.js';
import { userBucket } from '../../src/resolver/hash.js';
import type { ResolveContext } from '../../src/resolver/context.js';
import type { ResolverTable } from '../../src/compile/types.js';
import { CWR_EXPERIMENT, MODELS, cells, experiment, fullTable, model, objective, resolveErrorOf, shift, table, userIds } from './fixtures.js';

const CWR = 'ContinueWatchingRanking';
const cwrCell = (userId: string): string => {
  const b = userBucket('ab12345', userId);
  return b < 5000 ? 'control' : b < 7500 ? 'cell2' : 'cell3';
};
const cellModel: Record<string, string> = { control: 'rank-v1', cell2: 'rank-v2', cell3: 'rank-exp' };

describe('resolve: precedence, one level at a time', () => {
  const r = compileResolver(fullTable(), 'v1');

  it('5. default: an objective with nothing else gives its default model, no userId needed', () => {
    expect(r.resolve({ objective: 'Plain' })).toEqual({
      routingKey: 'Plain/plain-v1',
      objectiveConfig: {
        objective: 'Plain',
        model: 'plain-v1',
        modelVersion: '1',
        params: {},
        decidedBy: 'default',
        tableVersion: 'v1',
        timeoutMs: 250,
        retries: 2,
        testTraffic: false,
      },
    });
  });

  it('3. experiment: the cell of hash("ab12345:" + userId) mod 10000 (pinned users)', () => {
    // Buckets from the test vectors: user-1 -> 254, user-2 -> 6665, 1234567890 -> 8236.
    const cases: [string, string, string][] = [
      ['user-1', 'control', 'rank-v1'],
      ['user-2', 'cell2', 'rank-v2'],
      ['1234567890', 'cell3', 'rank-exp'],
    ];
    for (const [userId, cell, m] of cases) {
      const { routingKey, objectiveConfig: c } = r.resolve({ objective: CWR, userId });
      expect(routingKey).toBe(`${CWR}/${m}`);
      expect(c).toMatchObject({ model: m, decidedBy: 'experiment', experiment: { abTestId: '12345', cell }, timeoutMs: 120, retries: 1 });
      expect(c.shift).toBeUndefined();
      expect(c.override).toBeUndefined();
    }
    expect(r.resolve({ objective: CWR, userId: 'user-1' }).objectiveConfig).toEqual({
      objective: CWR,
      model: 'rank-v1',
      modelVersion: '1.4.2',
      params: { depth: 3, features: ['watch', 'time'], temperature: 0.7, nested: { on: true, off: null } },
      experiment: { abTestId: '12345', cell: 'control' },
      decidedBy: 'experiment',
      tableVersion: 'v1',
      timeoutMs: 120,
      retries: 1,
      testTraffic: false,
    });
  });

  it('4. shift: `to` exactly when hash("shift:<name>:" + userId) bucket < percent * 100', () => {
    // user-1 -> 2638, user-2 -> 7949 under "shift:search-v4-rollout".
    const at = (percent: number, userId: string) => compileResolver(fullTable(percent), 'v').resolve({ objective: 'SearchRanking', userId }).objectiveConfig;
    expect(at(25, 'user-1')).toMatchObject({ model: 'search-v3', decidedBy: 'shift', shift: { name: 'search-v4-rollout', side: 'from' } });
    expect(at(26.38, 'user-1')).toMatchObject({ model: 'search-v3', shift: { side: 'from' } });
    expect(at(26.39, 'user-1')).toMatchObject({ model: 'search-v4', decidedBy: 'shift', shift: { name: 'search-v4-rollout', side: 'to' } });
    expect(at(79.49, 'user-2').model).toBe('search-v3');
    expect(at(79.5, 'user-2').model).toBe('search-v4');
    expect(at(0, 'user-1').shift?.side).toBe('from');
    expect(at(100, 'user-2').shift?.side).toBe('to');
    expect(r.resolve({ objective: 'SearchRanking', userId: 'user-1' }).routingKey).toBe('SearchRanking/search-v3');
  });

  it('2. allocation: the external platform cell wins over the hash, with no userId needed', () => {
    for (const cell of ['control', 'cell2', 'cell3']) {
      const res = r.resolve({ objective: CWR, allocations: { '12345': cell } });
      expect(res.routingKey).toBe(`${CWR}/${cellModel[cell]}`);
      expect(res.objectiveConfig).toMatchObject({ decidedBy: 'allocation', experiment: { abTestId: '12345', cell } });
    }
    // user-1 hashes to control; the allocation moves it.
    expect(r.resolve({ objective: CWR, userId: 'user-1', allocations: { '12345': 'cell3' } }).objectiveConfig.model).toBe('rank-exp');
  });

  it('2. allocation: allocations of experiments that do not target the objective are ignored', () => {
    const res = r.resolve({ objective: CWR, userId: 'user-1', allocations: { '999': 'whatever' } });
    expect(res.objectiveConfig).toMatchObject({ decidedBy: 'experiment', experiment: { cell: 'control' } });
    expect(r.resolve({ objective: 'Plain', allocations: { '12345': 'cell3' } }).objectiveConfig.decidedBy).toBe('default');
  });

  it('1. override by client: beats allocation and experiment; a test-traffic client marks the result', () => {
    const res = r.resolve({ objective: CWR, userId: 'user-2', client: 'qa-bot', allocations: { '12345': 'cell3' } });
    expect(res.routingKey).toBe(`${CWR}/rank-v3`);
    expect(res.objectiveConfig).toMatchObject({ model: 'rank-v3', modelVersion: '3.0.0-rc1', decidedBy: 'override', override: 'cwr-qa-bot', testTraffic: true });
    expect(res.objectiveConfig.experiment).toBeUndefined();
  });

  it('1. override by header: only for test traffic, header names case-insensitive, values exact', () => {
    const headers = { 'x-test-model': 'rank-v3' };
    const test = r.resolve({ objective: CWR, userId: 'user-1', testTraffic: true, headers });
    expect(test.objectiveConfig).toMatchObject({ model: 'rank-v3', decidedBy: 'override', override: 'cwr-header', testTraffic: true });
    expect(r.resolve({ objective: CWR, userId: 'user-1', testTraffic: true, headers: { 'X-Test-Model': 'rank-v3' } }).objectiveConfig.override).toBe('cwr-header');
    // Production traffic carrying the header: ignored (experiment decides).
    expect(r.resolve({ objective: CWR, userId: 'user-1', headers }).objectiveConfig.decidedBy).toBe('experiment');
    expect(r.resolve({ objective: CWR, userId: 'user-1', client: 'web', headers }).objectiveConfig.decidedBy).toBe('experiment');
    expect(r.resolve({ objective: CWR, userId: 'user-1', testTraffic: false, headers }).objectiveConfig.decidedBy).toBe('experiment');
    // Wrong value: no match.
    expect(r.resolve({ objective: CWR, userId: 'user-1', testTraffic: true, headers: { 'x-test-model': 'rank-v2' } }).objectiveConfig).toMatchObject({
      decidedBy: 'experiment',
      testTraffic: true,
    });
    // The shift objective's header override, for test traffic, beats the shift.
    expect(r.resolve({ objective: 'SearchRanking', userId: 'user-1', testTraffic: true, headers: { 'x-search-model': 'test' } }).routingKey).toBe('SearchRanking/search-test');
  });

  it('a test-traffic client sees header overrides without context.testTraffic', () => {
    const res = r.resolve({ objective: 'SearchRanking', userId: 'user-1', client: 'qa-bot', headers: { 'x-search-model': 'test' } });
    expect(res.objectiveConfig).toMatchObject({ model: 'search-test', override: 'search-header', testTraffic: true });
  });
});

describe('resolve: precedence combined (override > allocation > experiment > shift)', () => {
  const r = compileResolver(fullTable(), 'v1');
  const users = userIds(2000, 3);
  const expBucket = (u: string) => userBucket('ab777', u);
  const shiftBucket = (u: string) => userBucket('shift:combo-shift', u);

  it('walks every level on one objective', () => {
    const seen = new Set<string>();
    for (const userId of users) {
      // Level 1 wins over everything.
      expect(r.resolve({ objective: 'Combo', userId, client: 'web', allocations: { '777': 'exp' } }).objectiveConfig).toMatchObject({ decidedBy: 'override', model: 'combo-override' });
      // Level 2 wins over the hash steps.
      expect(r.resolve({ objective: 'Combo', userId, client: 'mobile', allocations: { '777': 'exp' } }).objectiveConfig).toMatchObject({ decidedBy: 'allocation', model: 'combo-exp' });
      // Levels 3 and 4: the experiment covers buckets [0, 5000); the rest falls to the shift (50 %).
      const c = r.resolve({ objective: 'Combo', userId, client: 'mobile' }).objectiveConfig;
      if (expBucket(userId) < 5000) {
        expect(c).toMatchObject({ decidedBy: 'experiment', model: 'combo-exp', experiment: { abTestId: '777', cell: 'exp' } });
      } else if (shiftBucket(userId) < 5000) {
        expect(c).toMatchObject({ decidedBy: 'shift', model: 'combo-shift', shift: { name: 'combo-shift', side: 'to' } });
      } else {
        expect(c).toMatchObject({ decidedBy: 'shift', model: 'combo-default', shift: { name: 'combo-shift', side: 'from' } });
      }
      seen.add(`${c.decidedBy}/${c.model}`);
    }
    expect([...seen].sort()).toEqual(['experiment/combo-exp', 'shift/combo-default', 'shift/combo-shift']);
  });

  it('an experiment covering every bucket leaves nothing to a shift of the same objective', () => {
    const t = table(
      [objective('Both', 'rank-v1', { experiments: [CWR_EXPERIMENT], shift: shift('both-shift', 'rank-v1', 'rank-v2', 100) })],
      MODELS,
    );
    const both = compileResolver(t, 'v');
    for (const userId of users.slice(0, 200)) expect(both.resolve({ objective: 'Both', userId }).objectiveConfig.decidedBy).toBe('experiment');
  });
});

describe('resolve: stickiness, distribution, shift monotonicity', () => {
  it('a user keeps its cell across table versions when the experiment is unchanged', () => {
    const before = compileResolver(fullTable(5), 'v1');
    const changed: ResolverTable = {
      ...fullTable(50),
      objectives: {
        ...fullTable(50).objectives,
        New: objective('New', 'plain-v1', { experiments: [experiment('42', cells(['a', 'plain-v1', 50], ['b', 'rank-v2', 50]))] }),
      },
      models: { ...fullTable().models, 'rank-v2': model('rank-v2', { depth: 9 }, '2.1.0') },
    };
    const after = compileResolver(changed, 'v2');
    for (const userId of userIds(10_000, 11)) {
      const a = before.resolve({ objective: CWR, userId }).objectiveConfig;
      const b = after.resolve({ objective: CWR, userId }).objectiveConfig;
      expect(b.experiment).toEqual(a.experiment);
      expect(b.experiment?.cell).toBe(cwrCell(userId));
      expect(b.tableVersion).toBe('v2');
    }
  });

  it('spreads 100,000 users within 1 percentage point of 50/25/25', () => {
    const r = compileResolver(fullTable(), 'v1');
    const counts: Record<string, number> = { control: 0, cell2: 0, cell3: 0 };
    const users = userIds(100_000, 5);
    for (const userId of users) counts[r.resolve({ objective: CWR, userId }).objectiveConfig.experiment!.cell]! += 1;
    const share = (cell: string) => (100 * counts[cell]!) / users.length;
    expect(Math.abs(share('control') - 50)).toBeLessThan(1);
    expect(Math.abs(share('cell2') - 25)).toBeLessThan(1);
    expect(Math.abs(share('cell3') - 25)).toBeLessThan(1);
  });

  it('only adds users to `to` as the shift percent grows (5, 25, 50, 100)', () => {
    const users = userIds(50_000, 9);
    let previous = new Set<string>();
    for (const percent of [5, 25, 50, 100]) {
      const r = compileResolver(fullTable(percent), `p${percent}`);
      const on = new Set(users.filter((userId) => r.resolve({ objective: 'SearchRanking', userId }).objectiveConfig.shift!.side === 'to'));
      for (const u of previous) expect(on.has(u)).toBe(true);
      expect(Math.abs((100 * on.size) / users.length - percent)).toBeLessThan(1);
      previous = on;
    }
    expect(previous.size).toBe(users.length);
  });
});

describe('resolve: errors have stable codes', () => {
  const r = compileResolver(fullTable(), 'v1');
  const bad = (ctx: unknown) => resolveErrorOf(() => r.resolve(ctx as ResolveContext));

  it('RESOLVE_UNKNOWN_OBJECTIVE for an objective the table lacks (no silent default)', () => {
    const err = bad({ objective: 'NoSuchObjective', userId: 'u' });
    expect(err.code).toBe('RESOLVE_UNKNOWN_OBJECTIVE');
    expect(err.field).toBe('objective');
    expect(err.message).toContain('NoSuchObjective');
    expect(bad({ objective: 'continuewatchingranking', userId: 'u' }).code).toBe('RESOLVE_UNKNOWN_OBJECTIVE');
  });

  it('RESOLVE_MISSING_OBJECTIVE when objective is absent or empty', () => {
    expect(bad({ userId: 'u' }).code).toBe('RESOLVE_MISSING_OBJECTIVE');
    expect(bad({ objective: '', userId: 'u' }).code).toBe('RESOLVE_MISSING_OBJECTIVE');
    expect(bad({ objective: null }).code).toBe('RESOLVE_MISSING_OBJECTIVE');
  });

  it('RESOLVE_MISSING_USER_ID when an experiment or shift needs the user and it is missing or empty', () => {
    for (const ctx of [{ objective: CWR }, { objective: CWR, userId: '' }, { objective: 'SearchRanking' }, { objective: 'SearchRanking', userId: null }]) {
      const err = bad(ctx);
      expect(err.code).toBe('RESOLVE_MISSING_USER_ID');
      expect(err.field).toBe('userId');
    }
    // Not needed when a higher level decides, nor by objectives without hash steps.
    expect(r.resolve({ objective: CWR, allocations: { '12345': 'cell2' } }).objectiveConfig.decidedBy).toBe('allocation');
    expect(r.resolve({ objective: CWR, client: 'qa-bot' }).objectiveConfig.decidedBy).toBe('override');
    expect(r.resolve({ objective: 'Plain', userId: '' }).objectiveConfig.decidedBy).toBe('default');
  });

  it('RESOLVE_UNKNOWN_CELL when the platform allocates a cell the experiment lacks', () => {
    const err = bad({ objective: CWR, userId: 'u', allocations: { '12345': 'cell9' } });
    expect(err.code).toBe('RESOLVE_UNKNOWN_CELL');
    expect(err.field).toBe('allocations.12345');
    expect(err.message).toContain('cell9');
    expect(err.message).toContain('control, cell2, cell3');
  });

  it('RESOLVE_BAD_CONTEXT for a context that is not an object, or a field of the wrong type', () => {
    for (const ctx of [null, undefined, 'ContinueWatchingRanking', 42, [], [{ objective: CWR }]]) expect(bad(ctx).code).toBe('RESOLVE_BAD_CONTEXT');
    const cases: [object, string][] = [
      [{ objective: 42 }, 'objective'],
      [{ objective: CWR, userId: 123 }, 'userId'],
      [{ objective: CWR, userId: 'u', country: ['SE'] }, 'country'],
      [{ objective: CWR, userId: 'u', device: {} }, 'device'],
      [{ objective: CWR, userId: 'u', surface: true }, 'surface'],
      [{ objective: CWR, userId: 'u', client: 7 }, 'client'],
      [{ objective: CWR, userId: 'u', testTraffic: 'yes' }, 'testTraffic'],
      [{ objective: CWR, userId: 'u', allocations: ['12345'] }, 'allocations'],
      [{ objective: CWR, userId: 'u', allocations: 'cell2' }, 'allocations'],
      [{ objective: CWR, userId: 'u', allocations: { '12345': 2 } }, 'allocations.12345'],
      [{ objective: CWR, userId: 'u', headers: { 'x-a': ['b'] } }, 'headers.x-a'],
    ];
    for (const [ctx, field] of cases) {
      const err = bad(ctx);
      expect(err.code, JSON.stringify(ctx)).toBe('RESOLVE_BAD_CONTEXT');
      expect(err.field).toBe(field);
    }
  });

  it('RESOLVE_UNKNOWN_FIELD for a field the context does not define', () => {
    const err = bad({ objective: CWR, userid: 'u' });
    expect(err.code).toBe('RESOLVE_UNKNOWN_FIELD');
    expect(err.field).toBe('userid');
    expect(bad({ objective: 'Plain', abTestId: '1' }).code).toBe('RESOLVE_UNKNOWN_FIELD');
  });

  it('accepts null and undefined for optional fields', () => {
    const res = r.resolve({ objective: CWR, userId: 'user-1', country: null, device: undefined, client: null, testTraffic: null, allocations: null, headers: undefined } as unknown as ResolveContext);
    expect(res.objectiveConfig.experiment?.cell).toBe('control');
  });

  it('RESOLVE_BAD_TABLE when the table is inconsistent', () => {
    const base = fullTable();
    const cwr = base.objectives[CWR]!;
    const broken: ResolverTable[] = [
      { ...base, models: { ...base.models, 'rank-exp': undefined as never } },
      { ...base, objectives: { ...base.objectives, [CWR]: { ...cwr, routingKeys: { 'rank-v1': `${CWR}/rank-v1` } } } },
      {
        ...base,
        objectives: {
          ...base.objectives,
          [CWR]: { ...cwr, experiments: [experiment('1', [{ id: 'a', model: 'rank-v1', percent: 60, bucketStart: 0, bucketEnd: 6000 }, { id: 'b', model: 'rank-v2', percent: 50, bucketStart: 5000, bucketEnd: 10_000 }])] },
        },
      },
      { ...base, objectives: { ...base.objectives, [CWR]: { ...cwr, experiments: [experiment('1', [{ id: 'a', model: 'rank-v1', percent: 100, bucketStart: 0, bucketEnd: 10_001 }])] } } },
      { ...base, objectives: { ...base.objectives, Plain: { ...base.objectives.Plain!, name: 'Other' } } },
    ];
    for (const t of broken) {
      const clean = JSON.parse(JSON.stringify(t)) as ResolverTable;
      expect(resolveErrorOf(() => compileResolver(clean, 'v')).code).toBe('RESOLVE_BAD_TABLE');
    }
  });
});

describe('resolve: results and the one-shot form', () => {
  it('returns frozen results, shared between requests with the same decision', () => {
    const r = compileResolver(fullTable(), 'v1');
    const a = r.resolve({ objective: CWR, userId: 'user-1' });
    const b = r.resolve({ objective: CWR, userId: 'user-1', country: 'SE', device: 'tv', surface: 'home' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a) && Object.isFrozen(a.objectiveConfig) && Object.isFrozen(a.objectiveConfig.params)).toBe(true);
    expect(Object.isFrozen(a.objectiveConfig.params.features)).toBe(true);
    // The caller's table is not frozen.
    expect(Object.isFrozen(MODELS[0]!.params)).toBe(false);
    expect(r.resolve({ objective: CWR, userId: 'user-1', testTraffic: true })).not.toBe(a);
    expect(r.objectives).toEqual(['Combo', CWR, 'Plain', 'SearchRanking']);
  });

  it('resolve(table, context) caches per table and versions by content digest', () => {
    const t = fullTable();
    const first = resolve(t, { objective: 'Plain' });
    expect(first.objectiveConfig.tableVersion).toBe(tableDigest(t));
    expect(tableDigest(fullTable())).toBe(tableDigest(t));
    expect(tableDigest(fullTable(30))).not.toBe(tableDigest(t));
    expect(resolve(t, { objective: 'Plain' })).toBe(first);
    expect(resolve(t, { objective: 'Plain' }, 'explicit').objectiveConfig.tableVersion).toBe('explicit');
  });
});
