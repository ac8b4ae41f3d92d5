// A direct encoder from plain objects (the shape encodeMessage takes) to protobuf bytes, driven by
// protobufjs reflection. It gives exactly the bytes of type.encode(type.fromObject(obj)).finish()
// (test/proto/encoder.test.ts compares), without a message instance per node or a Writer op per
// field: encodeMessage spends most of a publish here.
//
// Two passes. Pass 1 walks the object once: it checks the shape (the rules of checkShape in
// messages.ts), applies fromObject's coercions and appends, in output order (fields by number),
// one op per field to a flat tape, with the length of every nested message patched in once
// known. Pass 2 allocates one buffer of the exact size and writes the tape.
//
// Whatever this encoder does not reproduce with certainty (a shape error, whose canonical message
// checkShape builds; a type with proto2 required or group fields; a non-plain object; an Any with
// "@type"; any exception) is signalled with FALLBACK, and encodeMessage takes the protobufjs path,
// which then gives the canonical bytes or error. Stricter than fromObject on purpose: an enum
// value that is neither a known name nor a number, and a bytes value that is neither a Uint8Array
// (or array-like) nor a base64 string, throw an EncodeValueError instead of being dropped.
import protobuf from 'protobufjs';

const util = protobuf.util;

interface LongLike {
  low: number;
  high: number;
}
const Long = util.Long as unknown as { fromValue(value: unknown, unsigned: boolean): LongLike } | null;

/** The direct encoder cannot take this object: use protobufjs (which gives the canonical result). */
export const FALLBACK: Error = Object.freeze(new Error('direct encoder: fall back to protobufjs')) as Error;

/** A path segment: a field name, a repeated-field index, or a map key. */
export type Segment = string | number | { readonly mapKey: string };

/** A value fromObject would silently drop (an unknown enum name, a bytes field of another kind). */
export class EncodeValueError extends Error {
  /** Innermost first while unwinding; reversed by the encoder before it leaves. */
  readonly path: Segment[] = [];
  constructor(message: string) {
    super(message);
    this.name = 'EncodeValueError';
  }
}

// Field kinds.
const K_DOUBLE = 0;
const K_FLOAT = 1;
const K_INT32 = 2;
const K_UINT32 = 3;
const K_SINT32 = 4;
const K_FIXED32 = 5;
const K_SFIXED32 = 6;
const K_INT64 = 7;
const K_UINT64 = 8;
const K_SINT64 = 9;
const K_FIXED64 = 10;
const K_SFIXED64 = 11;
const K_BOOL = 12;
const K_STRING = 13;
const K_BYTES = 14;
const K_ENUM = 15;
const K_MESSAGE = 16;

const SCALAR_KINDS: Readonly<Record<string, number>> = {
  double: K_DOUBLE,
  float: K_FLOAT,
  int32: K_INT32,
  uint32: K_UINT32,
  sint32: K_SINT32,
  fixed32: K_FIXED32,
  sfixed32: K_SFIXED32,
  int64: K_INT64,
  uint64: K_UINT64,
  sint64: K_SINT64,
  fixed64: K_FIXED64,
  sfixed64: K_SFIXED64,
  bool: K_BOOL,
  string: K_STRING,
  bytes: K_BYTES,
};

// Tape ops; every op is [op, tag, ...args]; tag -1 = none (elements of a packed field).
const OP_LEN = 0; // length: a nested message, map entry or packed field follows
const OP_STR = 1; // string, utf-8 length
const OP_BYTES = 2; // bytes (array-like), length
const OP_V32 = 3; // uint32 value as a varint
const OP_V64 = 4; // lo, hi as a varint
const OP_F32 = 5; // uint32 as fixed 32
const OP_F64 = 6; // lo, hi as fixed 64
const OP_FLOAT = 7;
const OP_DOUBLE = 8;

/** protobufjs' util.recursionLimit: fromObject and encode throw past it (so we fall back). */
const RECURSION_LIMIT = util.recursionLimit;

interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly kind: number;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly packed: boolean;
  /** Tag of the field (of each element if repeated and not packed; of the whole run if packed). */
  readonly tag: number;
  readonly tagSize: number;
  /** Map fields: tag of the entry's value field (2). */
  readonly valueTag: number;
  /** checkShape goes on checking below this field (it skips a singular google.protobuf.* other than Any). */
  readonly keepStrict: boolean;
  readonly enumValues: ReadonlyMap<string, number> | undefined;
  readonly enumName: string;
  readonly subType: protobuf.Type | undefined;
  sub: TypePlan | undefined;
}

interface TypePlan {
  readonly name: string;
  readonly isAny: boolean;
  /** Why protobufjs must encode this type, or undefined. */
  readonly unsupported: string | undefined;
  readonly byName: ReadonlyMap<string, FieldPlan>;
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

function isWellKnown(fullName: string): boolean {
  return fullName.startsWith('.google.protobuf.') && fullName !== '.google.protobuf.Any';
}

function planOf(type: protobuf.Type): TypePlan {
  const cached = plans.get(type);
  if (cached) return cached;
  const fullName = type.fullName;
  let unsupported: string | undefined;
  const byName = new Map<string, FieldPlan>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const rt = field.resolvedType;
    const kind = rt instanceof protobuf.Enum ? K_ENUM : rt instanceof protobuf.Type ? K_MESSAGE : SCALAR_KINDS[field.type];
    if (kind === undefined) {
      unsupported = `field ${field.name} of type ${field.type}`;
      continue;
    }
    // What the protobufjs encoder does and this one does not: proto2 required (always written),
    // groups, maps keyed by anything but strings; 64-bit conversions without long.js.
    if (field.required) unsupported = `required field ${field.name}`;
    if (field.delimited) unsupported = `group field ${field.name}`;
    if (field.map && !(field instanceof protobuf.MapField && field.keyType === 'string')) unsupported = `map field ${field.name} not keyed by strings`;
    if (kind >= K_INT64 && kind <= K_SFIXED64 && !Long) unsupported = '64-bit field without long.js';
    const wireType = kind === K_MESSAGE ? 2 : protobuf.types.basic[(kind === K_ENUM ? 'int32' : field.type) as keyof typeof protobuf.types.basic];
    // Exactly the encoder's condition (enums count as int32).
    const packed = field.repeated && field.packed && protobuf.types.packed[(kind === K_ENUM ? 'int32' : field.type) as keyof typeof protobuf.types.packed] !== undefined;
    const tag = ((field.id << 3) | (field.map || packed ? 2 : wireType)) >>> 0;
    byName.set(field.name, {
      name: field.name,
      id: field.id,
      kind,
      repeated: field.repeated,
      map: field.map,
      packed,
      tag,
      tagSize: varintSize(tag),
      valueTag: (16 | wireType) >>> 0,
      keepStrict: field.map || field.repeated || !(rt instanceof protobuf.Type && isWellKnown(rt.fullName)),
      enumValues: rt instanceof protobuf.Enum ? new Map(Object.keys(rt.values).map((k) => [k, rt.values[k]!])) : undefined,
      enumName: rt instanceof protobuf.Enum ? rt.fullName.slice(1) : '',
      subType: rt instanceof protobuf.Type ? rt : undefined,
      sub: undefined,
    });
  }
  const plan: TypePlan = { name: fullName.slice(1), isAny: fullName === '.google.protobuf.Any', unsupported, byName };
  plans.set(type, plan);
  return plan;
}

