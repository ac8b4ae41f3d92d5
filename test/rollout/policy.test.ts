// The RolloutPolicy rule kind (validation, defaults) and wave membership (canary by metadata or
// cluster, the rest by a stable hash of the node id).
import { describe, expect, it } from 'vitest';
import { loadRuleTexts, ruleSetFromDocuments } from '../../src/rules/documents.js';
import { describeCounts } from '../../src/rules/summary.js';
import { DEFAULT_ROLLOUT_POLICY, describePolicy, isCanary, nodeBucket, rolloutPolicy, rolloutPolicyOf, waveOf } from '../../src/rollout/policy.js';
import type { NodeInfo } from '../../src/xds/provider.js';

const BASE = `kind: Shard
name: s
endpoints: [{ address: 127.0.0.1, port: 50051 }]
---
kind: Model
name: m
shard: s
version: "1"
---
kind: Objective
name: O
defaultModel: m
`;

const node = (id: string, extra: Partial<NodeInfo> = {}): NodeInfo => ({ id, cluster: 'edge', userAgent: 'envoy/1.31', ...extra });

function errorsOf(policy: string): string[] {
  const r = loadRuleTexts([{ file: 'a.yaml', text: `${BASE}---\n${policy}` }]);
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

describe('RolloutPolicy rules', () => {
  it('normalizes a policy: canary selectors, waves with bake seconds', () => {
    const rs = ruleSetFromDocuments([
      {
        file: 'a.yaml',
        text: `${BASE}---
kind: RolloutPolicy
name: fleet
canary: { metadata: { canary: true, ring: 0 }, clusters: ["canary-*"], bake: 30 }
waves:
  - { percent: 5, bake: 60 }
  - { percent: 100 }
`,
      },
    ]);
    expect(rs.rolloutPolicies!.get('fleet')).toMatchObject({
      kind: 'RolloutPolicy',
      canary: { metadata: { canary: 'true', ring: '0' }, clusters: ['canary-*'], bakeSeconds: 30 },
      waves: [
        { percent: 5, bakeSeconds: 60 },
        { percent: 100, bakeSeconds: 0 },
      ],
    });
    expect(describeCounts(rs)).toBe('1 Objective, 1 Model, 1 Shard, 1 RolloutPolicy');
    const spec = rolloutPolicyOf(rs);
    expect(spec).toMatchObject({ name: 'fleet', source: 'rules' });
    expect(spec.waves.map((w) => [w.name, w.bucketStart, w.bucketEnd, w.bakeMs])).toEqual([
      ['canary', undefined, undefined, 30_000],
      ['wave 1', 0, 500, 60_000],
      ['wave 2', 500, 10_000, 0],
    ]);
  });

  it('defaults: canary = metadata canary: true; waves 10, 50, 100; no bake; ACK timeout 120 s', () => {
    const rs = ruleSetFromDocuments([{ file: 'a.yaml', text: `${BASE}---\nkind: RolloutPolicy\nname: fleet\n` }]);
    expect(rs.rolloutPolicies!.get('fleet')).toMatchObject({ canary: { metadata: { canary: 'true' }, clusters: [], bakeSeconds: 0 }, waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }], ackTimeoutSeconds: 120 });
    expect(rolloutPolicyOf(ruleSetFromDocuments([{ file: 'a.yaml', text: `${BASE}---\nkind: RolloutPolicy\nname: fleet\nackTimeout: 30\n` }])).ackTimeoutMs).toBe(30_000);
    // No policy at all: the built-in default, same waves.
    expect(rolloutPolicyOf(ruleSetFromDocuments([{ file: 'a.yaml', text: BASE }]))).toBe(DEFAULT_ROLLOUT_POLICY);
    expect(describePolicy(DEFAULT_ROLLOUT_POLICY)).toBe('canary (metadata canary=true), wave 1 (10%), wave 2 (50%), wave 3 (100%); ACK timeout 120s');
    // A rule set without the new field (built by hand) still works.
    expect(rolloutPolicyOf({})).toBe(DEFAULT_ROLLOUT_POLICY);
  });

  it('reports bad waves, bakes, patterns and a second policy with file:line', () => {
    expect(errorsOf('kind: RolloutPolicy\nname: p\nwaves: []\n')).toEqual(['16:1 RULE_BAD_VALUE RolloutPolicy "p" has no waves.']);
    expect(errorsOf('kind: RolloutPolicy\nname: p\nwaves: [{ percent: 50 }, { percent: 40 }, { percent: 120 }]\n')).toEqual([
      '16:37 RULE_BAD_VALUE RolloutPolicy "p" wave 1 percent 40 does not grow from 50.',
      '16:54 RULE_BAD_PERCENT RolloutPolicy "p" wave 2 percent is 120, outside 0 (excluded)..100.',
      '16:54 RULE_BAD_VALUE RolloutPolicy "p" last wave reaches 120 percent, not 100.',
    ]);
    expect(errorsOf('kind: RolloutPolicy\nname: p\ncanary: { clusters: [""], bake: -1 }\n')).toEqual([
      '16:22 RULE_BAD_VALUE RolloutPolicy "p" canary cluster pattern 0 is empty.',
      '16:33 RULE_OUT_OF_RANGE RolloutPolicy "p" canary.bake is -1.',
    ]);
    expect(errorsOf('kind: RolloutPolicy\nname: p\nwaves: [{ percent: 100, bake: 1e9 }]\n')).toEqual(['16:31 RULE_OUT_OF_RANGE RolloutPolicy "p" waves.0.bake is 1000000000.']);
    expect(errorsOf('kind: RolloutPolicy\nname: p\nwaves: [{ percent: 100, hold: 3 }]\n')).toEqual(['16:25 RULE_UNKNOWN_FIELD RolloutPolicy "p" has unknown field "waves.0.hold".']);
    expect(errorsOf('kind: RolloutPolicy\nname: p\nackTimeout: 0\n')).toEqual(['16:13 RULE_OUT_OF_RANGE RolloutPolicy "p" ackTimeout is 0.']);
    expect(errorsOf('kind: RolloutPolicy\nname: p\n---\nkind: RolloutPolicy\nname: q\n')).toEqual([
      '18:7 RULE_BAD_VALUE RolloutPolicy "q" is a second rollout policy: RolloutPolicy "p" (a.yaml:14:1) already governs the fleet.',
    ]);
  });
});

