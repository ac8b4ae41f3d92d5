// Incremental reloads give exactly what cold ones give. The incremental loader (RuleDirCache) is
// compared with loadRuleDir after every step of edit / add / delete / rename / break / fix, hinted
// and not; the incremental pipeline (loader + CompileCache + ValidationMemo + EncodeCache) is
// compared with a non-incremental one byte for byte; the split encoding with encodeMessage.
//
// What is safe about hints (decided here, implemented in RulesPipeline.reload): a hint only ever
// makes a reload read less, never trust more. A hinted reload re-reads the hinted files and
// publishes; then the pipeline scans the whole directory (stat of every file, reading any whose
// stamp changed) before the reload resolves, and if the scan finds something the hint missed
// (stale or partial change set, an edit the watcher cannot see), it builds and offers again at
// once. So a wrong hint can at worst publish an intermediate version for the time of one scan,
// as a change set split by the watcher's debounce already can; it never leaves the fleet on a
// version that differs from the directory.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rename, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadRuleDir } from '../../src/rules/load.js';
import { findRuleFiles } from '../../src/rules/files.js';
import { RuleDirCache, scanRuleFiles, type ChangeHint } from '../../src/rules/load-cache.js';
import { RulesPipeline, type PublishTarget, type ReloadOutcome } from '../../src/app/pipeline.js';
import { responseFields, type Snapshot } from '../../src/snapshot/snapshot.js';
import { encodeAny, encodeDeltaResource, lenField } from '../../src/snapshot/wire.js';
import { EncodeCache } from '../../src/snapshot/encode-cache.js';
import { encodeMessage } from '../../src/proto/messages.js';
import { TypeUrl, typeNameOf } from '../../src/proto/type-urls.js';
import { compile } from '../../src/compile/compile.js';
import { CompileCache } from '../../src/compile/cache.js';
import { resolverTableToMessage } from '../../src/resolver/table-message.js';
import { validateSnapshotInput, ValidationMemo, withValidationMemo } from '../../src/validate/index.js';
import { silentLogger } from '../../src/log.js';
import { generateRuleSet, writeRuleFiles } from '../../bench/gen-rules.js';
import type { ObjectiveRule, RuleSet } from '../../src/rules/model.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'switchyard-incremental-'));
  dirs.push(d);
  return d;
}

async function put(root: string, rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), text);
}

const SHARDS = `kind: Shard
name: s1
endpoints: [{ address: 10.0.0.1, port: 8080, zone: a }]
---
kind: Shard
name: s2
endpoints: [{ address: 10.0.0.2, port: 8080, zone: b }]
`;

function objective(name: string, model: string, timeoutMs = 100): string {
  return `kind: Objective
name: ${name}
defaultModel: ${model}
timeoutMs: ${timeoutMs}
---
kind: Model
name: ${model}
shard: s1
version: "1"
`;
}

/** A small YAML rules directory: shards, three objectives in a subdirectory, an experiment. */
async function smallDir(): Promise<string> {
  const root = await tempDir();
  await put(root, 'shards.yaml', SHARDS);
  await put(root, 'objectives/a.yaml', objective('A', 'ma'));
  await put(root, 'objectives/b.yaml', objective('B', 'mb'));
  await put(root, 'objectives/c.yaml', objective('C', 'mc'));
  await put(
    root,
    'experiments.json',
    JSON.stringify({ kind: 'Experiment', abTestId: 7, targetObjectives: ['A'], cells: { control: { model: 'ma', percent: 50 }, treat: { model: 'mb', percent: 50 } } }, null, 2),
  );
  return root;
}

/** The cache's result for `hint` (and without one, from a second cache state) equals a cold load. */
async function expectSameAsCold(cache: RuleDirCache, hint?: ChangeHint, opts: { modules?: boolean } = {}): Promise<void> {
  const incremental = await cache.load(hint);
  const cold = await loadRuleDir(cache.root);
  expect(incremental.result).toEqual(cold);
  if (!cold.ok) expect(incremental.result.ok ? [] : incremental.result.errors).toEqual(cold.errors);
  // A full scan right after agrees too, and finds nothing new.
  const scan = await cache.load();
  expect(scan.result).toEqual(cold);
  // Modules run again on every load, so their output always counts as changed.
  expect(scan.changed).toBe(opts.modules === true);
}