function subPlan(f: FieldPlan): TypePlan {
  return f.sub ?? (f.sub = planOf(f.subType!));
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** protobufjs LongBits#length. */
function varint64Size(lo: number, hi: number): number {
  const part0 = lo;
  const part1 = ((lo >>> 28) | (hi << 4)) >>> 0;
  const part2 = hi >>> 24;
  return part2 === 0
    ? part1 === 0
      ? part0 < 16384
        ? part0 < 128
          ? 1
          : 2
        : part0 < 2097152
          ? 3
          : 4
      : part1 < 16384
        ? part1 < 128
          ? 5
          : 6
        : part1 < 2097152
          ? 7
          : 8
    : part2 < 128
      ? 9
      : 10;
}

// protobufjs' BufferWriter writes strings under 40 UTF-16 units with its own utf8 writer, longer
// ones with Buffer; they differ on a lone surrogate (ED A0 80 vs EF BF BD, same length). Same rule
// here, so the bytes stay identical. Byte lengths agree (3 for a lone surrogate).
const SHORT_STRING = 40;
const utf8Length = util.utf8.length;
const utf8Write = util.utf8.write;

function sortPairs(st: unknown[], from: number, to: number): void {
  for (let i = from + 2; i < to; i += 2) {
    const f = st[i] as FieldPlan;
    const v = st[i + 1];
    let j = i - 2;
    while (j >= from && (st[j] as FieldPlan).id > f.id) {
      st[j + 2] = st[j];
      st[j + 3] = st[j + 1];
      j -= 2;
    }
    st[j + 2] = f;
    st[j + 3] = v;
  }
}

function enumNumber(f: FieldPlan, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = f.enumValues!.get(v);
    if (n !== undefined) return n;
    throw new EncodeValueError(`unknown value "${v}" of enum ${f.enumName} (one of ${[...f.enumValues!.keys()].join(', ')})`);
  }
  throw new EncodeValueError(`expected a name of enum ${f.enumName} (one of ${[...f.enumValues!.keys()].join(', ')}) or a number, got ${v === null ? 'null' : typeof v}`);
}

function isPlain(obj: object): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  return proto === Object.prototype || proto === null;
}

class Encoder {
  /** Ops in output order (see OP_*). */
  private tape: unknown[] = [];
  private n = 0;
  /** (field, value) pairs of the messages being walked, innermost last. */
  private stack: unknown[] = [];
  private sp = 0;
  private lo = 0;
  private hi = 0;
  busy = false;

  encode(plan: TypePlan, obj: object): Buffer {
    this.busy = true;
    try {
      const size = this.message(plan, obj, true, 0);
      const out = Buffer.allocUnsafe(size);
      const end = this.write(out);
      if (end !== size) throw new Error(`direct encoder: wrote ${end} bytes of ${size}`);
      return out;
    } catch (err) {
      if (err instanceof EncodeValueError) err.path.reverse();
      throw err;
    } finally {
      // Do not pin the caller's objects until the next call.
      this.tape.fill(undefined, 0, this.n);
      this.stack.fill(undefined);
      this.n = 0;
      this.sp = 0;
      this.busy = false;
    }
  }

  /** Pass 1 for one message: appends its ops, returns its encoded length. */
  private message(plan: TypePlan, obj: object, strict: boolean, depth: number): number {
    if (depth > RECURSION_LIMIT || plan.unsupported !== undefined || !isPlain(obj)) throw FALLBACK;
    if (plan.isAny) return this.any(obj as Record<string, unknown>, strict);
    const st = this.stack;
    const base = this.sp;
    const byName = plan.byName;
    let top = base;
    let sorted = true;
    let lastId = 0;
    for (const key in obj) {
      const v = (obj as Record<string, unknown>)[key];
      if (v === undefined) continue;
      const f = byName.get(key);
      if (f === undefined) {
        if (strict) throw FALLBACK; // checkShape words the error
        continue; // fromObject ignores it (checkShape does not look inside google.protobuf.*)
      }
      if (f.id < lastId) sorted = false;
      lastId = f.id;
      st[top++] = f;
      st[top++] = v;
    }
    if (!sorted) sortPairs(st, base, top);
    this.sp = top;
    let size = 0;
    let i = base;
    try {
      for (; i < top; i += 2) size += this.field(st[i] as FieldPlan, st[i + 1], strict, depth);
    } catch (err) {
      if (err instanceof EncodeValueError) err.path.push((st[i] as FieldPlan).name);
      throw err;
    }
    this.sp = base;
    return size;
  }

  /** Only packAny() objects: type_url (1) and value (2), as the plain fromObject takes them. */
  private any(a: Record<string, unknown>, strict: boolean): number {
    const url = a.type_url;
    const value = a.value;
    // The Any wrapper of fromObject expands an object with "@type"; protobufjs handles that.
    if (!strict || typeof url !== 'string' || !(value instanceof Uint8Array) || a['@type']) throw FALLBACK;
    return this.string(0x0a, 1, url) + this.bytes(0x12, 1, value);
  }

