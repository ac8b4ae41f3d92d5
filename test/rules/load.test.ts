// loadRuleDir end to end, on real files in temp dirs.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRuleDir } from '../../src/rules/load.js';
import type { LoadResult } from '../../src/rules/types.js';
import { fixtureDir, SHIPPED_RULES, tempDir, writeRules } from './helpers.js';

const BASE = {
  'base.yaml': `kind: Objective
name: Search
defaultModel: search-v1
---
kind: Model
name: search-v1
shard: shard-a
version: "1"
---
kind: Shard
name: shard-a
endpoints:
  - address: 127.0.0.1
    port: 50051
`,
};

function codes(r: LoadResult): string[] {
  return r.ok ? [] : r.errors.map((e) => `${e.file} ${e.code}`);
}

function assertOk(r: LoadResult): asserts r is Extract<LoadResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected no errors, got:\n${r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`).join('\n')}`);
}

describe('the shipped rules/ directory', () => {
  it('loads with zero errors', async () => {
    const r = await loadRuleDir(SHIPPED_RULES);
    assertOk(r);
    const rs = r.ruleSet;
    expect([...rs.objectives.keys()]).toEqual(['ArtworkPersonalization', 'ContinueWatchingRanking', 'PaymentFraudDetection']);
    expect(rs.files.map((f) => f.path)).toEqual(['clients.yaml', 'experiments/ab12345.ts', 'models.yaml', 'objectives.yaml', 'rollouts.yaml', 'shards.json']);
    for (const kind of ['models', 'shards', 'experiments', 'trafficShifts', 'migrations', 'shadows', 'overrides', 'clients'] as const) {
      expect(rs[kind].size, kind).toBeGreaterThan(0);
    }
  });

  it('reads experiment 12345 from the TS module in the published shape', async () => {
    const r = await loadRuleDir(SHIPPED_RULES);
    assertOk(r);
    const e = r.ruleSet.experiments.get('12345')!;
    expect(e.targetObjectives).toEqual(['ContinueWatchingRanking']);
    expect(e.cells.map((c) => [c.id, c.model, c.percent])).toEqual([
      ['control', 'cw-ranker-v1', 50],
      ['treatment-a', 'cw-ranker-v2', 25],
      ['treatment-b', 'cw-ranker-v3', 25],
    ]);
    expect(e.salt).toBe('ab12345');
    // Located at the define function, not just the top of the file.
    const text = await readFile(join(SHIPPED_RULES, 'experiments/ab12345.ts'), 'utf8');
    const line = text.split('\n').findIndex((l) => l.includes('export function defineAB12345Rule')) + 1;
    expect(e.loc).toEqual({ file: 'experiments/ab12345.ts', line, column: 1 });
  });
});

describe('locations', () => {
  it('keeps file:line:column for rules and fields', async () => {
    const dir = await writeRules({
      ...BASE,
      'exp.yaml': `# comment
kind: Experiment
abTestId: 7
targetObjectives:
  - Search
cells:
  control:
    model: search-v1
    percent: 100
`,
    });
    const r = await loadRuleDir(dir);
    assertOk(r);
    const e = r.ruleSet.experiments.get('7')!;
    expect(e.loc).toEqual({ file: 'exp.yaml', line: 2, column: 1 });
    expect(e.fieldLocs['cells.control.model']).toEqual({ file: 'exp.yaml', line: 8, column: 12 });
    expect(e.fieldLocs['cells.control']).toEqual({ file: 'exp.yaml', line: 7, column: 3 });
    expect(e.fieldLocs['targetObjectives.0']).toEqual({ file: 'exp.yaml', line: 5, column: 5 });
    const s = r.ruleSet.shards.get('shard-a')!;
    expect(s.fieldLocs['endpoints.0.port']).toEqual({ file: 'base.yaml', line: 14, column: 11 });
    expect(s.fieldLocs['endpoints.0']).toEqual({ file: 'base.yaml', line: 13, column: 5 });
  });

  it('locates each element of a JSON array', async () => {
    const dir = await writeRules({
      ...BASE,
      'clients.json': '[\n  { "kind": "Client", "name": "a" },\n  {\n    "kind": "Client",\n    "name": "b",\n    "testTraffic": true\n  }\n]\n',
    });
    const r = await loadRuleDir(dir);
    assertOk(r);
    expect(r.ruleSet.clients.get('a')!.loc).toEqual({ file: 'clients.json', line: 2, column: 3 });
    expect(r.ruleSet.clients.get('b')!.loc).toEqual({ file: 'clients.json', line: 3, column: 3 });
    expect(r.ruleSet.clients.get('b')!.fieldLocs.testTraffic).toEqual({ file: 'clients.json', line: 6, column: 20 });
  });
});

