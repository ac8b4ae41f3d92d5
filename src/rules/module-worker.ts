// Evaluates one bundled rule module in a worker thread with a hard time limit and heap limits, so
// a module that loops forever, exhausts memory or calls process.exit costs one error for its file
// and can never block or crash the control plane. Results leave the worker as plain data only.
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** One rule value a module produced, and which export produced it. */
export interface ModuleExport {
  /** "default" or the define*Rule function's name. */
  readonly exportName: string;
  readonly value: unknown;
}

export type WorkerOutcome =
  | { readonly ok: true; readonly exports: readonly ModuleExport[] }
  | {
      readonly ok: false;
      readonly reason: 'threw' | 'timeout' | 'crashed' | 'not-data';
      readonly message: string;
      /** The export being evaluated when it failed, when known. */
      readonly exportName?: string;
    };

export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

// Plain JS (not TypeScript) so it runs the same from src/ under vitest and from dist/: it is
// started from a data: URL and imports the bundled module from another data: URL.
const WORKER_SOURCE = String.raw`
import { parentPort, workerData } from 'node:worker_threads';
const DEFINE = /^define[A-Za-z0-9_$]*Rule$/;
class NotData extends Error {}
function toPlain(v, path, seen) {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || v === undefined) return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new NotData(path + ' is ' + String(v) + ', not a finite number');
    return v;
  }
  if (typeof v !== 'object') throw new NotData(path + ' is a ' + typeof v);
  if (seen.has(v)) throw new NotData(path + ' refers back to itself');
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
    throw new NotData(path + ' is a ' + ((v.constructor && v.constructor.name) || 'class instance') + ', not a plain object');
  }
  seen.add(v);
  let out;
  if (Array.isArray(v)) out = v.map((x, i) => toPlain(x, path + '[' + i + ']', seen));
  else {
    out = {};
    for (const k of Object.keys(v)) {
      const x = toPlain(v[k], path + '.' + k, seen);
      if (x !== undefined) out[k] = x;
    }
  }
  seen.delete(v);
  return out;
}
let current;
try {
  const mod = await import('data:text/javascript;base64,' + workerData.code);
  const exports = [];
  const take = async (exportName, label, value) => {
    current = exportName;
    let v = await value;
    if (typeof v === 'function' && exportName === 'default') v = await v();
    const items = Array.isArray(v) ? v : [v];
    items.forEach((item, i) => {
      const where = Array.isArray(v) ? label + '[' + i + ']' : label;
      exports.push({ exportName, value: toPlain(item, where, new Set()) });
    });
  };
  if ('default' in mod && mod.default !== undefined) await take('default', 'default export', mod.default);
  for (const name of Object.keys(mod).sort()) {
    if (DEFINE.test(name) && typeof mod[name] === 'function') {
      current = name;
      await take(name, name + '()', mod[name]());
    }
  }
  parentPort.postMessage({ ok: true, exports });
} catch (e) {
  const message = e instanceof Error ? (e instanceof NotData ? e.message : (e.name || 'Error') + ': ' + e.message) : 'threw ' + String(e);
  parentPort.postMessage({ ok: false, reason: e instanceof NotData ? 'not-data' : 'threw', message, exportName: current });
}
`;

const WORKER_URL = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);

export interface RunOptions {
  readonly timeoutMs: number;
  /** The limit to name in the timeout message when timeoutMs is what is left of a larger budget. */
  readonly limitMs?: number;
  readonly resourceLimits: ResourceLimits;
}

/** Runs bundled ESM `code` and collects its rule exports. Never rejects. */
export function runModuleCode(code: string, opts: RunOptions): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const worker = new Worker(WORKER_URL, {
      workerData: { code: Buffer.from(code).toString('base64') },
      resourceLimits: opts.resourceLimits,
      execArgv: [],
    });
    const finish = (outcome: WorkerOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Also stops timers or pending work the module left behind.
      void worker.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: 'timeout', message: `did not finish within ${opts.limitMs ?? opts.timeoutMs} ms` }),
      opts.timeoutMs,
    );
    worker.on('message', (m: WorkerOutcome) => finish(m));
    worker.on('error', (e: Error & { code?: string }) =>
      finish(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { ok: false, reason: 'crashed', message: 'ran out of memory' }
          : { ok: false, reason: 'threw', message: `${e.name}: ${e.message}` },
      ),
    );
    worker.on('exit', (exitCode) =>
      finish(
        // Node exits with 13 when top-level await never settles: a promise that never resolves.
        exitCode === 13
          ? { ok: false, reason: 'timeout', message: 'waited on a promise that never settles' }
          : { ok: false, reason: 'crashed', message: `ended its thread (exit code ${exitCode}) before returning rules` },
      ),
    );
  });
}