describe('scanRuleFiles', () => {
  it('finds the same files and errors as findRuleFiles, in the same order', async () => {
    const root = await tempDir();
    await put(root, 'a.yaml', 'kind: Client\nname: a\n');
    await put(root, 'b/c.yml', 'x: 1\n');
    await put(root, 'b/d/e.json', '{}');
    await put(root, 'b/_helper.ts', 'export const x = 1;\n');
    await put(root, 'b/mod.mts', 'export default [];\n');
    await put(root, 'README.md', 'not rules\n');
    await put(root, 'package.json', '{}');
    await put(root, '.hidden.yaml', 'x: 1\n');
    await put(root, 'node_modules/p/index.js', 'x\n');
    await put(root, '..2024_01_01/real.yaml', 'kind: Client\nname: real\n');
    await symlink('..2024_01_01', path.join(root, '..data'));
    await symlink('..data/real.yaml', path.join(root, 'linked.yaml'));
    await symlink('missing.yaml', path.join(root, 'dangling.yaml'));
    await symlink('.', path.join(root, 'b', 'loop'));
    await symlink(path.join(root, 'b'), path.join(root, 'z-second-link-to-b'));
    const ours = await scanRuleFiles(root);
    const theirs = await findRuleFiles(root);
    expect(ours.files.map(({ path: p, abs, type }) => ({ path: p, abs, type }))).toEqual(theirs.files);
    expect(ours.errors).toEqual(theirs.errors);
    expect(theirs.files.map((f) => f.path)).toEqual(['a.yaml', 'b/_helper.ts', 'b/c.yml', 'b/d/e.json', 'b/mod.mts', 'linked.yaml']);
    expect(theirs.errors.map((e) => [e.code, e.file])).toEqual([['RULE_FILE_UNREADABLE', 'dangling.yaml']]);
  });

  it('reports a missing directory like findRuleFiles', async () => {
    const missing = path.join(await tempDir(), 'nope');
    expect(await scanRuleFiles(missing)).toMatchObject(await findRuleFiles(missing));
  });
});