  private field(f: FieldPlan, v: unknown, strict: boolean, depth: number): number {
    const kind = f.kind;
    if (f.map) {
      if (!v) {
        if (v === null && strict && kind === K_MESSAGE) throw FALLBACK;
        return 0;
      }
      if (typeof v !== 'object') throw FALLBACK;
      return this.mapField(f, v as Record<string, unknown>, strict, depth);
    }
    if (f.repeated) {
      if (!Array.isArray(v)) {
        if (!v && !(strict && kind === K_MESSAGE)) return 0; // fromObject: if (d.f)
        throw FALLBACK;
      }
      return this.repeatedField(f, v, strict, depth);
    }
    if (kind === K_MESSAGE) {
      if (v === null) {
        if (strict && f.keepStrict) throw FALLBACK;
        return 0;
      }
      if (typeof v !== 'object') throw FALLBACK;
      return this.nested(f.tag, f.tagSize, subPlan(f), v as object, strict && f.keepStrict, depth + 1);
    }
    if (v === null) return 0;
    return this.scalar(f, f.tag, f.tagSize, v);
  }

  private nested(tag: number, tagSize: number, plan: TypePlan, obj: object, strict: boolean, depth: number): number {
    const t = this.tape;
    const at = this.n;
    t[at] = OP_LEN;
    t[at + 1] = tag;
    this.n = at + 3;
    const size = this.message(plan, obj, strict, depth);
    t[at + 2] = size;
    return tagSize + varintSize(size) + size;
  }

  private repeatedField(f: FieldPlan, v: unknown[], strict: boolean, depth: number): number {
    const count = v.length;
    if (count === 0) return 0;
    let size = 0;
    let i = 0;
    try {
      if (f.packed) {
        const t = this.tape;
        const at = this.n;
        t[at] = OP_LEN;
        t[at + 1] = f.tag;
        this.n = at + 3;
        for (; i < count; i++) size += this.scalar(f, -1, 0, v[i]);
        t[at + 2] = size;
        return f.tagSize + varintSize(size) + size;
      }
      if (f.kind === K_MESSAGE) {
        const sub = subPlan(f);
        for (; i < count; i++) {
          const el = v[i];
          if (typeof el !== 'object' || el === null) throw FALLBACK;
          size += this.nested(f.tag, f.tagSize, sub, el, strict, depth + 1);
        }
        return size;
      }
      for (; i < count; i++) size += this.scalar(f, f.tag, f.tagSize, v[i]);
      return size;
    } catch (err) {
      if (err instanceof EncodeValueError) err.path.push(i);
      throw err;
    }
  }

  private mapField(f: FieldPlan, m: Record<string, unknown>, strict: boolean, depth: number): number {
    const t = this.tape;
    const keys = Object.keys(m);
    const sub = f.kind === K_MESSAGE ? subPlan(f) : undefined;
    let size = 0;
    for (const key of keys) {
      const v = m[key];
      const at = this.n;
      t[at] = OP_LEN;
      t[at + 1] = f.tag;
      this.n = at + 3;
      let entry = this.string(0x0a, 1, key);
      try {
        if (sub) {
          if (typeof v !== 'object' || v === null) throw FALLBACK;
          entry += this.nested(0x12, 1, sub, v, strict, depth + 1);
        } else {
          entry += this.scalar(f, f.valueTag, 1, v); // written even when default, as protobufjs does
        }
      } catch (err) {
        if (err instanceof EncodeValueError) err.path.push({ mapKey: key });
        throw err;
      }
      t[at + 2] = entry;
      size += f.tagSize + varintSize(entry) + entry;
    }
    return size;
  }

  private string(tag: number, tagSize: number, s: string): number {
    return this.delimited(OP_STR, tag, tagSize, s, s.length < SHORT_STRING ? utf8Length(s) : Buffer.byteLength(s));
  }

  private bytes(tag: number, tagSize: number, b: ArrayLike<number>): number {
    return this.delimited(OP_BYTES, tag, tagSize, b, b.length >>> 0);
  }

