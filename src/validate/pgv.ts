// A protoc-gen-validate (PGV) validator over protobufjs reflection. Envoy validates every resource
// it receives against the `(validate.rules)` annotations of its protos and NACKs on the first
// failure; this module applies the same rules before Switchyard sends anything.
//
// How: per message type, the `(validate.rules)` field options (protobufjs 7 keeps them in
// `field.parsedOptions` as nested objects; `field.options` holds the same rules as flat
// "(validate.rules).a.b" keys, the fallback) and `(validate.required)` oneof options are compiled
// once into closures ("runners"). Only types that have a rule somewhere below them are walked:
// a fixpoint over the type graph marks the active ones, so validating thousands of routes visits
// only the fields that can fail. Any fields are unpacked (either shape) and validated as their
// packed type.
import protobuf from 'protobufjs';
import { messageType } from '../proto/messages.js';
import {
  addressProblem,
  emailProblem,
  headerNameProblem,
  headerValueProblem,
  hostnameProblem,
  ipProblem,
  ipv4Problem,
  ipv6Problem,
  uriProblem,
  uriRefProblem,
  uuidProblem,
} from './formats.js';
import { ENVOY_CHECKS } from './envoy-checks.js';
import { activeMemo } from './memo.js';
import { pgvPattern } from './regex.js';
import {
  anyTypeUrl,
  compareSecNanos,
  formatDuration,
  formatTimestamp,
  isObj,
  quote,
  toNumber,
  toSecNanos,
  unpackAny,
  Walk,
  type Obj,
  type SecNanos,
  type Segment,
  type Violation,
} from './values.js';

export type { Violation } from './values.js';

type ScalarKind =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

const SCALARS = new Set<string>(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);

const NUMERIC_FAMILIES = new Set<string>(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

const WRAPPERS: Readonly<Record<string, ScalarKind>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/**
 * Envoy's own Duration check (utility.cc validateDuration, "Expected positive duration" /
 * "Duration out-of-range"): no negative part, nanos <= 999,999,999, seconds within protobuf's
 * Duration range (TimeUtil::kDurationMaxSeconds).
 */
const ENVOY_MAX_DURATION_SECONDS = 315_576_000_000;

/** Walks deeper than this are reported, not followed (protects against cyclic objects). */
const MAX_DEPTH = 64;

type ValueCheck = (v: unknown, w: Walk, seg: Segment) => void;
type Runner = (obj: Obj, w: Walk) => void;

type Kind = 'message' | 'wrapper' | 'duration' | 'timestamp' | 'any' | 'opaque';

interface TypeChecks {
  readonly type: protobuf.Type;
  /** Full name without the leading dot. */
  readonly name: string;
  readonly kind: Kind;
  readonly wrapped: ScalarKind | undefined;
  readonly disabled: boolean;
  /** Has a rule of its own (field rules, oneof checks, Any or Duration fields). */
  own: boolean;
  /** Message-kind types of its fields. */
  readonly subs: TypeChecks[];
  /** Something can fail in it or below it: it is worth walking. */
  active: boolean;
  runners: Runner[] | undefined;
}

// ---------------------------------------------------------------- reading options

function deepMerge(into: Obj, from: Obj): Obj {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (isObj(cur) && isObj(v)) deepMerge(cur, v);
    else into[k] = isObj(v) ? deepMerge({}, v) : v;
  }
  return into;
}

function optionEntries(obj: { parsedOptions?: unknown; options?: Record<string, unknown> | undefined }, name: string): unknown[] {
  const out: unknown[] = [];
  const parsed = obj.parsedOptions;
  if (Array.isArray(parsed)) {
    for (const e of parsed) if (isObj(e) && name in e) out.push(e[name]);
  }
  return out;
}

/** The merged `(validate.rules)` of a field, or undefined. */
function rulesOf(field: protobuf.Field): Obj | undefined {
  let rules: Obj | undefined;
  for (const e of optionEntries(field as never, '(validate.rules)')) if (isObj(e)) rules = deepMerge(rules ?? {}, e);
  if (!rules && field.options) {
    const prefix = '(validate.rules).';
    for (const [k, v] of Object.entries(field.options)) {
      if (!k.startsWith(prefix)) continue;
      rules ??= {};
      let node = rules;
      const parts = k.slice(prefix.length).split('.');
      for (let i = 0; i < parts.length - 1; i++) {
        const p = parts[i]!;
        if (!isObj(node[p])) node[p] = {};
        node = node[p] as Obj;
      }
      node[parts[parts.length - 1]!] = v;
    }
  }
  return rules && Object.keys(rules).length > 0 ? rules : undefined;
}

function boolOption(obj: protobuf.ReflectionObject, name: string): boolean {
  if (optionEntries(obj as never, name).some((v) => v === true)) return true;
  return obj.options?.[name] === true;
}

// ---------------------------------------------------------------- messages and values