describe('RuleDirCache: incremental loads equal cold loads', () => {
  it('edit, add, delete, rename, break and fix, with hints', async () => {
    const root = await smallDir();
    const cache = new RuleDirCache(root);
    await expectSameAsCold(cache);

    // edit
    await put(root, 'objectives/b.yaml', objective('B', 'mb', 250));
    await expectSameAsCold(cache, { changed: ['objectives/b.yaml'] });
    // add (a new file in a known directory, and at the root)
    await put(root, 'objectives/d.yaml', objective('D', 'md'));
    await put(root, 'clients.yaml', 'kind: Client\nname: web\n');
    await expectSameAsCold(cache, { added: ['objectives/d.yaml', 'clients.yaml'] });
    // delete
    await unlink(path.join(root, 'objectives/c.yaml'));
    await expectSameAsCold(cache, { removed: ['objectives/c.yaml'] });
    // rename (the watcher reports the old name removed, the new one added)
    await rename(path.join(root, 'objectives/d.yaml'), path.join(root, 'objectives/dd.yaml'));
    await expectSameAsCold(cache, { added: ['objectives/dd.yaml'], removed: ['objectives/d.yaml'] });
    // break: a YAML syntax error, a schema error and a dangling reference, all at once
    await put(root, 'objectives/a.yaml', 'kind: Objective\nname: A\ndefaultModel: [unclosed\n');
    await put(root, 'objectives/b.yaml', objective('B', 'mb').replace('timeoutMs: 100', 'timeoutMs: "slow"'));
    await put(root, 'objectives/dd.yaml', objective('D', 'md').replace('defaultModel: md', 'defaultModel: nowhere'));
    const broken = await cache.load({ changed: ['objectives/a.yaml', 'objectives/b.yaml', 'objectives/dd.yaml'] });
    expect(broken.result.ok).toBe(false);
    expect(broken.result).toEqual(await loadRuleDir(root));
    await expectSameAsCold(cache, { changed: ['objectives/a.yaml'] });
    // fix
    await put(root, 'objectives/a.yaml', objective('A', 'ma'));
    await put(root, 'objectives/b.yaml', objective('B', 'mb'));
    await put(root, 'objectives/dd.yaml', objective('D', 'md'));
    const fixed = await cache.load({ changed: ['objectives/a.yaml', 'objectives/b.yaml', 'objectives/dd.yaml'] });
    expect(fixed.mode).toBe('hinted');
    expect(fixed.result.ok).toBe(true);
    await expectSameAsCold(cache);
    // a duplicate name across files, then gone again
    await put(root, 'objectives/dup.yaml', objective('A', 'ma2'));
    await expectSameAsCold(cache, { added: ['objectives/dup.yaml'] });
    await unlink(path.join(root, 'objectives/dup.yaml'));
    await expectSameAsCold(cache, { removed: ['objectives/dup.yaml'] });
    // every file removed: RULE_EMPTY
    for (const f of ['shards.yaml', 'clients.yaml', 'experiments.json', 'objectives/a.yaml', 'objectives/b.yaml', 'objectives/dd.yaml']) await unlink(path.join(root, f));
    await expectSameAsCold(cache, { removed: ['shards.yaml', 'clients.yaml', 'experiments.json', 'objectives/a.yaml', 'objectives/b.yaml', 'objectives/dd.yaml'] });
  });

  it('the same steps without hints (full scans reusing parses)', async () => {
    const root = await smallDir();
    const cache = new RuleDirCache(root);
    await expectSameAsCold(cache);
    await put(root, 'objectives/b.yaml', objective('B', 'mb', 250));
    await expectSameAsCold(cache);
    await put(root, 'objectives/new/e.yaml', objective('E', 'me'));
    await expectSameAsCold(cache);
    await rename(path.join(root, 'objectives'), path.join(root, 'goals'));
    await expectSameAsCold(cache);
    await put(root, 'goals/a.yaml', '{ not: yaml');
    await expectSameAsCold(cache);
    await put(root, 'goals/a.yaml', objective('A', 'ma'));
    await expectSameAsCold(cache);
  });

  it('falls back to a full scan for what a hint cannot say exactly', async () => {
    const root = await smallDir();
    const cache = new RuleDirCache(root);
    await cache.load();
    // a file in a directory the last scan did not enter
    await put(root, 'more/x.yaml', objective('X', 'mx'));
    const a = await cache.load({ added: ['more/x.yaml'] });
    expect(a.mode).toBe('scan');
    expect(a.fallback).toMatch(/did not enter/);
    expect(a.result).toEqual(await loadRuleDir(root));
    // the ConfigMap link
    const b = await cache.load({ changed: ['..data'] });
    expect(b).toMatchObject({ mode: 'scan', fallback: '..data changed' });
    // a module or helper
    const c = await cache.load({ changed: ['_lib.ts'] });
    expect(c.mode).toBe('scan');
    // a directory where a file was reported
    await mkdir(path.join(root, 'objectives', 'z.yaml'));
    await put(root, 'objectives/z.yaml/in.yaml', objective('Z', 'mz'));
    const d = await cache.load({ added: ['objectives/z.yaml'] });
    expect(d.mode).toBe('scan');
    expect(d.result).toEqual(await loadRuleDir(root));
    // noise a watcher may report: hidden files, node_modules, other extensions
    const e = await cache.load({ changed: ['.a.yaml.swp', 'node_modules/x/y.json', 'notes.txt'] });
    expect(e).toMatchObject({ mode: 'hinted', read: 0, changed: false });
  });

  it('a ConfigMap volume flip (..data swapped) is picked up by the fallback scan', async () => {
    const root = await tempDir();
    await put(root, '..v1/shards.yaml', SHARDS);
    await put(root, '..v1/a.yaml', objective('A', 'ma'));
    await symlink('..v1', path.join(root, '..data'));
    await symlink('..data/shards.yaml', path.join(root, 'shards.yaml'));
    await symlink('..data/a.yaml', path.join(root, 'a.yaml'));
    const cache = new RuleDirCache(root);
    await expectSameAsCold(cache);
    await put(root, '..v2/shards.yaml', SHARDS);
    await put(root, '..v2/a.yaml', objective('A', 'ma', 999));
    await symlink('..v2', path.join(root, '..data_tmp'));
    await rename(path.join(root, '..data_tmp'), path.join(root, '..data'));
    await expectSameAsCold(cache, { changed: ['..data', 'a.yaml', 'shards.yaml'] });
    const r = await loadRuleDir(root);
    expect(r.ok && r.ruleSet.objectives.get('A')?.timeoutMs).toBe(999);
  });

  it('rule modules are evaluated on every load, like loadRuleDir does', async () => {
    const root = await smallDir();
    await put(root, '_lib.ts', 'export const timeout = 300;\n');
    await put(root, 'mod.ts', "import { timeout } from './_lib';\nexport default [{ kind: 'Objective', name: 'M', defaultModel: 'ma', timeoutMs: timeout }];\n");
    const cache = new RuleDirCache(root);
    await expectSameAsCold(cache, undefined, { modules: true });
    // Only the helper changes; the module's own bytes do not.
    await put(root, '_lib.ts', 'export const timeout = 400;\n');
    const r = await cache.load({ changed: ['_lib.ts'] });
    expect(r.mode).toBe('scan');
    expect(r.result.ok && r.result.ruleSet.objectives.get('M')?.timeoutMs).toBe(400);
    // Even a hint about a YAML file is a full scan while modules are around.
    await put(root, 'objectives/a.yaml', objective('A', 'ma', 111));
    const y = await cache.load({ changed: ['objectives/a.yaml'] });
    expect(y.mode).toBe('scan');
    expect(y.result).toEqual(await loadRuleDir(root));
  });

  it('reuses what did not change: stamps first, then digests', async () => {
    const root = await smallDir();
    // A clock ten minutes ahead: every stamp is taken long after the file's last change.
    const cache = new RuleDirCache(root, { racyMs: 1000, now: () => Date.now() + 600_000 });
    const first = await cache.load();
    expect(first).toMatchObject({ read: 5, parsed: 5, changed: true });
    const again = await cache.load();
    expect(again).toMatchObject({ read: 0, parsed: 0, changed: false });
    expect(again.result).toBe(first.result);
    // Same bytes written again: read (new stamp), not parsed (same digest), nothing changed.
    await writeFile(path.join(root, 'objectives/a.yaml'), await readFile(path.join(root, 'objectives/a.yaml')));
    expect(await cache.load()).toMatchObject({ read: 1, parsed: 0, changed: false });
    // A different content of the same size, with the old mtime put back: the ctime still moves.
    const b = path.join(root, 'objectives/b.yaml');
    const { mtime } = await stat(b);
    await writeFile(b, (await readFile(b, 'utf8')).replace('timeoutMs: 100', 'timeoutMs: 200'));
    await utimes(b, mtime, mtime);
    const edited = await cache.load();
    expect(edited).toMatchObject({ read: 1, parsed: 1, changed: true });
    expect(edited.result).toEqual(await loadRuleDir(root));
  });

  it('never trusts a stamp taken while the file was younger than the racy window', async () => {
    const root = await smallDir();
    const cache = new RuleDirCache(root, { racyMs: 60_000 });
    await cache.load();
    // Every file changed within the last minute: each scan reads them all again (but parses none).
    expect(await cache.load()).toMatchObject({ read: 5, parsed: 0, changed: false });
  });
});

