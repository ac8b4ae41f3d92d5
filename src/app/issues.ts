// A rejected change set's problems, from any stage (load/validate, compile, snapshot), in one
// shape operators can read and tools can match on.
import { AggregateSwitchyardError, SwitchyardError } from '../errors/catalog.js';
import type { RuleError } from '../rules/errors.js';

export interface PipelineIssue {
  readonly stage: 'rules' | 'compile' | 'snapshot';
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export function issuesFromRuleErrors(errors: readonly RuleError[]): PipelineIssue[] {
  return errors.map((e) => ({ stage: 'rules', code: e.code, message: e.message, hint: e.hint, file: e.file, line: e.line, column: e.column }));
}

export function issuesFromError(stage: 'compile' | 'snapshot', err: unknown): PipelineIssue[] {
  const list = err instanceof AggregateSwitchyardError ? err.errors : err instanceof SwitchyardError ? [err] : undefined;
  if (!list) throw err;
  return list.map((e) => ({ stage, code: e.code, message: e.message, hint: e.hint }));
}

export function formatIssue(i: PipelineIssue): string {
  const where = i.file ? `${i.file}:${i.line ?? 0}:${i.column ?? 0} ` : '';
  return `${where}${i.code} ${i.message} Hint: ${i.hint}`;
}
