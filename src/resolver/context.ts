// The request context a resolver reads, and its validation. Validation runs on every resolve (the
// context often comes straight from JSON or another language), so it is one pass over the keys
// (no copy of the context); every problem is a ResolveError with a stable code.
import { ResolveError } from './errors.js';

/** What a client knows about a request. Optional fields may be absent, undefined or null. */
export interface ResolveContext {
  /** The business use case (an Objective rule name). Required. */
  readonly objective: string;
  /** Stable user id; required when the decision reaches an experiment or a traffic shift. */
  readonly userId?: string;
  readonly country?: string;
  readonly device?: string;
  readonly surface?: string;
  /** Calling service (a Client rule name): client overrides, test traffic. */
  readonly client?: string;
  /** Marks the request as test traffic (eligible for header overrides). */
  readonly testTraffic?: boolean;
  /** Assignments from an external experimentation platform: abTestId -> cell id. */
  readonly allocations?: Readonly<Record<string, string>>;
  /** Request headers (names compared case-insensitively) for header-matched overrides. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Every field a context may carry. */
export const CONTEXT_FIELDS: readonly string[] = ['objective', 'userId', 'country', 'device', 'surface', 'client', 'testTraffic', 'allocations', 'headers'];

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function wrongType(field: string, expected: string, v: unknown): ResolveError {
  return new ResolveError('RESOLVE_BAD_CONTEXT', `context.${field} must be ${expected}, got ${typeName(v)}`, field);
}

function checkStringMap(field: string, v: unknown): void {
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(field, 'an object of strings', v);
  for (const key in v) {
    const value: unknown = (v as Record<string, unknown>)[key];
    if (typeof value !== 'string') throw wrongType(`${field}.${key}`, 'a string', value);
  }
}

/**
 * Throws a ResolveError unless `ctx` is a well-formed ResolveContext: an object (not an array)
 * whose known fields have the right types and which has no other field. It does not check
 * `userId` presence (only some objectives need it) nor that names exist in the table.
 */
export function validateContext(ctx: unknown): asserts ctx is ResolveContext {
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) {
    throw new ResolveError('RESOLVE_BAD_CONTEXT', `the context must be an object, got ${typeName(ctx)}`);
  }
  let sawObjective = false;
  for (const key in ctx) {
    const v: unknown = (ctx as Record<string, unknown>)[key];
    switch (key) {
      case 'objective':
        if (typeof v !== 'string') {
          if (v === undefined || v === null) break;
          throw wrongType(key, 'a string', v);
        }
        sawObjective = v.length > 0;
        break;
      case 'userId':
      case 'country':
      case 'device':
      case 'surface':
      case 'client':
        if (typeof v !== 'string' && v !== undefined && v !== null) throw wrongType(key, 'a string', v);
        break;
      case 'testTraffic':
        if (typeof v !== 'boolean' && v !== undefined && v !== null) throw wrongType(key, 'a boolean', v);
        break;
      case 'allocations':
      case 'headers':
        if (v !== undefined && v !== null) checkStringMap(key, v);
        break;
      default:
        throw new ResolveError('RESOLVE_UNKNOWN_FIELD', `context has an unknown field "${key}" (known: ${CONTEXT_FIELDS.join(', ')})`, key);
    }
  }
  if (!sawObjective) throw new ResolveError('RESOLVE_MISSING_OBJECTIVE', 'context.objective is missing or empty', 'objective');
}
