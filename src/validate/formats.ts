// The well-known string formats of protoc-gen-validate's StringRules, with PGV's semantics (Go
// templates of protoc-gen-validate): each check returns null when the value is fine, else why not.
import { isIP, isIPv4, isIPv6 } from 'node:net';

// PGV's KnownRegex patterns (validate.proto: strict defaults to true).
/** RFC 7230 token, with an optional leading ':' for HTTP/2 pseudo-headers. */
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
/** Any visible character, space or tab (no control characters other than HTAB, no DEL). */
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
/** Loose (strict: false): no NUL, LF or CR. */
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

export function headerNameProblem(s: string, strict: boolean): string | null {
  if (strict) return HEADER_NAME_STRICT.test(s) ? null : 'must be a valid HTTP header name (an RFC 7230 token, optionally with a leading ":")';
  return HEADER_LOOSE.test(s) ? null : 'must be a valid HTTP header name (no NUL, CR or LF)';
}

export function headerValueProblem(s: string, strict: boolean): string | null {
  if (strict) return HEADER_VALUE_STRICT.test(s) ? null : 'must be a valid HTTP header value (no control characters other than tab)';
  return HEADER_LOOSE.test(s) ? null : 'must be a valid HTTP header value (no NUL, CR or LF)';
}

/** RFC 1034 hostname, as PGV checks it (trailing dot allowed, labels 1..63 of [a-z0-9-], no edge hyphens). */
export function hostnameProblem(host: string): string | null {
  if (host.length > 253) return 'must be a hostname of at most 253 characters';
  const s = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  for (const part of s.split('.')) {
    if (part.length === 0 || part.length > 63) return 'must be a hostname whose labels are 1 to 63 characters long';
    if (part.startsWith('-') || part.endsWith('-')) return 'must be a hostname whose labels neither start nor end with a hyphen';
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45;
      if (!ok) return 'must be a hostname of letters, digits, hyphens and dots';
    }
  }
  return null;
}

export function ipProblem(s: string): string | null {
  return isIP(s) ? null : 'must be a valid IP address';
}

export function ipv4Problem(s: string): string | null {
  return isIPv4(s) ? null : 'must be a valid IPv4 address';
}

export function ipv6Problem(s: string): string | null {
  return isIPv6(s) ? null : 'must be a valid IPv6 address';
}

/** PGV `address`: an IP address or a hostname. */
export function addressProblem(s: string): string | null {
  if (isIP(s)) return null;
  return hostnameProblem(s) === null ? null : 'must be a valid IP address or hostname';
}

/**
 * A light email check (PGV parses RFC 5322 with Go's net/mail; this covers the plain
 * `local@host` form): a non-empty local part of at most 64 characters without spaces or angle
 * brackets, and a valid hostname; at most 254 characters in all.
 */
export function emailProblem(s: string): string | null {
  let addr = s;
  const lt = s.indexOf('<');
  if (lt !== -1 && s.endsWith('>')) addr = s.slice(lt + 1, -1);
  if (addr.length > 254) return 'must be an email address of at most 254 characters';
  const at = addr.lastIndexOf('@');
  if (at <= 0) return 'must be a valid email address (local@host)';
  const local = addr.slice(0, at);
  if (local.length > 64) return 'must be an email address whose local part is at most 64 characters';
  if (/[\s<>]/.test(local)) return 'must be a valid email address (no spaces or angle brackets in the local part)';
  return hostnameProblem(addr.slice(at + 1)) === null ? null : 'must be a valid email address (its domain is not a valid hostname)';
}

/** RFC 3986 scheme. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** PGV `uri`: an absolute URI (with a scheme). */
export function uriProblem(s: string): string | null {
  if (!SCHEME.test(s) || /\s/.test(s)) return 'must be an absolute URI';
  try {
    new URL(s);
    return null;
  } catch {
    return 'must be an absolute URI';
  }
}

/** PGV `uri_ref`: a URI reference (absolute or relative); light check: no whitespace or control characters. */
export function uriRefProblem(s: string): string | null {
  return /[\s\u0000-\u001F\u007F]/.test(s) ? 'must be a valid URI reference' : null;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function uuidProblem(s: string): string | null {
  return UUID.test(s) ? null : 'must be a valid UUID';
}
