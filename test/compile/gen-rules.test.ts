// The benchmark generator: deterministic, valid for the compiler, and its YAML directory holds the
// same rules as its in-memory RuleSet.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { generateRuleSet, ruleDocument, writeRuleFiles, type GenerateOptions } from '../../bench/gen-rules.js';
import { compile } from '../../src/compile/compile.js';
import { loadRuleDir } from '../../src/rules/index.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { rulesOf } from './fixtures.js';

const SMALL: GenerateOptions = { objectives: 40, models: 200, shards: 10, seed: 3 };

describe('bench/gen-rules', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'switchyard-gen-'));
    dirs.push(d);
    return d;
  };

  it('generates the requested sizes, deterministically per seed', () => {
    const a = generateRuleSet(SMALL);
    expect([a.objectives.size, a.models.size, a.shards.size]).toEqual([40, 200, 10]);
    const b = generateRuleSet(SMALL);
    expect(JSON.stringify(rulesOf(b))).toBe(JSON.stringify(rulesOf(a)));
    expect(JSON.stringify(rulesOf(generateRuleSet({ ...SMALL, seed: 4 })))).not.toBe(JSON.stringify(rulesOf(a)));
    expect(a.experiments.size + a.trafficShifts.size + a.migrations.size + a.shadows.size + a.overrides.size).toBeGreaterThan(0);
  });

  it('generates rule sets the compiler accepts and the snapshot check passes', () => {
    for (const opts of [SMALL, { objectives: 30, models: 10, shards: 3, seed: 9 }]) {
      expect(() => createSnapshot(compile(generateRuleSet(opts)).resources)).not.toThrow();
    }
  });

  it('writes one file per objective, a shards file and a clients file holding the same rules', () => {
    const dir = tempDir();
    const files = writeRuleFiles(dir, SMALL);
    expect(files).toContain('shards.yaml');
    expect(files).toContain('clients.yaml');
    expect(files.filter((f) => f.startsWith('objectives/'))).toHaveLength(40);
    const docs = files.flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Record<string, unknown>));
    const key = (d: Record<string, unknown>): string => `${String(d.kind)}/${String(d.name ?? d.abTestId)}`;
    const written = new Map(docs.map((d) => [key(d), d]));
    const expected = rulesOf(generateRuleSet(SMALL)).map(ruleDocument);
    expect(written.size).toBe(expected.length);
    for (const doc of expected) expect(written.get(key(doc))).toEqual(doc);
  });

  it('loads back through the rules loader to the same compiled snapshot', async () => {
    const dir = tempDir();
    writeRuleFiles(dir, SMALL);
    const loaded = await loadRuleDir(dir);
    if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.file}:${e.line} ${e.code} ${e.message}`).join('\n'));
    const fromFiles = compile(loaded.ruleSet);
    const inMemory = compile(generateRuleSet(SMALL));
    expect(createSnapshot(fromFiles.resources).version).toBe(createSnapshot(inMemory.resources).version);
    expect(fromFiles.resolverTable).toEqual(inMemory.resolverTable);
  });
});