// ---------------------------------------------------------------- the pipeline

interface Recorder {
  readonly target: PublishTarget;
  readonly offered: Snapshot[];
  readonly rejected: unknown[][];
}

/**
 * A target that records what it is offered. `gate`, when given, holds every offer until it
 * resolves; `onOffer` is told when an offer arrives.
 */
function recorder(gate?: Promise<void>, onOffer?: () => void): Recorder {
  const offered: Snapshot[] = [];
  const rejected: unknown[][] = [];
  let live: string | undefined;
  return {
    offered,
    rejected,
    target: {
      offer: async (snapshot) => {
        onOffer?.();
        await gate;
        offered.push(snapshot);
        const status = live === snapshot.version ? 'unchanged' : 'published';
        live = snapshot.version;
        return status;
      },
      reject: async (issues) => {
        rejected.push([...issues]);
      },
    },
  };
}

function expectSameSnapshot(a: Snapshot, b: Snapshot): void {
  expect(a.version).toBe(b.version);
  expect(a.typeVersions()).toEqual(b.typeVersions());
  for (const t of b.typeUrls()) {
    expect(a.type(t)!.names).toEqual(b.type(t)!.names);
    for (const name of b.type(t)!.names) {
      const x = a.resource(t, name)!;
      const y = b.resource(t, name)!;
      expect(Buffer.from(x.bytes).equals(Buffer.from(y.bytes))).toBe(true);
      expect(x.sotwField.equals(y.sotwField)).toBe(true);
      expect(x.deltaField.equals(y.deltaField)).toBe(true);
      expect(x.refs).toEqual(y.refs);
    }
  }
}