function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`;
}

function runeLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

function utf8Length(s: string): number {
  // ASCII fast path.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function toStr(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  return new Uint8Array(0);
}

function optBytes(v: unknown): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(toBytes(v));
}

/** A repeated rule value: protobufjs gives a scalar for a single `not_in: 6`, an array for `[...]`. */
function asList(v: unknown): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  const arr = Array.isArray(v) ? v : [v];
  return arr.length > 0 ? arr : undefined;
}

function list(values: unknown[]): string {
  return `[${values.map((v) => quote(v)).join(', ')}]`;
}

// ---------------------------------------------------------------- ranges (numbers, durations, timestamps)

interface Order<T> {
  parse(raw: unknown): T;
  cmp(a: T, b: T): number;
  show(a: T): string;
}

const NUMBER_ORDER: Order<number> = { parse: toNumber, cmp: (a, b) => a - b, show: (a) => String(a) };
const DURATION_ORDER: Order<SecNanos> = { parse: toSecNanos, cmp: compareSecNanos, show: formatDuration };
const TIMESTAMP_ORDER: Order<SecNanos> = { parse: toSecNanos, cmp: compareSecNanos, show: formatTimestamp };

type Cond<T> = (x: T, w: Walk, seg: Segment) => void;

/** PGV const/lt/lte/gt/gte/in/not_in over an ordered type, including exclusive ("outside") ranges. */
function orderedConds<T>(r: Obj, order: Order<T>, rule: (k: string) => string): Cond<T>[] {
  const conds: Cond<T>[] = [];
  const { cmp, show } = order;
  if (r.const !== undefined) {
    const c = order.parse(r.const);
    conds.push((x, w, seg) => {
      if (cmp(x, c) !== 0) w.fail(seg, rule('const'), `must equal ${show(c)}, got ${show(x)}`);
    });
  }
  const lo = r.gt !== undefined ? { key: 'gt', v: order.parse(r.gt), incl: false } : r.gte !== undefined ? { key: 'gte', v: order.parse(r.gte), incl: true } : undefined;
  const hi = r.lt !== undefined ? { key: 'lt', v: order.parse(r.lt), incl: false } : r.lte !== undefined ? { key: 'lte', v: order.parse(r.lte), incl: true } : undefined;
  const loText = lo && `${lo.incl ? 'greater than or equal to' : 'greater than'} ${show(lo.v)}`;
  const hiText = hi && `${hi.incl ? 'less than or equal to' : 'less than'} ${show(hi.v)}`;
  // NaN comparisons are false: an unreadable value fails every bound.
  const okLo = lo && ((x: T): boolean => (lo.incl ? cmp(x, lo.v) >= 0 : cmp(x, lo.v) > 0));
  const okHi = hi && ((x: T): boolean => (hi.incl ? cmp(x, hi.v) <= 0 : cmp(x, hi.v) < 0));
  if (lo && hi && okLo && okHi) {
    if (cmp(hi.v, lo.v) > 0) {
      const range = `${lo.incl ? '[' : '('}${show(lo.v)}, ${show(hi.v)}${hi.incl ? ']' : ')'}`;
      conds.push((x, w, seg) => {
        if (!okLo(x)) w.fail(seg, rule(lo.key), `must be in the range ${range}, got ${show(x)}`);
        else if (!okHi(x)) w.fail(seg, rule(hi.key), `must be in the range ${range}, got ${show(x)}`);
      });
    } else {
      conds.push((x, w, seg) => {
        if (!okLo(x) && !okHi(x)) w.fail(seg, rule(lo.key), `must be ${loText} or ${hiText}, got ${show(x)}`);
      });
    }
  } else if (lo && okLo) {
    conds.push((x, w, seg) => {
      if (!okLo(x)) w.fail(seg, rule(lo.key), `must be ${loText}, got ${show(x)}`);
    });
  } else if (hi && okHi) {
    conds.push((x, w, seg) => {
      if (!okHi(x)) w.fail(seg, rule(hi.key), `must be ${hiText}, got ${show(x)}`);
    });
  }
  const inList = asList(r.in);
  if (inList) {
    const allowed = inList.map((v) => order.parse(v));
    conds.push((x, w, seg) => {
      if (!allowed.some((a) => cmp(a, x) === 0)) w.fail(seg, rule('in'), `must be one of [${allowed.map(show).join(', ')}], got ${show(x)}`);
    });
  }
  const notInList = asList(r.not_in);
  if (notInList) {
    const banned = notInList.map((v) => order.parse(v));
    conds.push((x, w, seg) => {
      if (banned.some((a) => cmp(a, x) === 0)) w.fail(seg, rule('not_in'), `must not be one of [${banned.map(show).join(', ')}], got ${show(x)}`);
    });
  }
  return conds;
}

function combine<T>(conds: Cond<T>[], read: (v: unknown) => T): ValueCheck | undefined {
  if (conds.length === 0) return undefined;
  if (conds.length === 1) {
    const c = conds[0]!;
    return (v, w, seg) => c(read(v), w, seg);
  }
  return (v, w, seg) => {
    const x = read(v);
    for (const c of conds) c(x, w, seg);
  };
}

// ---------------------------------------------------------------- scalar families

function stringCheck(r: Obj, rule: (k: string) => string): ValueCheck | undefined {
  const conds: Cond<string>[] = [];
  if (r.const !== undefined) {
    const c = toStr(r.const);
    conds.push((s, w, seg) => {
      if (s !== c) w.fail(seg, rule('const'), `must equal ${quote(c)}, got ${quote(s)}`);
    });
  }
  if (r.len !== undefined) {
    const n = toNumber(r.len);
    conds.push((s, w, seg) => {
      const len = runeLength(s);
      if (len !== n) w.fail(seg, rule('len'), `must be exactly ${plural(n, 'character')} long, got ${len}`);
    });
  }
  if (r.min_len !== undefined) {
    const n = toNumber(r.min_len);
    conds.push((s, w, seg) => {
      if (s.length >= n * 2) return; // cannot be shorter in runes
      const len = runeLength(s);
      if (len < n) w.fail(seg, rule('min_len'), n === 1 ? 'must not be empty' : `must be at least ${plural(n, 'character')} long, got ${len}`);
    });
  }
  if (r.max_len !== undefined) {
    const n = toNumber(r.max_len);
    conds.push((s, w, seg) => {
      if (s.length <= n) return;
      const len = runeLength(s);
      if (len > n) w.fail(seg, rule('max_len'), `must be at most ${plural(n, 'character')} long, got ${len}`);
    });
  }
  if (r.len_bytes !== undefined) {
    const n = toNumber(r.len_bytes);
    conds.push((s, w, seg) => {
      const len = utf8Length(s);
      if (len !== n) w.fail(seg, rule('len_bytes'), `must be exactly ${plural(n, 'byte')} long, got ${len}`);
    });
  }
  if (r.min_bytes !== undefined) {
    const n = toNumber(r.min_bytes);
    conds.push((s, w, seg) => {
      if (s.length >= n) return;
      const len = utf8Length(s);
      if (len < n) w.fail(seg, rule('min_bytes'), `must be at least ${plural(n, 'byte')} long, got ${len}`);
    });
  }
  if (r.max_bytes !== undefined) {
    const n = toNumber(r.max_bytes);
    conds.push((s, w, seg) => {
      if (s.length * 3 <= n) return; // a UTF-16 unit is at most 3 UTF-8 bytes
      const len = utf8Length(s);
      if (len > n) w.fail(seg, rule('max_bytes'), `must be at most ${plural(n, 'byte')} long, got ${len}`);
    });
  }
  if (typeof r.pattern === 'string') {
    const pattern = r.pattern;
    const re = pgvPattern(pattern);
    if (re) {
      conds.push((s, w, seg) => {
        if (!re.test(s)) w.fail(seg, rule('pattern'), `must match the regular expression ${quote(pattern)}, got ${quote(s)}`);
      });
    }
  }
  if (r.prefix !== undefined) {
    const p = toStr(r.prefix);
    conds.push((s, w, seg) => {
      if (!s.startsWith(p)) w.fail(seg, rule('prefix'), `must start with ${quote(p)}, got ${quote(s)}`);
    });
  }
  if (r.suffix !== undefined) {
    const p = toStr(r.suffix);
    conds.push((s, w, seg) => {
      if (!s.endsWith(p)) w.fail(seg, rule('suffix'), `must end with ${quote(p)}, got ${quote(s)}`);
    });
  }
  if (r.contains !== undefined) {
    const p = toStr(r.contains);
    conds.push((s, w, seg) => {
      if (!s.includes(p)) w.fail(seg, rule('contains'), `must contain ${quote(p)}, got ${quote(s)}`);
    });
  }
  if (r.not_contains !== undefined) {
    const p = toStr(r.not_contains);
    conds.push((s, w, seg) => {
      if (s.includes(p)) w.fail(seg, rule('not_contains'), `must not contain ${quote(p)}, got ${quote(s)}`);
    });
  }
  const inList = asList(r.in);
  if (inList) {
    const values = inList.map(toStr);
    const set = new Set(values);
    conds.push((s, w, seg) => {
      if (!set.has(s)) w.fail(seg, rule('in'), `must be one of ${list(values)}, got ${quote(s)}`);
    });
  }
  const notInList = asList(r.not_in);
  if (notInList) {
    const values = notInList.map(toStr);
    const set = new Set(values);
    conds.push((s, w, seg) => {
      if (set.has(s)) w.fail(seg, rule('not_in'), `must not be one of ${list(values)}, got ${quote(s)}`);
    });
  }
  const strict = r.strict !== false;
  const formats: [string, (s: string) => string | null][] = [
    ['email', emailProblem],
    ['hostname', hostnameProblem],
    ['ip', ipProblem],
    ['ipv4', ipv4Problem],
    ['ipv6', ipv6Problem],
    ['uri', uriProblem],
    ['uri_ref', uriRefProblem],
    ['address', addressProblem],
    ['uuid', uuidProblem],
  ];
  for (const [key, problem] of formats) {
    if (r[key] !== true) continue;
    conds.push((s, w, seg) => {
      const p = problem(s);
      if (p) w.fail(seg, rule(key), `${p}, got ${quote(s)}`);
    });
  }
  const known = r.well_known_regex;
  if (known === 'HTTP_HEADER_NAME' || known === 1) {
    conds.push((s, w, seg) => {
      const p = headerNameProblem(s, strict);
      if (p) w.fail(seg, rule('well_known_regex'), `${p}, got ${quote(s)}`);
    });
  } else if (known === 'HTTP_HEADER_VALUE' || known === 2) {
    conds.push((s, w, seg) => {
      const p = headerValueProblem(s, strict);
      if (p) w.fail(seg, rule('well_known_regex'), `${p}, got ${quote(s)}`);
    });
  }
  const check = combine(conds, toStr);
  if (!check || r.ignore_empty !== true) return check;
  return (v, w, seg) => {
    if (toStr(v) !== '') check(v, w, seg);
  };
}

function bytesCheck(r: Obj, rule: (k: string) => string): ValueCheck | undefined {
  const conds: Cond<Uint8Array>[] = [];
  const lengthRule = (key: string, ok: (len: number, n: number) => boolean, text: string): void => {
    if (r[key] === undefined) return;
    const n = toNumber(r[key]);
    conds.push((b, w, seg) => {
      if (!ok(b.length, n)) w.fail(seg, rule(key), `must be ${text} ${plural(n, 'byte')} long, got ${b.length}`);
    });
  };
  lengthRule('len', (l, n) => l === n, 'exactly');
  lengthRule('min_len', (l, n) => l >= n, 'at least');
  lengthRule('max_len', (l, n) => l <= n, 'at most');
  if (r.const !== undefined) {
    const c = optBytes(r.const);
    conds.push((b, w, seg) => {
      if (!c.equals(b)) w.fail(seg, rule('const'), `must equal the configured constant (${c.length} bytes)`);
    });
  }
  if (typeof r.pattern === 'string') {
    const pattern = r.pattern;
    const re = pgvPattern(pattern);
    if (re) {
      conds.push((b, w, seg) => {
        if (!re.test(Buffer.from(b).toString('utf8'))) w.fail(seg, rule('pattern'), `must match the regular expression ${quote(pattern)}`);
      });
    }
  }
  for (const key of ['prefix', 'suffix', 'contains'] as const) {
    if (r[key] === undefined) continue;
    const p = optBytes(r[key]);
    conds.push((b, w, seg) => {
      const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
      const ok = key === 'prefix' ? buf.subarray(0, p.length).equals(p) : key === 'suffix' ? buf.length >= p.length && buf.subarray(buf.length - p.length).equals(p) : buf.includes(p);
      if (!ok) w.fail(seg, rule(key), `must ${key === 'contains' ? 'contain' : key === 'prefix' ? 'start with' : 'end with'} the configured bytes`);
    });
  }
  for (const key of ['in', 'not_in'] as const) {
    const raw = asList(r[key]);
    if (!raw) continue;
    const values = raw.map(optBytes);
    conds.push((b, w, seg) => {
      const found = values.some((c) => c.equals(b));
      if (found !== (key === 'in')) w.fail(seg, rule(key), key === 'in' ? 'must be one of the allowed values' : 'must not be one of the banned values');
    });
  }
  const ipLens: [string, number[], string][] = [
    ['ip', [4, 16], 'an IP address (4 or 16 bytes)'],
    ['ipv4', [4], 'an IPv4 address (4 bytes)'],
    ['ipv6', [16], 'an IPv6 address (16 bytes)'],
  ];
  for (const [key, lens, text] of ipLens) {
    if (r[key] !== true) continue;
    conds.push((b, w, seg) => {
      if (!lens.includes(b.length)) w.fail(seg, rule(key), `must be ${text}, got ${b.length} bytes`);
    });
  }
  const check = combine(conds, toBytes);
  if (!check || r.ignore_empty !== true) return check;
  return (v, w, seg) => {
    if (toBytes(v).length > 0) check(v, w, seg);
  };
}

function enumCheck(r: Obj, enumType: protobuf.Enum | undefined, rule: (k: string) => string): ValueCheck | undefined {
  const name = enumType ? enumType.fullName.slice(1) : 'enum';
  const show = (n: number): string => (enumType && enumType.valuesById[n] !== undefined ? `${enumType.valuesById[n]} (${n})` : String(n));
  const read = (v: unknown): number => {
    if (typeof v === 'string' && enumType) {
      const n = enumType.values[v];
      return n === undefined ? NaN : n;
    }
    return v === undefined || v === null ? 0 : toNumber(v);
  };
  const definedOnly = r.defined_only === true && enumType !== undefined;
  const conds = orderedConds<number>({ const: r.const, in: r.in, not_in: r.not_in }, { ...NUMBER_ORDER, show }, rule);
  if (!definedOnly && conds.length === 0) return undefined;
  return (v, w, seg) => {
    const x = read(v);
    if (definedOnly && (!Number.isInteger(x) || enumType.valuesById[x] === undefined)) {
      w.fail(seg, rule('defined_only'), `must be a defined value of ${name}, got ${quote(v)}`);
      return;
    }
    for (const c of conds) c(x, w, seg);
  };
}

function boolCheck(r: Obj, rule: (k: string) => string): ValueCheck | undefined {
  if (typeof r.const !== 'boolean') return undefined;
  const c = r.const;
  return (v, w, seg) => {
    const b = v === true || v === 'true';
    if (b !== c) w.fail(seg, rule('const'), `must be ${c}, got ${b}`);
  };
}

/** The family key of a FieldRules (the `type` oneof), if any. */
function familyOf(rules: Obj | undefined): string | undefined {
  if (!rules) return undefined;
  for (const k of Object.keys(rules)) if (k !== 'message' && isObj(rules[k])) return k;
  return undefined;
}

/** Checks of a scalar (or enum) value under `rules`; `prefix` is "repeated.items." etc. */
function scalarCheck(rules: Obj | undefined, enumType: protobuf.Enum | undefined, prefix: string): ValueCheck | undefined {
  const family = familyOf(rules);
  if (!family || !rules) return undefined;
  const r = rules[family] as Obj;
  const rule = (k: string): string => `${prefix}${family}.${k}`;
  if (family === 'string') return stringCheck(r, rule);
  if (family === 'bytes') return bytesCheck(r, rule);
  if (family === 'bool') return boolCheck(r, rule);
  if (family === 'enum') return enumCheck(r, enumType, rule);
  if (NUMERIC_FAMILIES.has(family)) return combine(orderedConds(r, NUMBER_ORDER, rule), (v) => (v === undefined || v === null ? 0 : toNumber(v)));
  return undefined;
}

function defaultOf(kind: ScalarKind | 'enum'): unknown {
  if (kind === 'string') return '';
  if (kind === 'bytes') return new Uint8Array(0);
  if (kind === 'bool') return false;
  return 0;
}

// ---------------------------------------------------------------- well-known message kinds

function durationCheck(rules: Obj | undefined, prefix: string): ValueCheck {
  const r = rules && isObj(rules.duration) ? (rules.duration as Obj) : undefined;
  const conds = r ? orderedConds(r, DURATION_ORDER, (k) => `${prefix}duration.${k}`) : [];
  const pgv = combine(conds, toSecNanos);
  return (v, w, seg) => {
    const before = w.out.length;
    if (pgv) pgv(v, w, seg);
    if (w.out.length !== before) return;
    // Envoy's own check of every Duration, after PGV (utility.cc validateDuration).
    const d = toSecNanos(v);
    if (Number.isNaN(d.s) || Number.isNaN(d.n)) w.fail(seg, 'envoy.duration', `must be a duration {seconds, nanos}, got ${quote(v)}`);
    else if (d.s < 0 || d.n < 0) w.fail(seg, 'envoy.duration', `must not be negative (Envoy rejects negative durations), got ${formatDuration(d)}`);
    else if (isObj(v) && Math.abs(toNumber(v.nanos ?? 0)) > 999_999_999) w.fail(seg, 'envoy.duration', `nanos must be at most 999999999, got ${quote(v.nanos)}`);
    else if (d.s > ENVOY_MAX_DURATION_SECONDS) w.fail(seg, 'envoy.duration', `must be at most ${ENVOY_MAX_DURATION_SECONDS}s (the protobuf Duration range), got ${formatDuration(d)}`);
  };
}

function timestampCheck(rules: Obj | undefined, prefix: string): ValueCheck | undefined {
  const r = rules && isObj(rules.timestamp) ? (rules.timestamp as Obj) : undefined;
  if (!r) return undefined;
  const rule = (k: string): string => `${prefix}timestamp.${k}`;
  const conds = orderedConds(r, TIMESTAMP_ORDER, rule);
  const nowSn = (): SecNanos => {
    const ms = Date.now();
    return { s: Math.floor(ms / 1000), n: (ms % 1000) * 1e6 };
  };
  if (r.lt_now === true) {
    conds.push((t, w, seg) => {
      if (!(compareSecNanos(t, nowSn()) < 0)) w.fail(seg, rule('lt_now'), `must be in the past, got ${formatTimestamp(t)}`);
    });
  }
  if (r.gt_now === true) {
    conds.push((t, w, seg) => {
      if (!(compareSecNanos(t, nowSn()) > 0)) w.fail(seg, rule('gt_now'), `must be in the future, got ${formatTimestamp(t)}`);
    });
  }
  if (r.within !== undefined) {
    const within = toSecNanos(r.within);
    const withinMs = within.s * 1000 + within.n / 1e6;
    conds.push((t, w, seg) => {
      const ms = t.s * 1000 + t.n / 1e6;
      if (!(Math.abs(ms - Date.now()) <= withinMs)) w.fail(seg, rule('within'), `must be within ${formatDuration(within)} of now, got ${formatTimestamp(t)}`);
    });
  }
  return combine(conds, toSecNanos);
}

function anyCheck(rules: Obj | undefined, prefix: string): ValueCheck {
  const r = rules && isObj(rules.any) ? (rules.any as Obj) : undefined;
  const allowed = asList(r?.in)?.map(toStr);
  const banned = asList(r?.not_in)?.map(toStr);
  return (v, w, seg) => {
    if (!isObj(v)) {
      w.fail(seg, 'message.type', `must be a google.protobuf.Any, got ${quote(v)}`);
      return;
    }
    const url = anyTypeUrl(v) ?? '';
    if (allowed && !allowed.includes(url)) w.fail(seg, `${prefix}any.in`, `type must be one of ${list(allowed)}, got ${quote(url)}`);
    if (banned && banned.includes(url)) w.fail(seg, `${prefix}any.not_in`, `type must not be one of ${list(banned)}, got ${quote(url)}`);
    const unpacked = unpackAny(v);
    if (!unpacked.ok) {
      w.fail(seg, unpacked.rule, unpacked.message);
      return;
    }
    const tc = checksFor(unpacked.type);
    if (tc.kind === 'message' && tc.active) {
      w.path.push(seg);
      runMessage(tc, unpacked.message, w);
      w.path.pop();
    } else if (tc.kind === 'duration') {
      durationCheck(undefined, '')(unpacked.message, w, seg);
    }
  };
}

/** Checks of a present value of message type `tc` under `rules` (wrappers: rules apply to `.value`). */
function messageValueCheck(tc: TypeChecks, rules: Obj | undefined, prefix: string): ValueCheck | undefined {
  switch (tc.kind) {
    case 'wrapper': {
      const inner = scalarCheck(rules, undefined, prefix);
      if (!inner) return undefined;
      const dflt = defaultOf(tc.wrapped!);
      return (v, w, seg) => inner(isObj(v) ? (v.value ?? dflt) : v, w, seg);
    }
    case 'duration':
      return durationCheck(rules, prefix);
    case 'timestamp':
      return timestampCheck(rules, prefix);
    case 'any':
      return anyCheck(rules, prefix);
    case 'opaque':
      return undefined;
    case 'message': {
      const m = rules && isObj(rules.message) ? (rules.message as Obj) : undefined;
      if (m?.skip === true) return undefined;
      return (v, w, seg) => {
        if (!tc.active) return;
        w.path.push(seg);
        runMessage(tc, v, w);
        w.path.pop();
      };
    }
  }
}

/** The rule that makes a message-typed value required, if any ("message.required", "duration.required", ...). */
function requiredRule(rules: Obj | undefined, prefix: string): string | undefined {
  if (!rules) return undefined;
  for (const family of ['message', 'duration', 'timestamp', 'any']) {
    const r = rules[family];
    if (isObj(r) && r.required === true) return `${prefix}${family}.required`;
  }
  return undefined;
}

/** Value checks of one element (a singular value, a repeated item or a map value). */
function elementCheck(field: protobuf.Field, rules: Obj | undefined, prefix: string): { check: ValueCheck | undefined; required: string | undefined; kind: ScalarKind | 'enum' | 'message' } {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    const tc = checksFor(rt);
    const check = messageValueCheck(tc, rules, prefix);
    const always = tc.kind === 'message' ? tc.active : true;
    return { check: always ? check : undefined, required: requiredRule(rules, prefix), kind: 'message' };
  }
  if (rt instanceof protobuf.Enum) return { check: scalarCheck(rules, rt, prefix), required: undefined, kind: 'enum' };
  const kind = (SCALARS.has(field.type) ? field.type : 'string') as ScalarKind;
  return { check: scalarCheck(rules, undefined, prefix), required: undefined, kind };
}

function mapKeyCheck(keyType: string, rules: Obj | undefined): ValueCheck | undefined {
  const check = scalarCheck(rules, undefined, 'map.keys.');
  if (!check) return undefined;
  if (keyType === 'string') return check;
  if (keyType === 'bool') return (v, w, seg) => check(v === 'true', w, seg);
  return check; // numeric keys: toNumber reads the string key
}

// ---------------------------------------------------------------- fields

function fieldRunner(field: protobuf.Field): Runner | undefined {
  field.resolve();
  const key = field.name;
  const rules = rulesOf(field);

  if (field.map) {
    const mapRules = rules && isObj(rules.map) ? (rules.map as Obj) : undefined;
    const keyRules = mapRules && isObj(mapRules.keys) ? (mapRules.keys as Obj) : undefined;
    const valueRules = mapRules && isObj(mapRules.values) ? (mapRules.values as Obj) : undefined;
    const keyCheck = mapKeyCheck((field as unknown as protobuf.MapField).keyType, keyRules);
    const value = elementCheck(field, valueRules, 'map.values.');
    const minPairs = mapRules?.min_pairs !== undefined ? toNumber(mapRules.min_pairs) : undefined;
    const maxPairs = mapRules?.max_pairs !== undefined ? toNumber(mapRules.max_pairs) : undefined;
    const ignoreEmpty = mapRules?.ignore_empty === true;
    const noSparse = mapRules?.no_sparse === true;
    if (!keyCheck && !value.check && !value.required && minPairs === undefined && maxPairs === undefined && !noSparse) return undefined;
    return (obj, w) => {
      const m = obj[key];
      const entries = isObj(m) ? Object.keys(m) : [];
      if (ignoreEmpty && entries.length === 0) return;
      if (minPairs !== undefined && entries.length < minPairs) w.fail(key, 'map.min_pairs', `must have at least ${plural(minPairs, 'entry', 'entries')}, got ${entries.length}`);
      if (maxPairs !== undefined && entries.length > maxPairs) w.fail(key, 'map.max_pairs', `must have at most ${plural(maxPairs, 'entry', 'entries')}, got ${entries.length}`);
      if (entries.length === 0) return;
      w.path.push(key);
      for (const k of entries) {
        const seg = { key: k };
        if (keyCheck) keyCheck(k, w, seg);
        const v = (m as Obj)[k];
        if (v === undefined || v === null) {
          if (value.required || noSparse) w.fail(seg, value.required ?? 'map.no_sparse', 'must not be empty');
          continue;
        }
        if (value.check) value.check(v, w, seg);
      }
      w.path.pop();
    };
  }

  if (field.repeated) {
    const rep = rules && isObj(rules.repeated) ? (rules.repeated as Obj) : undefined;
    const itemRules = rep && isObj(rep.items) ? (rep.items as Obj) : undefined;
    const item = elementCheck(field, itemRules, 'repeated.items.');
    const minItems = rep?.min_items !== undefined ? toNumber(rep.min_items) : undefined;
    const maxItems = rep?.max_items !== undefined ? toNumber(rep.max_items) : undefined;
    const unique = rep?.unique === true;
    const ignoreEmpty = rep?.ignore_empty === true;
    if (!item.check && !item.required && minItems === undefined && maxItems === undefined && !unique) return undefined;
    return (obj, w) => {
      const raw = obj[key];
      const arr: unknown[] = Array.isArray(raw) ? raw : [];
      if (ignoreEmpty && arr.length === 0) return;
      if (minItems !== undefined && arr.length < minItems) w.fail(key, 'repeated.min_items', `must have at least ${plural(minItems, 'item')}, got ${arr.length}`);
      if (maxItems !== undefined && arr.length > maxItems) w.fail(key, 'repeated.max_items', `must have at most ${plural(maxItems, 'item')}, got ${arr.length}`);
      if (unique && arr.length > 1) {
        const seen = new Map<string, number>();
        for (let i = 0; i < arr.length; i++) {
          const v = arr[i];
          const k = typeof v === 'object' ? JSON.stringify(v) : `${typeof v}:${String(v)}`;
          const first = seen.get(k);
          if (first !== undefined) w.fail(key, 'repeated.unique', `items must be unique: [${i}] repeats [${first}] (${quote(v)})`);
          else seen.set(k, i);
        }
      }
      if (arr.length === 0 || (!item.check && !item.required)) return;
      w.path.push(key);
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (v === undefined || v === null) {
          if (item.required) w.fail(i, item.required, 'is required');
          continue;
        }
        if (item.check) item.check(v, w, i);
      }
      w.path.pop();
    };
  }

  const el = elementCheck(field, rules, '');
  if (el.kind === 'message') {
    const { check } = el;
    // A oneof member's rules apply only when that member is the one set: `required` on it is moot.
    const required = field.partOf && !isSynthetic(field.partOf) ? undefined : el.required;
    if (!check && !required) return undefined;
    return (obj, w) => {
      const v = obj[key];
      if (v === undefined || v === null) {
        if (required) w.fail(key, required, 'is required');
        return;
      }
      if (check) check(v, w, key);
    };
  }
  const check = el.check;
  if (!check) return undefined;
  // Explicit presence (a oneof member or a proto3 `optional`): rules apply only when set.
  // Implicit presence: an unset field has its default value, and the rules apply to it.
  if (field.partOf) {
    return (obj, w) => {
      const v = obj[key];
      if (v !== undefined && v !== null) check(v, w, key);
    };
  }
  const dflt = defaultOf(el.kind);
  return (obj, w) => {
    const v = obj[key];
    check(v === undefined || v === null ? dflt : v, w, key);
  };
}

function isSynthetic(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]!.options?.proto3_optional === true;
}

function oneofRunner(oneof: protobuf.OneOf): Runner | undefined {
  if (isSynthetic(oneof)) return undefined;
  const members = oneof.oneof.slice();
  const required = boolOption(oneof, '(validate.required)');
  const name = oneof.name;
  return (obj, w) => {
    let first: string | undefined;
    for (const m of members) {
      const v = obj[m];
      if (v === undefined || v === null) continue;
      if (first === undefined) first = m;
      else w.fail(name, 'oneof.single', `only one of ${members.join(', ')} may be set, got ${first} and ${m}`);
    }
    if (required && first === undefined) w.fail(name, 'oneof.required', `one of ${members.join(', ')} is required`);
  };
}

// ---------------------------------------------------------------- type plans

const plans = new WeakMap<protobuf.Type, TypeChecks>();
let pending: TypeChecks[] = [];

function kindOf(fullName: string): { kind: Kind; wrapped: ScalarKind | undefined } {
  const wrapped = WRAPPERS[fullName];
  if (wrapped) return { kind: 'wrapper', wrapped };
  if (fullName === '.google.protobuf.Duration') return { kind: 'duration', wrapped: undefined };
  if (fullName === '.google.protobuf.Timestamp') return { kind: 'timestamp', wrapped: undefined };
  if (fullName === '.google.protobuf.Any') return { kind: 'any', wrapped: undefined };
  if (fullName.startsWith('.google.protobuf.')) return { kind: 'opaque', wrapped: undefined };
  return { kind: 'message', wrapped: undefined };
}

function plan(type: protobuf.Type): TypeChecks {
  const existing = plans.get(type);
  if (existing) return existing;
  const fullName = type.fullName;
  const { kind, wrapped } = kindOf(fullName);
  const disabled = boolOption(type, '(validate.disabled)') || boolOption(type, '(validate.ignored)');
  const tc: TypeChecks = { type, name: fullName.slice(1), kind, wrapped, disabled, own: false, subs: [], active: false, runners: undefined };
  plans.set(type, tc);
  pending.push(tc);
  if (kind !== 'message' || disabled) return tc;
  for (const field of type.fieldsArray) {
    field.resolve();
    if (rulesOf(field)) tc.own = true;
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) {
      const sub = plan(rt);
      if (sub.kind === 'any' || sub.kind === 'duration') tc.own = true;
      else if (sub.kind === 'message') tc.subs.push(sub);
    }
  }
  if (type.oneofsArray.some((o) => !isSynthetic(o)) || ENVOY_CHECKS.has(tc.name)) tc.own = true;
  return tc;
}

/** The compiled checks of a type, planned with every type it reaches (once per type). */
function checksFor(type: protobuf.Type): TypeChecks {
  const known = plans.get(type);
  if (known) return known;
  pending = [];
  const tc = plan(type);
  const fresh = pending;
  pending = [];
  for (const t of fresh) t.active = t.kind === 'message' && !t.disabled && t.own;
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of fresh) {
      if (t.active || t.disabled || t.kind !== 'message') continue;
      if (t.subs.some((s) => s.active)) {
        t.active = true;
        changed = true;
      }
    }
  }
  return tc;
}

function runnersOf(tc: TypeChecks): Runner[] {
  if (tc.runners) return tc.runners;
  const runners: Runner[] = [];
  for (const field of tc.type.fieldsArray) {
    const r = fieldRunner(field);
    if (r) runners.push(r);
  }
  for (const oneof of tc.type.oneofsArray) {
    const r = oneofRunner(oneof);
    if (r) runners.push(r);
  }
  const extra = ENVOY_CHECKS.get(tc.name);
  if (extra) runners.push(extra);
  tc.runners = runners;
  return runners;
}

function runMessage(tc: TypeChecks, obj: unknown, w: Walk): void {
  if (!isObj(obj)) {
    w.fail(undefined, 'message.type', `must be a ${tc.name} message, got ${quote(obj)}`);
    return;
  }
  if (w.depth >= MAX_DEPTH) {
    w.fail(undefined, 'message.depth', `is nested more than ${MAX_DEPTH} messages deep; not validated further`);
    return;
  }
  // A message object found clean before, checked as the same type from no deeper, is clean again.
  const memo = w.memo;
  const seen = memo?.get(obj);
  if (seen && seen.as === tc && w.depth <= seen.depth) return;
  const before = w.out.length;
  const depth = w.depth;
  w.depth++;
  for (const run of runnersOf(tc)) run(obj, w);
  w.depth--;
  // Kept for the upper levels only (a resource, its first two levels: e.g. a route): a hit there
  // skips everything below, and remembering every small message would cost more than it saves.
  if (memo && depth <= MEMO_MAX_DEPTH && w.out.length === before) memo.set(obj, { as: tc, depth });
}

/** Deepest message level whose clean result withValidationMemo keeps (0 = the resource). */
const MEMO_MAX_DEPTH = 2;

// ---------------------------------------------------------------- public API

/**
 * Validates a message of type `typeName` (full name or type URL) against the protoc-gen-validate
 * rules of its proto and Envoy's Duration check. `message` is a plain object with proto field
 * names: a builder/compiler object (Any as {type_url, value: Uint8Array}) or decodeMessage()
 * output (Any with "@type"). Returns every violation (empty when valid).
 */
export function validateMessage(typeName: string, message: object): Violation[] {
  let type: protobuf.Type;
  try {
    type = messageType(typeName);
  } catch {
    return [{ path: '', rule: 'type.unknown', message: `${typeName} is not a loaded message type, so it cannot be validated` }];
  }
  return validateWithType(type, message);
}

/** validateMessage for a protobufjs Type of any Root (its PGV options read the same way). */
export function validateWithType(type: protobuf.Type, message: object): Violation[] {
  const tc = checksFor(type);
  const w = new Walk();
  w.memo = activeMemo()?.pgv;
  if (tc.kind === 'message') {
    if (tc.active) runMessage(tc, message, w);
  } else {
    const check = messageValueCheck(tc, undefined, '');
    if (check) check(message, w, '');
  }
  return w.out;
}

/** How many message types have compiled checks, and how many of them are walked (for docs and benches). */
export function compiledTypeCount(typeName: string): { reachable: number; active: number } {
  const root = checksFor(messageType(typeName));
  const seen = new Set<TypeChecks>();
  const stack = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push(...t.subs);
  }
  return { reachable: seen.size, active: [...seen].filter((t) => t.active).length };
}
