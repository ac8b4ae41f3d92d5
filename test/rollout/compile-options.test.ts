// The compile options the rollout layer adds: abortedShifts (a shift aborted by an operator) and
// readiness (nothing routes to an unready model; the objective keeps its previous model). Both are
// pure, and absent or empty they change nothing.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { applyReadiness, readinessHolds } from '../../src/compile/readiness.js';
import type { CompileOptions } from '../../src/compile/types.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { compileResolver } from '../../src/resolver/resolve.js';
import { fullRules, experiment, model, objective, ruleSet, shard } from '../compile/fixtures.js';
import { serverCompileOptions } from '../../src/rollout/server-compile-options.js';
import { shiftDigest, type ShiftSchedulerState, type ShiftView } from '../../src/rollout/shifts.js';
import type { ReadinessState } from '../../src/rollout/readiness.js';

const version = (options?: CompileOptions): string => createSnapshot(compile(ruleSet(fullRules()), options).resources).version;
const routeNames = (options?: CompileOptions): string[] => {
  const rc = compile(ruleSet(fullRules()), options).resources['type.googleapis.com/envoy.config.route.v3.RouteConfiguration']![0] as { virtual_hosts: Array<{ routes: Array<{ name: string }> }> };
  return rc.virtual_hosts[0]!.routes.map((r) => r.name);
};

describe('abortedShifts', () => {
  it('compiles an aborted shift at 0 % (step index 0) and keeps its routes; other shifts and no option are unchanged', () => {
    const at = (options: CompileOptions) => compile(ruleSet(fullRules()), options).resolverTable.objectives.SearchRanking!.shift;
    expect(at({ shiftSteps: { 'search-v4-rollout': 1 }, abortedShifts: ['search-v4-rollout'] })).toMatchObject({ percent: 0, stepIndex: 0, from: 'search-v3', to: 'search-v4' });
    expect(at({ shiftSteps: { 'search-v4-rollout': 1 }, abortedShifts: ['other'] })).toMatchObject({ percent: 25, stepIndex: 1 });
    expect(version({ shiftSteps: { 'search-v4-rollout': 1 }, abortedShifts: [] })).toBe(version({ shiftSteps: { 'search-v4-rollout': 1 } }));
    expect(routeNames({ abortedShifts: ['search-v4-rollout'] })).toEqual(routeNames({}));
  });

  it('sends every user to the default model', () => {
    const table = compile(ruleSet(fullRules()), { shiftSteps: { 'search-v4-rollout': 2 }, abortedShifts: ['search-v4-rollout'] }).resolverTable;
    const r = compileResolver(table, 't');
    for (let i = 0; i < 200; i++) expect(r.resolve({ objective: 'SearchRanking', userId: `u${i}` }).objectiveConfig.model).toBe('search-v3');
  });
});

