// Exact error text per error family, compared with test/rules/golden/*.txt (UPDATE_GOLDEN=1 rewrites).
import { describe, it, expect } from 'vitest';
import { formatRuleErrors } from '../../src/rules/format.js';
import { loadRuleDir } from '../../src/rules/load.js';
import { expectGolden, fixtureDir } from './helpers.js';

const FAMILIES = [
  'yaml-syntax',
  'json-syntax',
  'schema',
  'references',
  'duplicates',
  'experiments',
  'shards',
  'shifts',
  'migrations',
  'objectives-overrides-clients',
  'modules',
] as const;

describe('error text (golden)', () => {
  for (const family of FAMILIES) {
    it(family, async () => {
      const dir = await fixtureDir('base', family);
      const r = await loadRuleDir(dir);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      // No error may point into the shared valid base (except a duplicate of one of its names).
      expect(r.errors.filter((e) => e.file === 'base.yaml' && e.code !== 'RULE_DUPLICATE_NAME')).toEqual([]);
      await expectGolden(family, formatRuleErrors(r.errors, { dir: 'rules' }));
    });
  }
});
