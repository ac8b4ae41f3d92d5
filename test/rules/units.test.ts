// Small pure helpers: percent splitting, suggestions, formatting.
import { describe, it, expect } from 'vitest';
import { formatRuleError } from '../../src/rules/format.js';
import { ruleError } from '../../src/rules/errors.js';
import { splitEvenly } from '../../src/rules/split.js';
import { closest, editDistance } from '../../src/rules/suggest.js';
import { fieldLoc } from '../../src/rules/locate.js';

describe('splitEvenly', () => {
  it('gives the remainder to the first cells, one percent each', () => {
    expect(splitEvenly(1)).toEqual([100]);
    expect(splitEvenly(2)).toEqual([50, 50]);
    expect(splitEvenly(3)).toEqual([34, 33, 33]);
    expect(splitEvenly(6)).toEqual([17, 17, 17, 17, 16, 16]);
    expect(splitEvenly(7)).toEqual([15, 15, 14, 14, 14, 14, 14]);
    expect(splitEvenly(0)).toEqual([]);
  });

  it('always sums to exactly 100', () => {
    for (let n = 1; n <= 150; n++) expect(splitEvenly(n).reduce((a, b) => a + b, 0)).toBe(100);
  });
});

describe('suggestions', () => {
  it('edit distance counts transpositions as one edit', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('defualtModel', 'defaultModel')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('closest prefers case-insensitive matches, then the smallest distance', () => {
    expect(closest('experiment', ['Experiment', 'Objective'])).toEqual(['Experiment']);
    expect(closest('cw-ranker-v3', ['cw-ranker-v1', 'cw-ranker-v2', 'fraud-gbm-v2'])).toEqual(['cw-ranker-v1', 'cw-ranker-v2']);
    expect(closest('zzz', ['Objective', 'Model'])).toEqual([]);
  });
});

describe('formatRuleError', () => {
  it('is `file:line:column CODE what. Hint: how.`', () => {
    const e = ruleError(
      'RULE_UNKNOWN_MODEL',
      { file: 'experiments.yaml', line: 12, column: 7 },
      'Experiment "12345" cell "treatment" names model "cw-ranker-v3", which is not defined',
      'define a Model named "cw-ranker-v3" or use one of: cw-ranker-v1, cw-ranker-v2',
    );
    expect(formatRuleError(e, { dir: 'rules' })).toBe(
      'rules/experiments.yaml:12:7 RULE_UNKNOWN_MODEL Experiment "12345" cell "treatment" names model "cw-ranker-v3", which is not defined. Hint: define a Model named "cw-ranker-v3" or use one of: cw-ranker-v1, cw-ranker-v2.',
    );
    expect(formatRuleError(e)).toMatch(/^experiments\.yaml:12:7 /);
    expect(formatRuleError(e, { dir: './' })).toMatch(/^experiments\.yaml:12:7 /);
  });

  it('directory-level errors have no line and print the directory', () => {
    const e = ruleError('RULE_EMPTY', { file: '.', line: 0, column: 0 }, 'no rules found in 0 files');
    expect(formatRuleError(e, { dir: 'rules/' })).toBe(
      'rules RULE_EMPTY no rules found in 0 files. Hint: an empty rule set would delete every route and cluster; add rule files or point at the right directory.',
    );
  });
});

describe('fieldLoc', () => {
  it('falls back to the nearest located ancestor, then the rule', () => {
    const rule = { loc: { file: 'a', line: 1, column: 1 }, fieldLocs: { cells: { file: 'a', line: 4, column: 1 } } };
    expect(fieldLoc(rule, 'cells.x.model')).toEqual({ file: 'a', line: 4, column: 1 });
    expect(fieldLoc(rule, 'steps.0')).toEqual({ file: 'a', line: 1, column: 1 });
  });
});
