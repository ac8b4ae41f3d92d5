// Validation before publishing: a resource a proxy would reject is reported at the rule's file:line.
import { describe, expect, it } from 'vitest';
import { loadRuleDir } from '../../src/rules/load.js';
import { compile } from '../../src/compile/compile.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { validationIssues } from '../../src/app/validation.js';
import type { CompileResult } from '../../src/compile/types.js';

async function compiledRules(): Promise<CompileResult> {
  const loaded = await loadRuleDir('rules');
  if (!loaded.ok) throw new Error('rules/ must load');
  return compile(loaded.ruleSet);
}

type Mutable = Record<string, unknown>;

describe('validation before publishing', () => {
  it('finds nothing in the shipped rules', async () => {
    expect(validationIssues(await compiledRules())).toEqual([]);
  });

  it('points a bad cluster at its Shard rule', async () => {
    const c = await compiledRules();
    const cluster = c.resources[TypeUrl.Cluster]![0] as Mutable;
    cluster.connect_timeout = { seconds: 0 };
    const issues = validationIssues(c);
    expect(issues).toHaveLength(1);
    const shard = c.origins.resources[TypeUrl.Cluster]![cluster.name as string]!;
    expect(issues[0]).toMatchObject({ stage: 'compile', code: 'VALIDATE_SCHEMA', file: shard.file, line: shard.line });
    expect(issues[0]!.message).toContain(`Cluster "${String(cluster.name)}": connect_timeout: must be greater than 0s`);
  });

  it('points a bad route at the objective it routes', async () => {
    const c = await compiledRules();
    const rc = c.resources[TypeUrl.RouteConfiguration]![0] as { virtual_hosts: Array<{ routes: Array<Mutable & { route: Mutable }> }> };
    const route = rc.virtual_hosts[0]!.routes.find((r) => String(r.name).startsWith('objective:PaymentFraudDetection'))!;
    route.route.timeout = { seconds: -1 };
    const issues = validationIssues(c);
    expect(issues.length).toBeGreaterThan(0);
    const objective = c.origins.routes[String(route.name)]!;
    expect(objective.file).toBe('objectives.yaml');
    expect(issues[0]).toMatchObject({ file: 'objectives.yaml', line: objective.line });
  });
});
