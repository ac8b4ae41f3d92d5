import { describe, expect, it } from 'vitest';
import { cellBuckets } from '../../src/compile/resolver-table.js';
import { compile } from '../../src/compile/compile.js';
import type { ExperimentCell } from '../../src/rules/model.js';
import { fullRules, prng, ruleSet } from './fixtures.js';

function expectCover(cells: readonly { bucketStart: number; bucketEnd: number }[]): void {
  expect(cells[0]!.bucketStart).toBe(0);
  expect(cells.at(-1)!.bucketEnd).toBe(10_000);
  for (let i = 1; i < cells.length; i++) expect(cells[i]!.bucketStart).toBe(cells[i - 1]!.bucketEnd);
  for (const c of cells) expect(c.bucketEnd).toBeGreaterThanOrEqual(c.bucketStart);
}

describe('resolver table', () => {
  it('maps experiment cells to bucket ranges covering [0, 10000) exactly, in declaration order', () => {
    const table = compile(ruleSet(fullRules())).resolverTable;
    const [exp] = table.objectives.ContinueWatchingRanking!.experiments;
    expect(exp).toEqual({
      abTestId: '12345',
      salt: 'ab12345',
      cells: [
        { id: 'control', model: 'ranker-v1', percent: 33.33, bucketStart: 0, bucketEnd: 3333 },
        { id: 'cell2', model: 'ranker-v2', percent: 33.33, bucketStart: 3333, bucketEnd: 6666 },
        { id: 'cell3', model: 'ranker-exp', percent: 33.34, bucketStart: 6666, bucketEnd: 10_000 },
      ],
    });
    expectCover(exp!.cells);
  });

  it('covers [0, 10000) for random cell splits, the last cell absorbing rounding', () => {
    const random = prng(42);
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + Math.floor(random() * 6);
      const raw = Array.from({ length: n }, () => random());
      const total = raw.reduce((a, b) => a + b, 0);
      const percents = raw.map((r) => Math.round((r / total) * 100 * 1000) / 1000);
      percents[n - 1] = 100 - percents.slice(0, -1).reduce((a, b) => a + b, 0);
      const cells: ExperimentCell[] = percents.map((p, i) => ({ id: `c${i}`, model: 'm', percent: p }));
      const out = cellBuckets(cells);
      expectCover(out);
      out.slice(0, -1).forEach((c, i) => expect(c.bucketEnd - c.bucketStart).toBe(Math.round(percents[i]! * 100)));
    }
  });

  it('gives a 0 % cell an empty range', () => {
    const out = cellBuckets([
      { id: 'a', model: 'm', percent: 0 },
      { id: 'b', model: 'm', percent: 100 },
      { id: 'c', model: 'm', percent: 0 },
    ]);
    expect(out.map((c) => [c.bucketStart, c.bucketEnd])).toEqual([
      [0, 0],
      [0, 10_000],
      [10_000, 10_000],
    ]);
  });

  it('reports the current traffic shift step, clamped to the step list, from the default model', () => {
    const shiftAt = (step?: number) =>
      compile(ruleSet(fullRules()), step === undefined ? {} : { shiftSteps: { 'search-v4-rollout': step } }).resolverTable.objectives.SearchRanking!.shift;
    expect(shiftAt()).toEqual({ name: 'search-v4-rollout', from: 'search-v3', to: 'search-v4', percent: 5, stepIndex: 0, salt: 'shift:search-v4-rollout' });
    expect(shiftAt(1)).toMatchObject({ percent: 25, stepIndex: 1 });
    expect(shiftAt(2)).toMatchObject({ percent: 100, stepIndex: 2 });
    expect(shiftAt(7)).toMatchObject({ percent: 100, stepIndex: 2 });
    expect(shiftAt(-3)).toMatchObject({ percent: 5, stepIndex: 0 });
    expect(compile(ruleSet(fullRules())).resolverTable.objectives.ContinueWatchingRanking!.shift).toBeUndefined();
  });

  it('lists objectives with routing keys and overrides sorted by name', () => {
    const table = compile(ruleSet(fullRules())).resolverTable;
    const search = table.objectives.SearchRanking!;
    expect(search).toMatchObject({ name: 'SearchRanking', defaultModel: 'search-v3', timeoutMs: 1250, retries: 0 });
    expect(search.routingKeys).toEqual({
      'search-test': 'SearchRanking/search-test',
      'search-v3': 'SearchRanking/search-v3',
      'search-v4': 'SearchRanking/search-v4',
    });
    expect(search.overrides).toEqual([{ name: 'test-traffic-search', model: 'search-test', header: { name: 'x-test-traffic', value: 'true' } }]);
    expect(table.objectives.ContinueWatchingRanking!.overrides).toEqual([{ name: 'qa-ranker', model: 'ranker-v3', client: 'qa-bot' }]);
    expect(Object.keys(table.objectives)).toEqual(['ContinueWatchingRanking', 'SearchRanking']);
  });

  it('lists every model with version, shard and params (keys sorted), and every client', () => {
    const table = compile(ruleSet(fullRules())).resolverTable;
    expect(Object.keys(table.models)).toEqual(['ranker-exp', 'ranker-v1', 'ranker-v2', 'ranker-v3', 'search-test', 'search-v3', 'search-v4']);
    expect(table.models['ranker-v1']).toEqual({ name: 'ranker-v1', version: '1.4.2', shard: 'shard-a', params: { features: { a: 1, b: 2 }, topK: 50 } });
    expect(JSON.stringify(table.models['ranker-v1']!.params)).toBe('{"features":{"a":1,"b":2},"topK":50}');
    expect(table.clients).toEqual({ homepage: { testTraffic: false }, 'qa-bot': { testTraffic: true } });
  });
});
