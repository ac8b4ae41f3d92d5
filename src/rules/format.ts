// The one text format of a rule error, golden-tested: `file:line:column CODE what. Hint: how.`
import type { RuleError } from './errors.js';

export interface FormatOptions {
  /** Prefix for file paths, usually the rules directory as the user typed it (e.g. "rules"). */
  readonly dir?: string;
}

export function formatRuleError(e: RuleError, opts: FormatOptions = {}): string {
  return `${formatPlace(e, opts.dir)} ${e.code} ${e.message} Hint: ${e.hint}`;
}

/** One error per line, in the given order (callers sort with sortRuleErrors). */
export function formatRuleErrors(errors: readonly RuleError[], opts: FormatOptions = {}): string {
  return errors.map((e) => formatRuleError(e, opts)).join('\n');
}

function formatPlace(e: RuleError, dir: string | undefined): string {
  const path = joinPath(dir, e.file);
  return e.line > 0 ? `${path}:${e.line}:${e.column}` : path;
}

function joinPath(dir: string | undefined, file: string): string {
  const d = (dir ?? '').replace(/\\/g, '/').replace(/\/+$/, '');
  if (d === '' || d === '.') return file;
  return file === '.' ? d : `${d}/${file}`;
}
