// Same RuleSet -> byte-identical resources and versions, whatever the insertion order of its maps.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import type { Rule, RuleSet } from '../../src/rules/model.js';
import { createSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { generateRuleSet } from '../../bench/gen-rules.js';
import { fullRules, prng, rulesOf, ruleSet, shuffle } from './fixtures.js';

function fingerprint(snapshot: Snapshot): string[] {
  const out: string[] = [];
  for (const t of snapshot.typeUrls()) {
    const set = snapshot.type(t)!;
    out.push(`${t} ${set.version}`);
    for (const n of set.names) out.push(`${t} ${n} ${Buffer.from(set.resources.get(n)!.bytes).toString('base64')}`);
  }
  return out;
}

/** Reverses the key order of every plain object inside params (same content, other insertion order). */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]));
  return v;
}

function permuted(rules: readonly Rule[], seed: number): RuleSet {
  const random = prng(seed);
  const reordered = shuffle(rules, random).map((r) => {
    if (r.kind === 'Model' && random() < 0.5) return { ...r, params: reverseKeys(r.params) as Record<string, unknown> };
    if (r.kind === 'Shard' && random() < 0.5) return { ...r, endpoints: shuffle(r.endpoints, random) };
    return r;
  });
  return ruleSet(reordered);
}

describe('determinism', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const sources: { name: string; rules: () => Rule[] }[] = [
    { name: 'full fixture', rules: fullRules },
    { name: 'generated rule set', rules: () => rulesOf(generateRuleSet({ objectives: 60, models: 240, shards: 12, seed: 7 })) },
  ];

  for (const src of sources) {
    it(`${src.name}: identical snapshot version and bytes for shuffled map insertion orders`, () => {
      const rules = src.rules();
      const options = { shiftSteps: { 'search-v4-rollout': 1 } };
      const reference = compile(ruleSet(rules), options);
      const refSnapshot = createSnapshot(reference.resources);
      const refTable = JSON.stringify(reference.resolverTable);
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const result = compile(permuted(rules, seed), options);
        const snapshot = createSnapshot(result.resources);
        expect(snapshot.version).toBe(refSnapshot.version);
        expect(fingerprint(snapshot)).toEqual(fingerprint(refSnapshot));
        expect(JSON.stringify(result.resolverTable)).toBe(refTable);
      }
    });
  }

  it('is pure: no clock, no randomness, no mutation of its input', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('compile must not use Math.random');
    });
    vi.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('compile must not read the clock');
    });
    const rs = ruleSet(fullRules());
    const before = JSON.stringify(rulesOf(rs));
    const a = compile(rs);
    const b = compile(rs);
    vi.restoreAllMocks();
    expect(JSON.stringify(rulesOf(rs))).toBe(before);
    expect(createSnapshot(a.resources).version).toBe(createSnapshot(b.resources).version);
    expect(a.resolverTable).toEqual(b.resolverTable);
  });

  it('changes the version when the content changes', () => {
    const rules = fullRules();
    const v1 = createSnapshot(compile(ruleSet(rules)).resources).version;
    const v2 = createSnapshot(compile(ruleSet(rules), { shiftSteps: {} }).resources).version;
    expect(v2).toBe(v1);
    const changed = rules.map((r) => (r.kind === 'Migration' && r.name === 'ranker-v2-to-c' ? { ...r, percent: 40 } : r));
    expect(createSnapshot(compile(ruleSet(changed)).resources).version).not.toBe(v1);
  });
});