/** A cold, non-incremental pipeline's outcome for the directory as it is now. */
async function coldOutcome(root: string): Promise<ReloadOutcome> {
  const rec = recorder();
  const p = new RulesPipeline({ rulesDir: root, target: rec.target, logger: silentLogger(), incremental: false });
  return p.reload('cold');
}

async function expectSameOutcome(outcome: ReloadOutcome, root: string): Promise<void> {
  const cold = await coldOutcome(root);
  expect(outcome.status === 'rejected').toBe(cold.status === 'rejected');
  if (outcome.status === 'rejected' || cold.status === 'rejected') {
    expect(outcome.status === 'rejected' && outcome.issues).toEqual(cold.status === 'rejected' && cold.issues);
    return;
  }
  expectSameSnapshot(outcome.snapshot, cold.snapshot);
}

describe('RulesPipeline: incremental builds equal cold builds', () => {
  it('byte for byte, over edits of a generated rule set (edit, add, delete, break, fix)', async () => {
    const root = await tempDir();
    const files = writeRuleFiles(root, { objectives: 60, models: 300, shards: 12, seed: 5 });
    const rec = recorder();
    const pipeline = new RulesPipeline({ rulesDir: root, target: rec.target, logger: silentLogger() });
    await expectSameOutcome(await pipeline.reload('startup'), root);

    const objectiveFiles = files.filter((f) => f.startsWith('objectives/'));
    const edit = async (rel: string, fn: (text: string) => string): Promise<void> => {
      const abs = path.join(root, rel);
      await writeFile(abs, fn(await readFile(abs, 'utf8')));
    };
    for (const [i, rel] of objectiveFiles.slice(0, 4).entries()) {
      await edit(rel, (t) => t.replace(/timeoutMs: \d+/, `timeoutMs: ${500 + i}`));
      await expectSameOutcome(await pipeline.reload('edit', { changed: [rel] }), root);
    }
    // A model moves shard (routes of every objective reaching it change).
    await edit(objectiveFiles[5]!, (t) => t.replace(/shard: shard-(\d+)/, 'shard: shard-0000'));
    await expectSameOutcome(await pipeline.reload('move', { changed: [objectiveFiles[5]!] }), root);
    // A shard's endpoints change (cluster and endpoints resources).
    await edit('shards.yaml', (t) => t.replace('port: 8080', 'port: 9090'));
    await expectSameOutcome(await pipeline.reload('shards', { changed: ['shards.yaml'] }), root);
    // add and delete an objective file
    await put(root, 'objectives/zz.yaml', objective('ZZ', 'zz-model').replace('shard: s1', 'shard: shard-0001'));
    await expectSameOutcome(await pipeline.reload('add', { added: ['objectives/zz.yaml'] }), root);
    await unlink(path.join(root, objectiveFiles[7]!));
    await expectSameOutcome(await pipeline.reload('delete', { removed: [objectiveFiles[7]!] }), root);
    // break, then fix
    const broken = objectiveFiles[8]!;
    const original = await readFile(path.join(root, broken), 'utf8');
    await edit(broken, (t) => t.replace(/defaultModel: .*/, 'defaultModel: no-such-model'));
    const rejected = await pipeline.reload('break', { changed: [broken] });
    expect(rejected.status).toBe('rejected');
    await expectSameOutcome(rejected, root);
    await writeFile(path.join(root, broken), original);
    const fixed = await pipeline.reload('fix', { changed: [broken] });
    // Back to the content of the version before the break: the live one.
    expect(fixed.status).toBe('unchanged');
    await expectSameOutcome(fixed, root);
    expect(rec.offered.length).toBeGreaterThan(8);
  });

  it('a stale hint is corrected by the scan that follows it, before the reload resolves', async () => {
    const root = await smallDir();
    const rec = recorder();
    const pipeline = new RulesPipeline({ rulesDir: root, target: rec.target, logger: silentLogger() });
    await pipeline.reload('startup');
    // Two files change; the hint names only one of them.
    await put(root, 'objectives/a.yaml', objective('A', 'ma', 321));
    await put(root, 'objectives/b.yaml', objective('B', 'mb', 654));
    const before = rec.offered.length;
    const outcome = await pipeline.reload('stale', { changed: ['objectives/a.yaml'] });
    // The hinted build (a only) was offered, then the corrected one (a and b).
    expect(rec.offered.length).toBe(before + 2);
    await expectSameOutcome(outcome, root);
    expect(outcome.status === 'published' && outcome.snapshot.version).toBe(rec.offered.at(-1)!.version);
    expect(pipeline.state().resolverTable?.objectives.B?.timeoutMs).toBe(654);
  });

  it('a hint naming nothing that changed costs one scan and offers the same version', async () => {
    const root = await smallDir();
    const rec = recorder();
    const pipeline = new RulesPipeline({ rulesDir: root, target: rec.target, logger: silentLogger() });
    const first = await pipeline.reload('startup');
    const again = await pipeline.reload('noise', { changed: ['objectives/a.yaml'] });
    expect(again.status).toBe('unchanged');
    expect(again.status !== 'rejected' && first.status !== 'rejected' && again.snapshot.version).toBe(first.status !== 'rejected' && first.snapshot.version);
  });

  it('coalesces hints of queued reloads into one reload of their union', async () => {
    const root = await smallDir();
    let release!: () => void;
    let offerCalled!: () => void;
    const firstOffer = new Promise<void>((resolve) => (offerCalled = resolve));
    const rec = recorder(new Promise<void>((resolve) => (release = resolve)), () => offerCalled());
    const pipeline = new RulesPipeline({ rulesDir: root, target: rec.target, logger: silentLogger() });
    // The startup reload is held in offer(), its files read; both hinted reloads queue behind it, as one.
    const startup = pipeline.reload('startup');
    const one = pipeline.reload('one', { changed: ['objectives/a.yaml'] });
    const two = pipeline.reload('two', { changed: ['objectives/c.yaml'] });
    expect(one).toBe(two);
    await firstOffer;
    await put(root, 'objectives/a.yaml', objective('A', 'ma', 111));
    await put(root, 'objectives/c.yaml', objective('C', 'mc', 333));
    release();
    await startup;
    const outcome = await one;
    await expectSameOutcome(outcome, root);
    // Startup, then one build from the union of the hints (which the verifying scan confirmed).
    expect(rec.offered.length).toBe(2);
  });
});

