// Whole snapshots: hand-built test topologies, the shipped rules/ directory and the generated large
// rule set, compiled and validated like the pipeline would.
import { describe, expect, it } from 'vitest';
import { generateRuleSet } from '../../bench/gen-rules.js';
import { compile } from '../../src/compile/compile.js';
import { loadRuleDir } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/model.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { regexStats, validateSnapshot, validateSnapshotInput, type ResourceViolation } from '../../src/validate/index.js';
import { topologySnapshot, wideSnapshot } from '../helpers/snapshots.js';

/** Every resource passes, including LEAST_REQUEST shards (compiled with a load_balancing_policy
 * list that grpc-js-xds 1.14.1 accepts: it NACKs a bare lb_policy LEAST_REQUEST). */
function expectNoViolations(out: ResourceViolation[], ruleSet: RuleSet): void {
  expect([...ruleSet.shards.values()].some((s) => s.lbPolicy === 'LEAST_REQUEST')).toBe(true);
  expect(out).toEqual([]);
}


describe('valid snapshots', () => {
  it('test topologies (test/helpers/snapshots.ts) have no violations, Envoy or proxyless', () => {
    expect(validateSnapshot(topologySnapshot({ clusters: { a: [1001, 1002], b: [1003] }, routes: { 'o/a': 'a', 'o/b': 'b' } }))).toEqual([]);
    expect(
      validateSnapshot(topologySnapshot({ clusters: { a: [1001] }, routes: { 'o/a': 'a' }, routeExtras: { timeoutMs: 500, retry: { numRetries: 2, perTryTimeoutMs: 100 } } })),
    ).toEqual([]);
    expect(validateSnapshot(wideSnapshot(50))).toEqual([]);
  });

  it('every resource compiled from the shipped rules/ directory passes ', async () => {
    const loaded = await loadRuleDir('rules');
    if (!loaded.ok) throw new Error(`rules/ does not load: ${JSON.stringify(loaded.errors)}`);
    const { resources } = compile(loaded.ruleSet);
    const out = validateSnapshotInput(resources);
    expectNoViolations(out, loaded.ruleSet);
    // Same verdict on the encoded snapshot (the decodeMessage() shape).
    expect(validateSnapshot(createSnapshot(resources))).toEqual(out);
    expect(regexStats().skippedPatterns).toEqual([]);
  });

  it('the generated large rule set (1,000 objectives, 5,000 models, 200 shards) passes', () => {
    const ruleSet = generateRuleSet({ objectives: 1000, models: 5000, shards: 200, seed: 1 });
    const { resources } = compile(ruleSet);
    const out = validateSnapshotInput(resources);
    expectNoViolations(out, ruleSet);
  });
});