describe('readiness', () => {
  it('an empty unready list compiles byte for byte like no option', () => {
    expect(version({ readiness: { unready: [] } })).toBe(version());
    expect(version({ readiness: { unready: ['no-such-model'], previousDefaults: { SearchRanking: 'search-v4' } } })).toBe(version());
  });

  it('withdraws an unready model everywhere it was used: routes, shift, override, shadow, cells', () => {
    const result = compile(ruleSet(fullRules()), { shiftSteps: { 'search-v4-rollout': 1 }, readiness: { unready: ['search-v4', 'search-test', 'ranker-v3', 'ranker-exp'] } });
    const names = (result.resources['type.googleapis.com/envoy.config.route.v3.RouteConfiguration']![0] as { virtual_hosts: Array<{ routes: Array<{ name: string; request_mirror_policies?: unknown[] }> }> }).virtual_hosts[0]!.routes;
    expect(names.map((r) => r.name)).toEqual([
      'rk:ContinueWatchingRanking/ranker-v1',
      'rk:ContinueWatchingRanking/ranker-v2',
      'rk:SearchRanking/search-v3',
      'objective:ContinueWatchingRanking',
      'objective:SearchRanking',
    ]);
    expect(names.some((r) => r.request_mirror_policies)).toBe(false); // the ranker-v3 shadow is gone
    const search = result.resolverTable.objectives.SearchRanking!;
    expect(search.shift).toBeUndefined();
    expect(search.overrides).toEqual([]);
    const cw = result.resolverTable.objectives.ContinueWatchingRanking!;
    expect(cw.experiments[0]!.cells.map((c) => [c.id, c.model])).toEqual([
      ['control', 'ranker-v1'],
      ['cell2', 'ranker-v2'],
      ['cell3', 'ranker-v1'], // ranker-exp is not ready: its users get the default model
    ]);
    expect(cw.overrides).toEqual([]); // qa-ranker -> ranker-v3
    // The resolver table is consistent (every model it names has a routing key).
    expect(() => compileResolver(result.resolverTable, 't')).not.toThrow();
  });

  it('keeps an objective on its previous default model while the new one is not ready', () => {
    const rules = fullRules().map((r) => (r.kind === 'Objective' && r.name === 'SearchRanking' ? { ...r, defaultModel: 'search-v4' } : r));
    const held = compile(ruleSet(rules), { readiness: { unready: ['search-v4'], previousDefaults: { SearchRanking: 'search-v3' } } });
    expect(held.resolverTable.objectives.SearchRanking!.defaultModel).toBe('search-v3');
    expect(Object.keys(held.resolverTable.objectives.SearchRanking!.routingKeys)).not.toContain('search-v4');
    // No previous model (first deploy): the unready default stays, there is nothing else to serve.
    const alone = compile(ruleSet(rules), { readiness: { unready: ['search-v4'] } });
    expect(alone.resolverTable.objectives.SearchRanking!.defaultModel).toBe('search-v4');
    expect(readinessHolds(ruleSet(rules), { unready: ['search-v4'], previousDefaults: { SearchRanking: 'search-v3' } })).toContainEqual({
      kind: 'default-kept',
      rule: 'SearchRanking',
      objective: 'SearchRanking',
      model: 'search-v4',
      instead: 'search-v3',
    });
    // Ready again: the same rules compile to the new default.
    expect(compile(ruleSet(rules), { readiness: { unready: [], previousDefaults: { SearchRanking: 'search-v3' } } }).resolverTable.objectives.SearchRanking!.defaultModel).toBe('search-v4');
  });

  it('splits an experiment targeting objectives with different defaults when a cell model is unready', () => {
    const rules = [
      shard('s', [{ address: '10.0.0.1', port: 1 }]),
      model('a', 's'),
      model('b', 's'),
      model('new', 's'),
      objective('One', 'a'),
      objective('Two', 'b'),
      experiment('7', ['One', 'Two'], [
        { id: 'control', model: 'a', percent: 50 },
        { id: 'treatment', model: 'new', percent: 50 },
      ]),
    ];
    const rs = ruleSet(rules);
    const rewritten = applyReadiness(rs, { unready: ['new'] });
    expect([...rewritten.experiments.values()].map((e) => [e.targetObjectives, e.cells.map((c) => c.model)])).toEqual([
      [['One'], ['a', 'a']],
      [['Two'], ['a', 'b']],
    ]);
    expect(rs.experiments.size).toBe(1); // pure: the input is untouched
    const table = compile(rs, { readiness: { unready: ['new'] } }).resolverTable;
    expect(table.objectives.One!.experiments[0]!.cells.map((c) => c.model)).toEqual(['a', 'a']);
    expect(table.objectives.Two!.experiments[0]!.cells.map((c) => c.model)).toEqual(['a', 'b']);
    expect(table.objectives.Two!.experiments[0]!.abTestId).toBe('7');
  });
});

describe('serverCompileOptions (what `switchyard plan` compiles with)', () => {
  const rs = ruleSet(fullRules());
  const rule = rs.trafficShifts.get('search-v4-rollout')!;
  const shiftView = (over: Partial<ShiftView>): ShiftView => ({
    name: 'search-v4-rollout', objective: rule.objective, to: rule.to, state: 'running', step: 1, steps: rule.steps.length, percent: 25,
    holdSeconds: 0, stepStartedAt: null, nextAt: null, waiting: null, digest: shiftDigest(rule), ...over,
  });
  const readinessOf = (models: Array<[string, boolean]>): ReadinessState =>
    ({ models: models.map(([model, ready]) => ({ model, ready, reason: null, shards: [], endpoints: [], since: null })) }) as unknown as ReadinessState;
  const shifts = (views: ShiftView[]) => ({ file: 'shifts.json', shifts: views, writeError: null, recoveredFrom: null }) as unknown as ShiftSchedulerState;

  it('takes the server step of a shift it knows with the same content, 0 for an edited one, and aborted shifts', () => {
    expect(serverCompileOptions(rs, { shifts: shifts([shiftView({})]), readiness: null }, undefined).options).toEqual({ shiftSteps: { 'search-v4-rollout': 1 } });
    const edited = serverCompileOptions(rs, { shifts: shifts([shiftView({ digest: 'ffffffffffffffff' })]), readiness: null }, undefined);
    expect(edited.options).toEqual({});
    expect(edited.notes[0]).toContain('is edited: the server restarts it at step 1');
    expect(serverCompileOptions(rs, { shifts: shifts([shiftView({ state: 'aborted', step: 1 })]), readiness: null }, undefined).options).toEqual({
      shiftSteps: { 'search-v4-rollout': 1 },
      abortedShifts: ['search-v4-rollout'],
    });
  });

  it('holds back the models the server finds not ready, with the live defaults as previous ones', () => {
    const previous = compile(rs).resolverTable;
    const out = serverCompileOptions(rs, { shifts: shifts([]), readiness: readinessOf([['search-v4', false], ['search-v3', true], ['gone', false]]) }, previous);
    expect(out.options.readiness?.unready).toEqual(['search-v4']);
    expect(out.options.readiness?.previousDefaults?.SearchRanking).toBe('search-v3');
    expect(out.notes.join(' ')).toContain('not ready are held back as it would: search-v4');
    expect(out.notes.join(' ')).toMatch(/models? the server has not probed yet/);
  });
});
