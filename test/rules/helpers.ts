// Shared helpers for the rules tests: real files in temp dirs, and golden text files.
import { afterAll, expect } from 'vitest';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(HERE, 'fixtures');
export const GOLDEN = join(HERE, 'golden');
export const SHIPPED_RULES = join(HERE, '..', '..', 'rules');

const created: string[] = [];
afterAll(async () => {
  await Promise.all(created.map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temp dir, removed after the test file. */
export async function tempDir(prefix = 'switchyard-rules-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Writes `files` (relative path -> content) into a fresh temp dir, in the given order. */
export async function writeRules(files: Record<string, string> | [string, string][], dir?: string): Promise<string> {
  const root = dir ?? (await tempDir());
  for (const [rel, text] of Array.isArray(files) ? files : Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return root;
}

/**
 * Copies fixture directories into a fresh temp dir. Module fixtures are stored as `*.ts.fixture`
 * (so tsc and eslint leave the deliberately broken ones alone) and renamed on copy.
 */
export async function fixtureDir(...families: string[]): Promise<string> {
  const root = await tempDir();
  for (const f of families) await cp(join(FIXTURES, f), root, { recursive: true });
  for (const name of await readdir(root, { recursive: true })) {
    if (name.endsWith('.fixture')) await rename(join(root, name), join(root, name.slice(0, -'.fixture'.length)));
  }
  return root;
}

/** Compares `actual` with test/rules/golden/<name>.txt; UPDATE_GOLDEN=1 rewrites the file. */
export async function expectGolden(name: string, actual: string): Promise<void> {
  const path = join(GOLDEN, `${name}.txt`);
  const text = actual.endsWith('\n') ? actual : `${actual}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    await mkdir(GOLDEN, { recursive: true });
    await writeFile(path, text);
    return;
  }
  let expected: string;
  try {
    expected = await readFile(path, 'utf8');
  } catch {
    throw new Error(`golden file ${path} is missing; run with UPDATE_GOLDEN=1 to create it`);
  }
  expect(text).toBe(expected);
}
