// POST /v1/resolve, framework-free: the admin HTTP server parses the body (or hands over the raw
// text) and writes back { status, json }.
//
//   200 { routingKey, objectiveConfig }
//   400 / 404 / 503 / 500 { error: { code, message, hint } }   (code: a RESOLVE_* catalog code)
import type { ResolveContext } from './context.js';
import { ResolveError, type ResolveErrorCode } from './errors.js';
import type { ResolveResult, Resolver } from './types.js';

export const RESOLVE_HTTP_METHOD = 'POST';
export const RESOLVE_HTTP_PATH = '/v1/resolve';

/** HTTP status of each resolver error code. */
export const RESOLVE_HTTP_STATUS: Readonly<Record<ResolveErrorCode, number>> = {
  RESOLVE_BAD_CONTEXT: 400,
  RESOLVE_UNKNOWN_FIELD: 400,
  RESOLVE_MISSING_OBJECTIVE: 400,
  RESOLVE_MISSING_USER_ID: 400,
  RESOLVE_UNKNOWN_CELL: 400,
  RESOLVE_UNKNOWN_OBJECTIVE: 404,
  RESOLVE_NO_TABLE: 503,
  RESOLVE_BAD_TABLE: 500,
};

export interface HttpErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly hint: string; readonly field?: string };
}

export interface ResolveHttpResponse {
  readonly status: number;
  readonly json: ResolveResult | HttpErrorBody;
}

function errorResponse(err: ResolveError): ResolveHttpResponse {
  return {
    status: RESOLVE_HTTP_STATUS[err.code],
    json: { error: { code: err.code, message: err.message, hint: err.hint, ...(err.field !== undefined ? { field: err.field } : {}) } },
  };
}

function parseBody(body: unknown): unknown {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ResolveError('RESOLVE_BAD_CONTEXT', `the request body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return body;
}

/**
 * Handles POST /v1/resolve. `body` is the parsed JSON context, or its raw text (string or bytes).
 * Never throws: unexpected errors are a 500 with code INTERNAL.
 */
export function handleResolveHttp(body: unknown, getResolver: () => Resolver | undefined): ResolveHttpResponse {
  try {
    const resolver = getResolver();
    if (resolver === undefined) throw new ResolveError('RESOLVE_NO_TABLE', 'no resolver table has been published yet');
    return { status: 200, json: resolver.resolve(parseBody(body) as ResolveContext) };
  } catch (err) {
    if (err instanceof ResolveError) return errorResponse(err);
    return { status: 500, json: { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), hint: 'this is a bug in the resolver; report it with the request body' } } };
  }
}
