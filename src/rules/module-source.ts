// JS/TS rule modules: bundle with esbuild, evaluate in a worker, turn each exported rule into a
// SourceDocument. Any failure is an error for this file only.
import { availableParallelism } from 'node:os';
import { ruleError, type RuleError, type RuleErrorCode } from './errors.js';
import { bundleModule } from './module-bundle.js';
import { exportLocation } from './module-locations.js';
import { DEFAULT_RESOURCE_LIMITS, runModuleCode, type WorkerOutcome } from './module-worker.js';
import type { SourceResult } from './source.js';
import type { ModuleOptions } from './types.js';

export const DEFAULT_MODULE_TIMEOUT_MS = 2000;

export function moduleConcurrency(opts: ModuleOptions): number {
  return opts.moduleConcurrency ?? Math.min(4, availableParallelism());
}

const FAILURE_CODES: Record<Exclude<WorkerOutcome, { ok: true }>['reason'], RuleErrorCode> = {
  threw: 'RULE_MODULE_THREW',
  timeout: 'RULE_MODULE_TIMEOUT',
  crashed: 'RULE_MODULE_CRASHED',
  'not-data': 'RULE_MODULE_NOT_DATA',
};

/**
 * @param abs absolute path of the module; `file` is its path relative to `root`; `text` its source
 */
export async function loadModuleFile(abs: string, file: string, text: string, root: string, opts: ModuleOptions = {}): Promise<SourceResult> {
  const timeoutMs = opts.moduleTimeoutMs ?? DEFAULT_MODULE_TIMEOUT_MS;
  const started = Date.now();
  const fileStart = { file, line: 1, column: 1 };

  // The time limit covers building too (a huge import graph must not stall a reload).
  const built = await withTimeout(bundleModule(abs, file, root), timeoutMs);
  if (built === undefined) return failed(ruleError('RULE_MODULE_TIMEOUT', fileStart, `rule module did not build within ${timeoutMs} ms`));
  if ('errors' in built) return { docs: [], errors: built.errors };

  const remaining = Math.max(1, timeoutMs - (Date.now() - started));
  const outcome = await runModuleCode(built.code, { timeoutMs: remaining, limitMs: timeoutMs, resourceLimits: opts.moduleResourceLimits ?? DEFAULT_RESOURCE_LIMITS });
  if (!outcome.ok) {
    const loc = exportLocation(file, text, outcome.exportName);
    const during = outcome.exportName && outcome.exportName !== 'default' ? ` in ${outcome.exportName}()` : '';
    return failed(ruleError(FAILURE_CODES[outcome.reason], loc, `rule module failed${during}: ${outcome.message}`));
  }
  if (outcome.exports.length === 0) return failed(ruleError('RULE_MODULE_EMPTY', fileStart, 'rule module exports no rules (no default export, no define...Rule function)'));
  const docs = outcome.exports.map((x) => ({ file, loc: exportLocation(file, text, x.exportName), value: x.value, fromModule: true }));
  return { docs, errors: [] };
}

function failed(e: RuleError): SourceResult {
  return { docs: [], errors: [e] };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