describe('every problem in one pass', () => {
  it('reports errors from many files and kinds together, sorted', async () => {
    const dir = await writeRules({
      ...BASE,
      'a.yaml': 'kind: Objective\nname: A\ndefaultModel: nope\n---\nkind: Client\nname: c\nrateLimitRps: "10"\n',
      'b.yaml': 'kind: Shard\nname: s\nendpoints: [{address: host.local, port: 1}]\n---\nkind: Shadow\nname: sh\nobjective: Search\nmodel: search-v1\npercent: 101\n',
      'c.json': '{"kind": "Migration", "name": "m", "model": "search-v1", "from": "shard-a", "to": "shard-a", "percent": 1}',
      'd.yaml': 'kind: Experiment\nabTestId: 1\ntargetObjectives: [Search]\ncells: {x: {model: search-v1, percent: 30}, y: {model: search-v1, percent: 30}}\n',
      'e.yaml': 'kind: Unknown\n',
      'f.yaml': 'a: [\n',
    });
    const r = await loadRuleDir(dir);
    expect(codes(r)).toEqual([
      'a.yaml RULE_UNKNOWN_MODEL',
      'a.yaml RULE_WRONG_TYPE',
      'b.yaml RULE_BAD_ADDRESS',
      'b.yaml RULE_BAD_PERCENT',
      'c.json RULE_MIGRATION_SAME_SHARD',
      'd.yaml RULE_PERCENT_SUM',
      'e.yaml RULE_UNKNOWN_KIND',
      'f.yaml RULE_YAML_SYNTAX',
    ]);
    if (r.ok) return;
    const sorted = [...r.errors].sort((x, y) => (x.file < y.file ? -1 : x.file > y.file ? 1 : x.line - y.line || x.column - y.column));
    expect(r.errors).toEqual(sorted);
    for (const e of r.errors) {
      expect(e.line).toBeGreaterThan(0);
      expect(e.message).toMatch(/\.$/);
      expect(e.hint.length).toBeGreaterThan(0);
    }
  });
});

describe('JS/TS rule modules are isolated', () => {
  const good = {
    ...BASE,
    'more.yaml': 'kind: Model\nname: search-v2\nshard: shard-a\nversion: "2"\n',
    'good.ts': `export function defineAB42Rule() {
  return { abTestId: 42, targetObjectives: ['Search'], cellToModel: { a: 'search-v1', b: 'search-v2', c: 'search-v2' } };
}
export default [{ kind: 'Client', name: 'from-module', testTraffic: true }];
`,
  };

  it('a module that throws, loops forever, imports a missing package or never settles fails alone', async () => {
    const dir = await writeRules({
      ...good,
      'throws.ts': "export function defineXRule() { throw new Error('boom'); }\n",
      'loops.js': 'for (;;) {}\nexport default [];\n',
      'missing.ts': "import x from 'definitely-not-installed-switchyard-pkg';\nexport default [x];\n",
      'never.mjs': 'await new Promise(() => {});\nexport default [];\n',
      'exits.js': 'process.exit(2);\n',
    });
    const r = await loadRuleDir(dir, { moduleTimeoutMs: 1500 });
    expect(codes(r)).toEqual([
      'exits.js RULE_MODULE_CRASHED',
      'loops.js RULE_MODULE_TIMEOUT',
      'missing.ts RULE_MODULE_IMPORT',
      'never.mjs RULE_MODULE_TIMEOUT',
      'throws.ts RULE_MODULE_THREW',
    ]);
    if (r.ok) return;
    expect(r.errors.find((e) => e.file === 'loops.js')!.message).toBe('rule module failed: did not finish within 1500 ms.');
    // The good module's rules were loaded: nothing else is reported and the files are all listed.
    expect(r.files.map((f) => f.path)).toContain('good.ts');
  });

  it('loads default exports, define*Rule functions and splits percents evenly', async () => {
    const r = await loadRuleDir(await writeRules(good));
    assertOk(r);
    expect(r.ruleSet.clients.get('from-module')!.testTraffic).toBe(true);
    const e = r.ruleSet.experiments.get('42')!;
    expect(e.cells.map((c) => c.percent)).toEqual([34, 33, 33]);
    expect(e.loc).toEqual({ file: 'good.ts', line: 1, column: 1 });
    expect(r.ruleSet.clients.get('from-module')!.loc).toEqual({ file: 'good.ts', line: 4, column: 1 });
  });

  it('a module may import helpers ("_" files are not rule modules) and packages next to the rules', async () => {
    const r = await loadRuleDir(
      await writeRules({
        ...BASE,
        'node_modules/objectives-pkg/package.json': '{"name": "objectives-pkg", "main": "index.js"}',
        'node_modules/objectives-pkg/index.js': "exports.parse = (s) => s.slice(1, -1).split(',');\n",
        'lib/_cells.ts': "import { isIP } from 'node:net';\nexport const ok = isIP('127.0.0.1') === 4;\nexport const cells = { a: 'search-v1' };\n",
        'exp.ts': "import { cells, ok } from './lib/_cells.js';\nimport { parse } from 'objectives-pkg';\nexport default [{ kind: 'Experiment', abTestId: ok ? 'x1' : 'x0', targetObjectives: parse('[Search]'), cells }];\n",
      }),
    );
    assertOk(r);
    expect([...r.ruleSet.experiments.keys()]).toEqual(['x1']);
    expect(r.files.map((f) => f.path)).toEqual(['base.yaml', 'exp.ts', 'lib/_cells.ts']);
  });

  it('a module that exhausts its heap is an error, not a crash', async () => {
    const dir = await writeRules({ ...BASE, 'hog.js': 'const a = [];\nfor (;;) a.push(new Array(1e5).fill(1));\nexport default [];\n' });
    const r = await loadRuleDir(dir, { moduleResourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 }, moduleTimeoutMs: 10_000 });
    expect(codes(r)).toEqual(['hog.js RULE_MODULE_CRASHED']);
  });
});

