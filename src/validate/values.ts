// Value helpers shared by the PGV validator and the proxyless checks. Messages reach the validator
// in two shapes: the plain objects the builders and the compiler produce (Any = PackedAny with a
// Uint8Array value, enums as names, durations as {seconds, nanos}) and decodeMessage() output
// (Any expanded with an "@type" key, 64-bit integers as strings, bytes as base64). Both are read
// directly; nothing is re-encoded.
import protobuf from 'protobufjs';
import { messageType } from '../proto/messages.js';
import type { CleanMemo } from './memo.js';

/** One protoc-gen-validate (or proxyless) rule a message breaks. */
export interface Violation {
  /** Field path inside the resource, e.g. "virtual_hosts[0].routes[2].route.timeout". */
  path: string;
  /** The rule, e.g. "string.min_len", "duration.gt", "message.required", "proxyless.redirect". */
  rule: string;
  /** What is wrong, e.g. "must be greater than 0s, got 0s". */
  message: string;
}

export type Obj = Record<string, unknown>;

/** A path segment: field name, repeated index or map key. */
export type Segment = string | number | { readonly key: string };

export function formatPath(path: readonly Segment[], last?: Segment): string {
  let out = '';
  const add = (seg: Segment): void => {
    if (typeof seg === 'string') out = out ? `${out}.${seg}` : seg;
    else if (typeof seg === 'number') out += `[${seg}]`;
    else out += `[${JSON.stringify(seg.key)}]`;
  };
  for (const seg of path) add(seg);
  if (last !== undefined) add(last);
  return out;
}

/** Collects violations while walking one message. */
export class Walk {
  readonly path: Segment[] = [];
  readonly out: Violation[] = [];
  depth = 0;
  /** Objects already found clean by this kind of walk (see memo.ts); undefined outside withValidationMemo. */
  memo: CleanMemo | undefined = undefined;

  /** Records a violation at the current path plus `seg` (the field being checked). */
  fail(seg: Segment | undefined, rule: string, message: string): void {
    this.out.push({ path: formatPath(this.path, seg), rule, message });
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value quoted for a message, truncated. */
export function quote(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (v instanceof Uint8Array) s = `<${v.length} bytes>`;
  else if (typeof v === 'bigint') s = v.toString();
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Number value of a scalar: number, numeric string (64-bit in decoded objects), Long or bigint. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? NaN : Number(v);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isObj(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    const low = v.low >>> 0;
    return v.unsigned ? (v.high >>> 0) * 4294967296 + low : v.high * 4294967296 + low;
  }
  return NaN;
}

// ---------------------------------------------------------------- Duration / Timestamp

/** A normalized duration or timestamp: seconds and nanos of the same sign, |nanos| < 1e9. */
export interface SecNanos {
  readonly s: number;
  readonly n: number;
}

export function normalize(seconds: number, nanos: number): SecNanos {
  let s = seconds;
  let n = nanos;
  if (Math.abs(n) >= 1e9) {
    const carry = Math.trunc(n / 1e9);
    s += carry;
    n -= carry * 1e9;
  }
  if (s > 0 && n < 0) {
    s -= 1;
    n += 1e9;
  } else if (s < 0 && n > 0) {
    s += 1;
    n -= 1e9;
  }
  return { s, n };
}

const JSON_DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Reads a Duration: {seconds, nanos} (numbers, strings or Long) or its JSON form "1.5s". */
export function toSecNanos(v: unknown): SecNanos {
  if (typeof v === 'string') {
    const m = JSON_DURATION.exec(v);
    if (m) {
      const sign = m[1] ? -1 : 1;
      return normalize(sign * Number(m[2]), sign * Number((m[3] ?? '').padEnd(9, '0')));
    }
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return normalize(Math.floor(t / 1000), (t % 1000 + 1000) % 1000 * 1e6);
    return { s: NaN, n: NaN };
  }
  if (!isObj(v)) return { s: NaN, n: NaN };
  const s = v.seconds === undefined || v.seconds === null ? 0 : toNumber(v.seconds);
  const n = v.nanos === undefined || v.nanos === null ? 0 : toNumber(v.nanos);
  return normalize(s, n);
}

/** <0, 0, >0 like a - b; NaN when either is not a number. */
export function compareSecNanos(a: SecNanos, b: SecNanos): number {
  return a.s - b.s || a.n - b.n;
}

/** "0s", "1.5s", "-0.000000001s". */
export function formatDuration(d: SecNanos): string {
  if (Number.isNaN(d.s) || Number.isNaN(d.n)) return 'an invalid duration';
  const negative = d.s < 0 || d.n < 0;
  const s = Math.abs(d.s);
  const n = Math.abs(d.n);
  const frac = n ? `.${String(n).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${negative ? '-' : ''}${s}${frac}s`;
}

export function formatTimestamp(t: SecNanos): string {
  const ms = t.s * 1000 + Math.trunc(t.n / 1e6);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? 'an invalid timestamp' : d.toISOString();
}

// ---------------------------------------------------------------- Any

/** Type name (no prefix) of an Any value in either shape, or undefined when it has none. */
export function anyTypeUrl(v: Obj): string | undefined {
  const url = v['@type'] ?? v.type_url;
  return typeof url === 'string' ? url : undefined;
}

export function typeNameOfUrl(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export function lookupMessageType(name: string): protobuf.Type | undefined {
  try {
    return messageType(name);
  } catch {
    return undefined;
  }
}

export type Unpacked =
  | { readonly ok: true; readonly typeName: string; readonly type: protobuf.Type; readonly message: Obj }
  | { readonly ok: false; readonly rule: 'any.type' | 'any.decode'; readonly message: string };

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false };

const decodedCache = new WeakMap<Uint8Array, Obj>();

function bytesOf(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (v === undefined || v === null) return new Uint8Array(0);
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  return undefined;
}

/**
 * The message inside an Any: {"@type", ...fields} as decodeMessage() expands it, or
 * {type_url, value} (PackedAny; value as bytes or base64) decoded with its type.
 */
export function unpackAny(v: Obj): Unpacked {
  const url = anyTypeUrl(v);
  if (url === undefined || url === '') return { ok: false, rule: 'any.type', message: 'has no type URL' };
  const typeName = typeNameOfUrl(url);
  const type = lookupMessageType(typeName);
  if (!type) return { ok: false, rule: 'any.type', message: `packs ${typeName}, a type Switchyard has not loaded, so its contents cannot be validated` };
  if ('@type' in v) {
    const { '@type': _t, ...rest } = v;
    return { ok: true, typeName, type, message: rest };
  }
  const bytes = bytesOf(v.value);
  if (!bytes) return { ok: false, rule: 'any.decode', message: `value of ${typeName} is not bytes` };
  let message = decodedCache.get(bytes);
  if (!message) {
    try {
      message = type.toObject(type.decode(bytes), TO_OBJECT) as Obj;
    } catch (err) {
      return { ok: false, rule: 'any.decode', message: `value does not decode as ${typeName}: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (v.value instanceof Uint8Array) decodedCache.set(v.value, message);
  }
  return { ok: true, typeName, type, message };
}

