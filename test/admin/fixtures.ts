// Rule directories and helpers shared by the admin API and CLI tests.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { ServeConfig } from '../../src/app/config.js';
import type { ReloadOutcome } from '../../src/app/pipeline.js';
import { runCli } from '../../src/cli/program.js';
import { nextReload, startTestSwitchyard } from '../helpers/app.js';

export { rankingRules } from '../helpers/rule-texts.js';

/** The "live" side of the plan golden case: a traffic shift at 10 % and a plain objective. */
export const PLAN_LIVE_RULES = `kind: Shard
name: shard-a
endpoints:
  - { address: 10.0.0.1, port: 9001, zone: z1 }
---
kind: Shard
name: shard-b
endpoints:
  - { address: 10.0.0.2, port: 9002, zone: z1 }
---
kind: Model
name: ranker-v1
shard: shard-a
version: "1.0.0"
---
kind: Model
name: ranker-v2
shard: shard-b
version: "2.0.0"
---
kind: Model
name: search-v1
shard: shard-a
version: "1.0.0"
---
kind: Objective
name: Ranking
defaultModel: ranker-v1
timeoutMs: 200
retries: 1
---
kind: Objective
name: Search
defaultModel: search-v1
timeoutMs: 300
retries: 0
---
kind: Objective
name: Artwork
defaultModel: search-v1
timeoutMs: 100
retries: 0
---
kind: TrafficShift
name: ranker-v2-rollout
objective: Ranking
to: ranker-v2
steps:
  - { percent: 10, hold: 60 }
  - { percent: 50, hold: 60 }
`;

/**
 * The planned side: the shift starts at 25 %, a new shard and model, an A/B test on Search
 * (70/30), and Search's timeout goes up.
 */
export const PLAN_LOCAL_RULES = PLAN_LIVE_RULES.replace('percent: 10, hold: 60', 'percent: 25, hold: 60')
  .replace('timeoutMs: 300', 'timeoutMs: 450')
  .concat(`---
kind: Shard
name: shard-c
endpoints:
  - { address: 10.0.0.3, port: 9003, zone: z2 }
---
kind: Model
name: search-v2
shard: shard-c
version: "2.0.0"
---
kind: Experiment
abTestId: 4242
targetObjectives: [Search]
cells:
  control: { model: search-v1, percent: 70 }
  treatment: { model: search-v2, percent: 30 }
`);

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `switchyard-${prefix}-`));
}

export async function removeDirs(dirs: string[]): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Writes a rules file the way editors save: a temp file renamed over the target. */
export async function saveAtomically(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.swp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Saves the file and resolves with the reload it triggers. */
export async function saveAndReload(app: RunningSwitchyard, file: string, text: string): Promise<ReloadOutcome> {
  const reloaded = nextReload(app);
  await saveAtomically(file, text);
  return reloaded;
}

/** A Switchyard with its admin API on a free loopback port. */
export function startWithAdmin(rulesDir: string, overrides: Partial<ServeConfig> = {}): Promise<RunningSwitchyard> {
  return startTestSwitchyard(rulesDir, { quietMs: 30, maxDelayMs: 500, admin: { host: '127.0.0.1', port: 0 }, ...overrides });
}

export interface ApiResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function api<T = Record<string, unknown>>(app: RunningSwitchyard, method: string, urlPath: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const res = await fetch(`http://${app.admin!.address}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // metrics and other text bodies stay strings
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against the app's admin API. */
export async function cli(app: RunningSwitchyard | undefined, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const admin = app ? ['--admin', app.admin!.address] : [];
  const code = await runCli([...args, ...admin], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

/**
 * Golden-text normalization: each distinct 16-hex version becomes <v1>...., in order of first
 * appearance, and ISO times become a fixed stamp; both keep their width, so tables stay aligned.
 */
export function normalize(text: string, dirs: Record<string, string> = {}): string {
  const versions = new Map<string, string>();
  let out = text;
  for (const [dir, name] of Object.entries(dirs)) out = out.split(dir).join(name);
  out = out.replace(/\b[0-9a-f]{16}\b/g, (v) => {
    if (!versions.has(v)) versions.set(v, `<v${versions.size + 1}>`.padEnd(16, '.'));
    return versions.get(v)!;
  });
  return out.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, (t) => (t.includes('.') ? '0000-00-00T00:00:00.000Z' : '0000-00-00T00:00:00Z'));
}

/** A pino logger whose JSON lines land in `lines` (synchronously). */
export function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}
