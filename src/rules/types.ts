// Result and option types of the rules layer's public API.
import type { ResourceLimits } from 'node:worker_threads';
import type { RuleError } from './errors.js';
import type { RuleFile, RuleSet } from './model.js';

export type ValidationResult = { readonly ok: true; readonly ruleSet: RuleSet } | { readonly ok: false; readonly errors: readonly RuleError[] };

export type LoadResult =
  | { readonly ok: true; readonly ruleSet: RuleSet; readonly files: readonly RuleFile[] }
  | { readonly ok: false; readonly errors: readonly RuleError[]; readonly files: readonly RuleFile[] };

export interface ModuleOptions {
  /** Hard limit for building and evaluating one JS/TS rule module, in ms. Default 2000. */
  readonly moduleTimeoutMs?: number;
  /** Worker heap/stack limits for module evaluation. Default: 128 MB old space, 32 MB young, 4 MB stack. */
  readonly moduleResourceLimits?: ResourceLimits;
  /** How many modules evaluate at once. Default min(4, available CPUs). */
  readonly moduleConcurrency?: number;
}

export type LoadOptions = ModuleOptions;