  /** A length-delimited value (string or bytes) of `len` bytes on the tape. */
  private delimited(op: number, tag: number, tagSize: number, payload: string | ArrayLike<number>, len: number): number {
    this.op3(op, tag, payload, len);
    return tagSize + varintSize(len) + len;
  }

  private op2(op: number, tag: number, a: number): void {
    const t = this.tape;
    const at = this.n;
    t[at] = op;
    t[at + 1] = tag;
    t[at + 2] = a;
    this.n = at + 3;
  }

  private op3(op: number, tag: number, a: unknown, b: number): void {
    const t = this.tape;
    const at = this.n;
    t[at] = op;
    t[at + 1] = tag;
    t[at + 2] = a;
    t[at + 3] = b;
    this.n = at + 4;
  }

  /** fromObject's coercion, then the Writer's encoding. tag -1: no tag (packed element). */
  private scalar(f: FieldPlan, tag: number, tagSize: number, v: unknown): number {
    switch (f.kind) {
      case K_STRING:
        return this.string(tag, tagSize, typeof v === 'string' ? v : String(v));
      case K_ENUM:
        return this.int32(tag, tagSize, enumNumber(f, v) | 0);
      case K_INT32:
        return this.int32(tag, tagSize, (v as number) | 0);
      case K_UINT32: {
        const u = (v as number) >>> 0;
        this.op2(OP_V32, tag, u);
        return tagSize + varintSize(u);
      }
      case K_SINT32: {
        const x = (v as number) | 0;
        const u = ((x << 1) ^ (x >> 31)) >>> 0;
        this.op2(OP_V32, tag, u);
        return tagSize + varintSize(u);
      }
      case K_FIXED32:
      case K_SFIXED32:
        this.op2(OP_F32, tag, (v as number) >>> 0);
        return tagSize + 4;
      case K_BOOL:
        this.op2(OP_V32, tag, v ? 1 : 0);
        return tagSize + 1;
      case K_DOUBLE:
        this.op2(OP_DOUBLE, tag, Number(v));
        return tagSize + 8;
      case K_FLOAT:
        this.op2(OP_FLOAT, tag, Number(v));
        return tagSize + 4;
      case K_INT64:
      case K_SINT64:
      case K_SFIXED64:
        this.bits64(v, false);
        return this.long(f.kind, tag, tagSize);
      case K_UINT64:
      case K_FIXED64:
        this.bits64(v, true);
        return this.long(f.kind, tag, tagSize);
      case K_BYTES: {
        if (typeof v === 'string') {
          const b = util.newBuffer(util.base64.length(v));
          util.base64.decode(v, b, 0);
          return this.bytes(tag, tagSize, b);
        }
        if (v instanceof Uint8Array) return this.bytes(tag, tagSize, v);
        if (v instanceof String) throw FALLBACK; // the Writer takes a String object as base64
        if (typeof v === 'object' && v !== null && (v as ArrayLike<number>).length >= 0) return this.bytes(tag, tagSize, v as ArrayLike<number>); // e.g. number[]
        throw new EncodeValueError(`expected bytes (a Uint8Array or a base64 string), got ${typeof v}`);
      }
      default:
        throw FALLBACK;
    }
  }

  /** Writer.int32: negative values as 10-byte sign-extended varints. */
  private int32(tag: number, tagSize: number, x: number): number {
    if (x < 0) {
      this.op3(OP_V64, tag, x >>> 0, 0xffffffff);
      return tagSize + 10;
    }
    this.op2(OP_V32, tag, x);
    return tagSize + varintSize(x);
  }

  /** Sets lo/hi as fromObject (Long.fromValue) then LongBits.from would. */
  private bits64(v: unknown, unsigned: boolean): void {
    if (typeof v === 'number' && Number.isSafeInteger(v) && (v >= 0 || !unsigned)) {
      this.lo = v >>> 0;
      this.hi = Math.floor(v / 4294967296) >>> 0;
      return;
    }
    const l = Long!.fromValue(v, unsigned);
    this.lo = l.low >>> 0;
    this.hi = l.high >>> 0;
  }

