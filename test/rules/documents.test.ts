// The in-memory entry points other layers use to build fixtures.
import { describe, it, expect } from 'vitest';
import { loadRuleTexts, ruleSetFromDocuments } from '../../src/rules/documents.js';
import { RuleSetError } from '../../src/rules/errors.js';
import { fieldLoc } from '../../src/rules/locate.js';
import { validateDocuments } from '../../src/rules/validate.js';

const YAML = `kind: Objective
name: Search
defaultModel: m1
---
kind: Model
name: m1
shard: s1
version: "1"
params: { depth: 3 }
---
kind: Shard
name: s1
endpoints: [{ address: 127.0.0.1, port: 50051 }]
`;

describe('ruleSetFromDocuments', () => {
  it('builds a RuleSet from YAML text with defaults applied', () => {
    const rs = ruleSetFromDocuments([{ file: 'a.yaml', text: YAML }]);
    const o = rs.objectives.get('Search')!;
    expect(o).toMatchObject({ kind: 'Objective', name: 'Search', defaultModel: 'm1', timeoutMs: 1000, retries: 1 });
    expect(o.loc).toEqual({ file: 'a.yaml', line: 1, column: 1 });
    expect(rs.models.get('m1')!.params).toEqual({ depth: 3 });
    expect(rs.files.map((f) => f.path)).toEqual(['a.yaml']);
    expect(rs.files[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts plain objects, JSON text and the published experiment shape', () => {
    const rs = ruleSetFromDocuments([
      { file: 'a.yaml', text: YAML },
      { file: 'b.json', text: '{"kind": "Client", "name": "web", "testTraffic": true}' },
      { file: 'c.ts', value: [{ abTestId: 1, targetObjectives: ['Search'], cellToModel: { x: 'm1', y: { model: 'm1' } } }] },
    ]);
    expect(rs.clients.get('web')!.testTraffic).toBe(true);
    const e = rs.experiments.get('1')!;
    expect(e.cells).toEqual([
      { id: 'x', model: 'm1', percent: 50 },
      { id: 'y', model: 'm1', percent: 50 },
    ]);
    expect(e.loc).toEqual({ file: 'c.ts', line: 1, column: 1 });
    expect(fieldLoc(e, 'cellToModel.x.model')).toEqual(e.loc);
  });

  it('throws RuleSetError listing every error in the standard format', () => {
    let caught: unknown;
    try {
      ruleSetFromDocuments([{ file: 'a.yaml', text: `${YAML}---\nkind: Shadow\nname: sh\nobjective: Serch\nmodel: m2\npercent: 5\n` }]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RuleSetError);
    const err = caught as RuleSetError;
    expect(err.errors.map((e) => e.code)).toEqual(['RULE_UNKNOWN_OBJECTIVE', 'RULE_UNKNOWN_MODEL']);
    expect(err.message).toBe(
      [
        'a.yaml:17:12 RULE_UNKNOWN_OBJECTIVE Shadow "sh" field "objective" names objective "Serch", which is not defined. Hint: define an Objective named "Serch" or use one of: Search.',
        'a.yaml:18:8 RULE_UNKNOWN_MODEL Shadow "sh" field "model" names model "m2", which is not defined. Hint: define a Model named "m2" or use one of: m1.',
      ].join('\n'),
    );
  });

  it('the published shape needs a module (YAML documents must name their kind)', () => {
    const r = loadRuleTexts([{ file: 'a.yaml', text: `${YAML}---\nabTestId: 1\ntargetObjectives: [Search]\ncellToModel: {x: m1}\n` }]);
    expect(r.ok ? [] : r.errors.map((e) => e.code)).toEqual(['RULE_MISSING_KIND']);
  });
});

describe('validateDocuments', () => {
  it('validates documents without locations (locations fall back to the document)', () => {
    const loc = { file: 'mem', line: 1, column: 1 };
    const r = validateDocuments([{ file: 'mem', loc, value: { kind: 'Client', name: 'c', bogus: 1 } }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      { code: 'RULE_UNKNOWN_FIELD', file: 'mem', line: 1, column: 1, message: 'Client "c" has unknown field "bogus".', hint: 'remove it; allowed fields here: description, kind, maxConcurrentRequests, name, rateLimitRps, testTraffic.' },
    ]);
  });
});
