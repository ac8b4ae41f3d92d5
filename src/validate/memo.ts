// Opt-in reuse of validation results between validations of mostly the same objects (the rules
// pipeline validates every compiled snapshot, and most of its resources and routes are the same
// objects as in the previous build: see src/compile/cache.ts). A message object that was found
// clean, checked as the same type, is not walked again. Only clean results are kept: a resource
// with a violation is checked again every time, so the messages and their order never change.
//
// Objects are keyed by identity, so a memo may only be used while the objects it has seen are not
// mutated: the compiler's output never is. Outside withValidationMemo nothing is remembered.

/** Object -> what it was found clean as (a type's checks, a proxyless check) and from which depth. */
export type CleanMemo = WeakMap<object, { readonly as: unknown; readonly depth: number }>;

export class ValidationMemo {
  /** PGV and Envoy checks (pgv.ts). */
  readonly pgv: CleanMemo = new WeakMap();
  /** Proxyless limits (proxyless.ts). */
  readonly proxyless: CleanMemo = new WeakMap();
}

let active: ValidationMemo | undefined;

/** Runs `fn` (synchronous validation calls) remembering clean objects in `memo`. */
export function withValidationMemo<T>(memo: ValidationMemo, fn: () => T): T {
  const previous = active;
  active = memo;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

export function activeMemo(): ValidationMemo | undefined {
  return active;
}
