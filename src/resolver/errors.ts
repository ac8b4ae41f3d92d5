// Errors of the resolver: a stable RESOLVE_* code from the error catalog, never a silent default.
import { SwitchyardError, type ErrorCode } from '../errors/catalog.js';

export type ResolveErrorCode = Extract<ErrorCode, `RESOLVE_${string}`>;

export class ResolveError extends SwitchyardError {
  declare readonly code: ResolveErrorCode;
  /** The context field at fault ("userId", "allocations.12345"), when there is one. */
  readonly field: string | undefined;

  constructor(code: ResolveErrorCode, detail: string, field?: string) {
    super(code, detail);
    this.name = 'ResolveError';
    this.field = field;
  }
}

export function isResolveError(err: unknown): err is ResolveError {
  return err instanceof ResolveError;
}
