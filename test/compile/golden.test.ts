// Golden tests: the compiled resources, decoded back to JSON, and the resolver table, compared to
// test/compile/golden/*.json. UPDATE_GOLDEN=1 rewrites the files.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import type { CompileOptions } from '../../src/compile/types.js';
import type { Rule } from '../../src/rules/model.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { decodeSnapshot } from './decode.js';
import { basicRules, fullRules, ruleSet } from './fixtures.js';

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const cases: { name: string; rules: () => Rule[]; options?: CompileOptions }[] = [
  { name: 'basic', rules: basicRules },
  { name: 'full', rules: fullRules, options: { shiftSteps: { 'search-v4-rollout': 1 } } },
  { name: 'full-renamed-listener', rules: fullRules, options: { listenerName: 'ranking', shiftSteps: { 'search-v4-rollout': 99 } } },
];

describe('compile golden output', () => {
  for (const c of cases) {
    it(`${c.name} matches golden/${c.name}.json`, () => {
      const result = compile(ruleSet(c.rules()), c.options);
      const snapshot = createSnapshot(result.resources);
      const actual = JSON.parse(JSON.stringify({ resources: decodeSnapshot(snapshot), resolverTable: result.resolverTable })) as unknown;
      const file = path.join(GOLDEN_DIR, `${c.name}.json`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      }
      if (!existsSync(file)) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1`);
      expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
