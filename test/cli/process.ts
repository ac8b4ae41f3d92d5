// Real processes for the CLI tests: `switchyard serve` and the other commands run as the `switchyard`
// binary does, in their own Node process.
//
// They run the TypeScript sources through tsx (`node --import tsx src/cli/main.ts ...`), not a
// build in dist/: a build in beforeAll would write the dist/ tree other engineers and other test
// files share (and race with their builds), costs several seconds, and emits even when unrelated
// work in progress does not type-check. tsx runs exactly the code under test, with no artifact,
// at about half a second per spawn.
//
// The server's structured log (one JSON event per line on stdout) is the event source tests
// await: "ready", "snapshot_published", ... No polling, no sleeps.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(REPO_ROOT, 'src', 'cli', 'main.ts');
const NODE_ARGS = ['--import', 'tsx', MAIN];

/** A port that was free a moment ago: bind 127.0.0.1:0, read the port, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export type LogEvent = Record<string, unknown> & { event?: string };

interface Waiter {
  readonly from: number;
  readonly predicate: (e: LogEvent) => boolean;
  readonly resolve: (e: LogEvent) => void;
}

/** A `switchyard serve` process and its log events. */
export class ServerProcess {
  readonly events: LogEvent[] = [];
  stderr = '';
  private waiters: Waiter[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(private readonly child: ChildProcess) {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let e: LogEvent;
      try {
        e = JSON.parse(line) as LogEvent;
      } catch {
        e = { event: 'non_json', line };
      }
      this.events.push(e);
      const index = this.events.length - 1;
      this.waiters = this.waiters.filter((w) => {
        if (index < w.from || !w.predicate(e)) return true;
        w.resolve(e);
        return false;
      });
    });
    child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      }),
    );
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): ServerProcess {
    const child = spawn(process.execPath, [...NODE_ARGS, 'serve', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServerProcess(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Index of the next event: pass it to waitFor to ignore earlier events. */
  mark(): number {
    return this.events.length;
  }

  /** The first event from index `from` on that matches; fails on timeout or when the process exits. */
  waitFor(predicate: (e: LogEvent) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<LogEvent> {
    const from = opts.from ?? 0;
    const found = this.events.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    const timeoutMs = opts.timeoutMs ?? 20_000;
    return new Promise<LogEvent>((resolve, reject) => {
      const fail = (why: string): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const tail = this.events.slice(-8).map((e) => JSON.stringify(e)).join('\n');
        reject(new Error(`${why} waiting for ${opts.what ?? 'a log event'}\nlast events:\n${tail}\nstderr:\n${this.stderr}`));
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const waiter: Waiter = {
        from,
        predicate,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        fail(`the server exited (code ${code}, signal ${signal})`);
      });
    });
  }

  waitForEvent(event: string, opts: { from?: number; timeoutMs?: number; where?: (e: LogEvent) => boolean } = {}): Promise<LogEvent> {
    return this.waitFor((e) => e.event === event && (opts.where?.(e) ?? true), { ...opts, what: `event "${event}"` });
  }

  /** Sends a signal to this process (only ever the process this object started) and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitInfo) this.child.kill(signal);
    return this.exited;
  }

  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `switchyard <args>` to completion. */
export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