// ---------------------------------------------------------------- the caches underneath

function replaceObjective(rs: RuleSet, name: string, change: Partial<ObjectiveRule>): RuleSet {
  const objectives = new Map(rs.objectives);
  objectives.set(name, { ...rs.objectives.get(name)!, ...change });
  return { ...rs, objectives };
}

describe('CompileCache, EncodeCache, ValidationMemo', () => {
  const base = generateRuleSet({ objectives: 80, models: 400, shards: 10, seed: 9 });

  it('compile with a cache gives what compile gives', () => {
    const cache = new CompileCache();
    let rs = base;
    expect(compile(rs, {}, cache)).toEqual(compile(rs));
    for (const name of [...base.objectives.keys()].slice(0, 3)) {
      rs = replaceObjective(rs, name, { timeoutMs: 777, retries: 3 });
      expect(compile(rs, {}, cache)).toEqual(compile(rs));
    }
    const shards = new Map(rs.shards);
    const [shardName, shard] = [...shards][0]!;
    shards.set(shardName, { ...shard, connectTimeoutMs: 2500 });
    rs = { ...rs, shards };
    expect(compile(rs, { listenerName: 'other' }, cache)).toEqual(compile(rs, { listenerName: 'other' }));
  });

  it('split encoding is byte-identical to encodeMessage, and fails the same way', () => {
    const cache = new EncodeCache();
    const compiled = compile(base, {}, new CompileCache());
    const rc = compiled.resources[TypeUrl.RouteConfiguration]![0]!;
    const table = resolverTableToMessage(compiled.resolverTable);
    const rcType = typeNameOf(TypeUrl.RouteConfiguration);
    const tableType = typeNameOf(TypeUrl.ResolverTable);
    for (let i = 0; i < 2; i++) {
      expect(Buffer.from(cache.encodeMessage(rcType, rc)).equals(Buffer.from(encodeMessage(rcType, rc)))).toBe(true);
      expect(Buffer.from(cache.encodeMessage(tableType, table)).equals(Buffer.from(encodeMessage(tableType, table)))).toBe(true);
    }
    expect(cache.stats.fragmentHits).toBeGreaterThan(0);
    // Fewer routes than the split threshold, an empty list, an empty name.
    const small = { name: '', virtual_hosts: [{ name: 'vh', domains: ['*', 'a'], routes: (rc as { virtual_hosts: Array<{ routes: object[] }> }).virtual_hosts[0]!.routes.slice(0, 3) }, { name: 'empty', routes: [] }] };
    expect(Buffer.from(cache.encodeMessage(rcType, small)).equals(Buffer.from(encodeMessage(rcType, small)))).toBe(true);
    // A bad route deep inside: the error of encodeMessage on the whole message.
    const routes = [...(rc as { virtual_hosts: Array<{ routes: object[] }> }).virtual_hosts[0]!.routes];
    routes[20] = { ...routes[20], no_such_field: 1 };
    const bad = { ...rc, virtual_hosts: [{ ...(rc as { virtual_hosts: object[] }).virtual_hosts[0], routes }] };
    expect(() => encodeMessage(rcType, bad)).toThrow(/no_such_field/);
    expect(() => cache.encodeMessage(rcType, bad)).toThrow(new RegExp(escape(captureError(() => encodeMessage(rcType, bad)))));
  });

  it('response fragments are the ones wire.ts builds', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['', new Uint8Array(0)],
      ['résumé-ü', Uint8Array.from([1, 2, 3])],
      ['big', new Uint8Array(20_000).fill(7)],
      ['huge', new Uint8Array(2_200_000).fill(9)],
    ];
    for (const [name, bytes] of cases) {
      const version = 'abcdef0123456789';
      const any = encodeAny(TypeUrl.RouteConfiguration, bytes);
      const f = responseFields(TypeUrl.RouteConfiguration, name, version, bytes);
      expect(f.sotwField.equals(lenField(2, any))).toBe(true);
      expect(f.deltaField.equals(lenField(2, encodeDeltaResource(name, version, any)))).toBe(true);
    }
  });

  it('a validation memo never hides a violation', () => {
    const memo = new ValidationMemo();
    const compiled = compile(base, {}, new CompileCache());
    expect(withValidationMemo(memo, () => validateSnapshotInput(compiled.resources))).toEqual([]);
    expect(withValidationMemo(memo, () => validateSnapshotInput(compiled.resources))).toEqual([]);
    // One route of the same RouteConfiguration now breaks a PGV rule and a proxyless limit.
    const rc = compiled.resources[TypeUrl.RouteConfiguration]![0] as { virtual_hosts: Array<{ routes: Array<Record<string, unknown>> }> };
    const routes = [...rc.virtual_hosts[0]!.routes];
    routes[3] = { ...routes[3], route: { ...(routes[3]!.route as object), timeout: { seconds: -1 } }, redirect: { path_redirect: '/x' } };
    const broken = { ...compiled.resources, [TypeUrl.RouteConfiguration]: [{ ...rc, virtual_hosts: [{ ...rc.virtual_hosts[0]!, routes }] }] };
    const plain = validateSnapshotInput(broken);
    expect(plain.length).toBeGreaterThan(0);
    expect(withValidationMemo(memo, () => validateSnapshotInput(broken))).toEqual(plain);
    expect(withValidationMemo(memo, () => validateSnapshotInput(broken))).toEqual(plain);
  });
});

function captureError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
