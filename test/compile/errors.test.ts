import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { AggregateSwitchyardError, ERROR_CATALOG } from '../../src/errors/catalog.js';
import type { Rule } from '../../src/rules/model.js';
import { experiment, migration, model, objective, override, ruleSet, shadow, shard, trafficShift } from './fixtures.js';

function codesOf(rules: Rule[]): string[] {
  try {
    compile(ruleSet(rules));
  } catch (err) {
    expect(err).toBeInstanceOf(AggregateSwitchyardError);
    return (err as AggregateSwitchyardError).errors.map((e) => e.code);
  }
  return [];
}

const s = shard('s', [{ address: '10.0.0.1', port: 80 }]);
const t = shard('t', [{ address: '10.0.0.2', port: 80 }]);

describe('compile errors', () => {
  it('are all in the catalog under COMP_', () => {
    const comp = Object.keys(ERROR_CATALOG).filter((c) => c.startsWith('COMP_'));
    expect(comp.sort()).toEqual(['COMP_CONFLICTING_RULES', 'COMP_INVALID_VALUE', 'COMP_ROUTING_KEY_COLLISION', 'COMP_UNKNOWN_REFERENCE']);
  });

  it('report every dangling reference at once, with file:line', () => {
    const rules: Rule[] = [
      s,
      model('m', 'nope-shard'),
      objective('o', 'missing-model'),
      shadow('sh', 'o', 'ghost', 10),
      override('ov', 'o', 'm', { client: 'nobody' }),
      experiment('1', ['no-objective'], [{ id: 'a', model: 'm', percent: 100 }]),
    ];
    expect(codesOf(rules)).toEqual(Array(5).fill('COMP_UNKNOWN_REFERENCE'));
    try {
      compile(ruleSet(rules));
    } catch (err) {
      expect((err as Error).message).toMatch(/fixture\.yaml:\d+:1: Objective "o" names model "missing-model"/);
    }
  });

  it('refuse two traffic shifts on one objective and two migrations of one model', () => {
    const rules: Rule[] = [
      s,
      t,
      model('m', 's'),
      model('n', 's'),
      objective('o', 'm'),
      trafficShift('a', 'o', 'n', [{ percent: 10, holdSeconds: 1 }]),
      trafficShift('b', 'o', 'n', [{ percent: 10, holdSeconds: 1 }]),
      migration('x', 'm', 's', 't', 10),
      migration('y', 'm', 's', 't', 20),
    ];
    expect(codesOf(rules)).toEqual(['COMP_CONFLICTING_RULES', 'COMP_CONFLICTING_RULES']);
  });

  it('refuse impossible percents and empty step lists', () => {
    const rules: Rule[] = [
      s,
      t,
      model('m', 's'),
      objective('o', 'm'),
      experiment('1', ['o'], [
        { id: 'a', model: 'm', percent: 60 },
        { id: 'b', model: 'm', percent: 60 },
      ]),
      trafficShift('ts', 'o', 'm', []),
      migration('mig', 'm', 's', 't', 120),
      shadow('sh', 'o', 'm', -1),
    ];
    expect(codesOf(rules)).toEqual(['COMP_INVALID_VALUE', 'COMP_INVALID_VALUE', 'COMP_INVALID_VALUE', 'COMP_INVALID_VALUE']);
  });

  it('refuse routing-key collisions', () => {
    const rules: Rule[] = [s, model('b/c', 's'), model('c', 's'), objective('a', 'b/c'), objective('a/b', 'c')];
    expect(codesOf(rules)).toEqual(['COMP_ROUTING_KEY_COLLISION']);
  });
});
