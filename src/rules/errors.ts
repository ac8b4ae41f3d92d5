// Rule errors are plain data (not Error subclasses) so they can be sorted, compared in tests,
// serialized by the admin API and printed by the CLI the same way everywhere.
import { ERROR_CATALOG, type ErrorCode } from '../errors/catalog.js';
import type { SourceLocation } from './model.js';

/** Codes owned by the rules layer. */
export type RuleErrorCode = Extract<ErrorCode, `RULE_${string}`>;

export interface RuleError {
  readonly code: RuleErrorCode;
  /** Path relative to the rules directory, forward slashes; "." for the directory itself. */
  readonly file: string;
  /** 1-based; 0 when the error is about the directory, not a position. */
  readonly line: number;
  /** 1-based; 0 when line is 0. */
  readonly column: number;
  /** What is wrong, one sentence ending with a period. */
  readonly message: string;
  /** How to fix it, one sentence ending with a period. */
  readonly hint: string;
}

/** Builds a RuleError; the hint defaults to the catalog's. Sentences get their final period here. */
export function ruleError(code: RuleErrorCode, loc: SourceLocation, message: string, hint?: string): RuleError {
  return {
    code,
    file: loc.file,
    line: loc.line,
    column: loc.column,
    message: sentence(message),
    hint: sentence(hint ?? ERROR_CATALOG[code].hint),
  };
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.?!]$/.test(t) ? t : `${t}.`;
}

/** Code-unit comparison: locale-independent, so output is identical on every machine. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareLocations(a: SourceLocation, b: SourceLocation): number {
  return compareStrings(a.file, b.file) || a.line - b.line || a.column - b.column;
}

/** Sort by file, line, column, code (then message, so equal positions are stable too). */
export function sortRuleErrors(errors: readonly RuleError[]): RuleError[] {
  return [...errors].sort(
    (a, b) => compareLocations(a, b) || compareStrings(a.code, b.code) || compareStrings(a.message, b.message),
  );
}

/** Thrown by the in-memory helpers (ruleSetFromDocuments) when documents do not validate. */
export class RuleSetError extends Error {
  constructor(
    readonly errors: readonly RuleError[],
    formatted: string,
  ) {
    super(formatted);
    this.name = 'RuleSetError';
  }
}
