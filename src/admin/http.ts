// HTTP plumbing of the admin API: JSON bodies in and out, errors as {code, message, hint} with
// the right status, bearer-token checks and the loopback test that decides whether a token is
// mandatory.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { SwitchyardError, type ErrorCode } from '../errors/catalog.js';
import type { ApiError } from './types.js';

/** Request bodies larger than this are refused (rollback and resume bodies are tiny). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A SwitchyardError with the HTTP status it is answered with. */
export class AdminHttpError extends SwitchyardError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    detail: string,
    hint?: string,
  ) {
    super(code, detail, hint);
    this.name = 'AdminHttpError';
  }
}

/** HTTP status of catalog codes raised below the admin layer (store lookups, mostly). */
const STATUS_OF: Partial<Record<string, number>> = {
  STORE_UNKNOWN_VERSION: 404,
  STORE_AMBIGUOUS_VERSION: 400,
  ADMIN_NOT_FOUND: 404,
  ADMIN_METHOD_NOT_ALLOWED: 405,
  ADMIN_BAD_REQUEST: 400,
  ADMIN_UNAUTHORIZED: 401,
  ADMIN_UNKNOWN_TYPE: 400,
  ADMIN_NO_SNAPSHOT: 503,
  ADMIN_NO_RESOLVER_TABLE: 404,
  ROLLOUT_NOT_ACTIVE: 409,
  ROLLOUT_SHIFT_STATE: 409,
  ROLLOUT_UNKNOWN_SHIFT: 404,
};

export function httpStatusOf(err: SwitchyardError): number {
  if (err instanceof AdminHttpError) return err.status;
  return STATUS_OF[err.code] ?? 500;
}

export function errorBody(err: SwitchyardError): ApiError {
  return { code: err.code, message: err.message, hint: err.hint };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The JSON body of a POST. Only `application/json` is accepted: a browser page cannot send that
 * cross-origin without a CORS preflight, which this server never grants, so a page an operator
 * visits cannot trigger a rollback on their loopback admin port.
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new AdminHttpError(415, 'ADMIN_BAD_REQUEST', `expected Content-Type: application/json, got ${type || 'none'}`, 'send a JSON body with Content-Type: application/json (an empty object {} when there are no fields)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminHttpError(413, 'ADMIN_BAD_REQUEST', `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', `request body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AdminHttpError(400, 'ADMIN_BAD_REQUEST', 'request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** 127.0.0.0/8, ::1, IPv4-mapped loopback and "localhost". Anything else (0.0.0.0, ::, a NIC) is exposed. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h);
  return false;
}

/** Compares a request's Authorization header to the token in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!.trim()).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