describe('directory layout', () => {
  it('reads a Kubernetes ConfigMap volume (..data symlinks) once per file', async () => {
    const dir = await tempDir();
    const stamp = '..2024_06_01_12_00_00.123456789';
    await writeRules({ 'base.yaml': BASE['base.yaml'], 'clients.json': '{"kind":"Client","name":"web"}' }, join(dir, stamp));
    await symlink(stamp, join(dir, '..data'));
    await symlink('..data/base.yaml', join(dir, 'base.yaml'));
    await symlink('..data/clients.json', join(dir, 'clients.json'));
    const r = await loadRuleDir(dir);
    assertOk(r);
    expect(r.files.map((f) => f.path)).toEqual(['base.yaml', 'clients.json']);
    expect(r.ruleSet.clients.get('web')!.loc.file).toBe('clients.json');
  });

  it('ignores dotfiles, dot-directories, node_modules and non-rule files', async () => {
    const dir = await writeRules({
      ...BASE,
      '.hidden.yaml': 'kind: Nonsense\n',
      '.git/x.yaml': 'kind: Nonsense\n',
      'node_modules/pkg/index.js': 'throw new Error("never loaded")\n',
      'README.md': '# notes\n',
      'package.json': '{"name": "rules"}\n',
      'types.d.ts': 'export type X = 1;\n',
    });
    const r = await loadRuleDir(dir);
    assertOk(r);
    expect(r.files.map((f) => f.path)).toEqual(['base.yaml']);
  });

  it('gives the same RuleSet whatever order the files were created in', async () => {
    const files: [string, string][] = [
      ['z/models.yaml', 'kind: Model\nname: search-v2\nshard: shard-a\nversion: "2"\n'],
      ['a.yaml', BASE['base.yaml']],
      ['m.json', '[{"kind":"Client","name":"c2"},{"kind":"Client","name":"c1"}]'],
      ['k/exp.yaml', 'kind: Experiment\nabTestId: 9\ntargetObjectives: [Search]\ncells: {b: search-v2, a: search-v1}\n'],
    ];
    const one = await loadRuleDir(await writeRules(files));
    const two = await loadRuleDir(await writeRules([...files].reverse()));
    assertOk(one);
    assertOk(two);
    expect(two.ruleSet).toEqual(one.ruleSet);
    expect([...two.ruleSet.clients.keys()]).toEqual([...one.ruleSet.clients.keys()]);
    expect(two.files).toEqual(one.files);
  });

  it('digests each file with sha256 of its bytes', async () => {
    const dir = await writeRules(BASE);
    const r = await loadRuleDir(dir);
    assertOk(r);
    const bytes = await readFile(join(dir, 'base.yaml'));
    expect(r.files).toEqual([{ path: 'base.yaml', digest: createHash('sha256').update(bytes).digest('hex') }]);
    expect(r.ruleSet.files).toEqual(r.files);
  });

  it('an empty directory is an error (an empty rule set would delete every route)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'only-comments.yaml'), '# nothing yet\n');
    const r = await loadRuleDir(dir);
    expect(codes(r)).toEqual(['. RULE_EMPTY']);
  });

  it('a missing directory is an error', async () => {
    const dir = join(await tempDir(), 'nope');
    const r = await loadRuleDir(dir);
    expect(codes(r)).toEqual(['. RULE_DIR_UNREADABLE']);
  });

  it('a dangling symlink is an error for that file only', async () => {
    const dir = await writeRules(BASE);
    await symlink('missing-target.yaml', join(dir, 'dangling.yaml'));
    const r = await loadRuleDir(dir);
    expect(codes(r)).toEqual(['dangling.yaml RULE_FILE_UNREADABLE']);
  });

  it('follows a symlinked directory once, even in a loop', async () => {
    const dir = await writeRules(BASE);
    await mkdir(join(dir, 'sub'));
    await symlink('..', join(dir, 'sub', 'loop'));
    const r = await loadRuleDir(dir);
    assertOk(r);
    expect(r.files.map((f) => f.path)).toEqual(['base.yaml']);
  });
});

describe('fixture families load the base without errors', () => {
  it('base alone is valid', async () => {
    const r = await loadRuleDir(await fixtureDir('base'));
    assertOk(r);
  });
});