describe('wave membership', () => {
  const policy = rolloutPolicy({ canaryMetadata: { canary: 'true' }, canaryClusters: ['canary-*', 'staging'], waves: [10, 50, 100] });

  it('selects the canary by metadata (true or "true") or by cluster pattern', () => {
    expect(isCanary(node('a', { metadata: { canary: true } }), policy)).toBe(true);
    expect(isCanary(node('a', { metadata: { canary: 'true' } }), policy)).toBe(true);
    expect(isCanary(node('a', { metadata: { canary: false } }), policy)).toBe(false);
    expect(isCanary(node('a', { cluster: 'canary-eu-1' }), policy)).toBe(true);
    expect(isCanary(node('a', { cluster: 'staging' }), policy)).toBe(true);
    expect(isCanary(node('a', { cluster: 'staging-2' }), policy)).toBe(false);
    expect(isCanary(node('a', { cluster: 'x.canary-1' }), policy)).toBe(false);
    expect(waveOf(node('a', { metadata: { canary: true } }), policy)).toBe(0);
    // Several metadata pairs must all match.
    const two = rolloutPolicy({ canaryMetadata: { canary: 'true', ring: '0' } });
    expect(isCanary(node('a', { metadata: { canary: true, ring: 0 } }), two)).toBe(true);
    expect(isCanary(node('a', { metadata: { canary: true } }), two)).toBe(false);
  });

  it('splits the rest by a stable hash of the node id (published test vectors)', () => {
    // bucket = first 4 bytes of sha256("rollout:" + node id), big endian, modulo 10,000.
    expect(['envoy-0', 'envoy-1', 'proxy-02', 'proxy-15', ''].map(nodeBucket)).toEqual([4604, 8829, 974, 244, 3675]);
    expect(nodeBucket('proxy-02')).toBeLessThan(1000);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[waveOf(node(`envoy-${i}`), policy)]!++;
    expect(counts[0]).toBe(0);
    // 10 %, 40 %, 50 % of the fleet, within sampling noise.
    expect(counts[1]! / 10_000).toBeCloseTo(0.1, 1);
    expect(counts[2]! / 10_000).toBeCloseTo(0.4, 1);
    expect(counts[3]! / 10_000).toBeCloseTo(0.5, 1);
    // Same node, same wave, whatever else is connected.
    expect(waveOf(node('proxy-02'), policy)).toBe(1);
  });
});
