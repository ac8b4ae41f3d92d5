// The rules pipeline on real files, with the real watcher: a broken change set is rejected whole
// and the last good snapshot keeps serving; fixing it publishes; a burst of saves is one version.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { ReloadOutcome } from '../../src/app/pipeline.js';
import { nextReload, startTestSwitchyard } from '../helpers/app.js';
import { TypeUrl } from '../../src/proto/type-urls.js';

let dir: string;
let app: RunningSwitchyard | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-pipeline-'));
  await cp(path.resolve('rules'), dir, { recursive: true });
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<RunningSwitchyard> {
  app = await startTestSwitchyard(dir, { quietMs: 300, maxDelayMs: 5000 });
  return app;
}


/** Atomic save, the way editors do it: write a temp file, rename it over the target. */
async function save(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

describe('rules pipeline', () => {
  it('publishes the shipped rules on start', async () => {
    const a = await start();
    expect(a.initial.status).toBe('published');
    const snap = a.provider.snapshot!;
    expect(snap.type(TypeUrl.Listener)!.names).toEqual(['model-serving']);
    expect(snap.type(TypeUrl.RouteConfiguration)!.names).toEqual(['model-serving']);
    expect(a.pipeline.state().issues).toEqual([]);
  });

  it('rejects a broken change whole, keeps the last good snapshot, and publishes the fix', async () => {
    const a = await start();
    const good = a.provider.snapshot!.version;
    const file = path.join(dir, 'objectives.yaml');
    const original = await readFile(file, 'utf8');

    const rejected = nextReload(a);
    await save(file, original.replace('defaultModel: cw-ranker-v1', 'defaultModel: cw-ranker-v9'));
    const outcome = await rejected;
    expect(outcome.status).toBe('rejected');
    expect(a.provider.snapshot!.version).toBe(good);
    const issues = a.pipeline.state().issues;
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ stage: 'rules', file: 'objectives.yaml' });
    expect(issues[0]!.line).toBeGreaterThan(0);
    expect(issues.map((i) => i.message).join('\n')).toContain('cw-ranker-v9');

    const fixed = nextReload(a);
    await save(file, original.replace('timeoutMs: 150', 'timeoutMs: 175'));
    const after = await fixed;
    expect(after.status).toBe('published');
    expect(a.provider.snapshot!.version).not.toBe(good);
    expect(a.pipeline.state().issues).toEqual([]);
  });

  it('turns a burst of 20 saves into one published version', async () => {
    const a = await start();
    const file = path.join(dir, 'objectives.yaml');
    const original = await readFile(file, 'utf8');
    const reloads: ReloadOutcome[] = [];
    a.onReload((o) => reloads.push(o));
    const first = nextReload(a);
    for (let i = 1; i <= 20; i++) await save(file, original.replace('timeoutMs: 150', `timeoutMs: ${150 + i}`));
    const outcome = await first;
    expect(outcome.status).toBe('published');
    // A sentinel change afterwards is a separate version: the burst made exactly one before it.
    const sentinel = nextReload(a);
    await save(file, original.replace('timeoutMs: 150', 'timeoutMs: 999'));
    await sentinel;
    expect(reloads.filter((r) => r.status === 'published')).toHaveLength(2);
  });
});