  private long(kind: number, tag: number, tagSize: number): number {
    let lo = this.lo;
    let hi = this.hi;
    if (kind === K_FIXED64 || kind === K_SFIXED64) {
      this.op3(OP_F64, tag, lo, hi);
      return tagSize + 8;
    }
    if (kind === K_SINT64) {
      const mask = hi >> 31;
      hi = (((hi << 1) | (lo >>> 31)) ^ mask) >>> 0;
      lo = ((lo << 1) ^ mask) >>> 0;
    }
    this.op3(OP_V64, tag, lo, hi);
    return tagSize + varint64Size(lo, hi);
  }

  /** Pass 2: writes the tape; returns the end offset. */
  private write(out: Buffer): number {
    const t = this.tape;
    const n = this.n;
    let pos = 0;
    let i = 0;
    while (i < n) {
      const op = t[i] as number;
      let tag = t[i + 1] as number;
      if (tag >= 0) {
        while (tag > 127) {
          out[pos++] = (tag & 127) | 128;
          tag >>>= 7;
        }
        out[pos++] = tag;
      }
      switch (op) {
        case OP_LEN:
        case OP_V32: {
          let v = t[i + 2] as number;
          while (v > 127) {
            out[pos++] = (v & 127) | 128;
            v >>>= 7;
          }
          out[pos++] = v;
          i += 3;
          break;
        }
        case OP_STR: {
          const s = t[i + 2] as string;
          let len = t[i + 3] as number;
          const l = len;
          while (len > 127) {
            out[pos++] = (len & 127) | 128;
            len >>>= 7;
          }
          out[pos++] = len;
          if (s.length < SHORT_STRING) utf8Write(s, out, pos);
          else out.write(s, pos, l, 'utf8');
          pos += l;
          i += 4;
          break;
        }
        case OP_BYTES: {
          const b = t[i + 2] as ArrayLike<number>;
          let len = t[i + 3] as number;
          const l = len;
          while (len > 127) {
            out[pos++] = (len & 127) | 128;
            len >>>= 7;
          }
          out[pos++] = len;
          if (l) out.set(b, pos);
          pos += l;
          i += 4;
          break;
        }
        case OP_V64: {
          let lo = t[i + 2] as number;
          let hi = t[i + 3] as number;
          while (hi) {
            out[pos++] = (lo & 127) | 128;
            lo = ((lo >>> 7) | (hi << 25)) >>> 0;
            hi >>>= 7;
          }
          while (lo > 127) {
            out[pos++] = (lo & 127) | 128;
            lo >>>= 7;
          }
          out[pos++] = lo;
          i += 4;
          break;
        }
        case OP_F32:
          pos = writeFixed32(out, pos, t[i + 2] as number);
          i += 3;
          break;
        case OP_F64:
          pos = writeFixed32(out, writeFixed32(out, pos, t[i + 2] as number), t[i + 3] as number);
          i += 4;
          break;
        case OP_FLOAT:
          util.float.writeFloatLE(t[i + 2] as number, out, pos);
          pos += 4;
          i += 3;
          break;
        case OP_DOUBLE:
          util.float.writeDoubleLE(t[i + 2] as number, out, pos);
          pos += 8;
          i += 3;
          break;
        default:
          throw new Error(`direct encoder: bad op ${op}`);
      }
    }
    return pos;
  }
}

function writeFixed32(out: Uint8Array, pos: number, v: number): number {
  out[pos] = v & 255;
  out[pos + 1] = (v >>> 8) & 255;
  out[pos + 2] = (v >>> 16) & 255;
  out[pos + 3] = v >>> 24;
  return pos + 4;
}

const shared = new Encoder();

/**
 * The bytes of type.encode(type.fromObject(obj)).finish() for an object checkShape accepts.
 * Throws FALLBACK (or whatever a coercion threw) when protobufjs should encode it instead, and
 * EncodeValueError for a value fromObject would drop.
 */
export function encodePlain(type: protobuf.Type, obj: object): Buffer {
  if (typeof obj !== 'object' || obj === null) throw FALLBACK;
  // A fresh encoder if called again while encoding (e.g. from a value's toString).
  const enc = shared.busy ? new Encoder() : shared;
  return enc.encode(planOf(type), obj);
}
