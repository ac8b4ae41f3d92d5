// Encoding reuse across snapshot versions (the rules pipeline builds one snapshot per rule change,
// and most resources, and most routes of the one big RouteConfiguration, are the same objects as
// in the previous build: see src/compile/cache.ts).
//
// - A resource message that is the same object as one encoded before gets the same
//   EncodedResource back: no encoding, no digest.
// - A message with a long repeated message field (a RouteConfiguration's routes, the resolver
//   table's objectives and models) is encoded field by field: each element of such a field is
//   encoded on its own, once per element object, and the message is the concatenation of its
//   fields in field-number order, each element framed as tag + length + bytes. That is exactly
//   how protobufjs writes a message (fields sorted by number; a repeated message field as one
//   length-delimited record per element; a field's bytes depend on that field only), so the
//   bytes, and every version derived from them, are identical to encodeMessage's
//   (test/app/reload-incremental.test.ts compares them). Any problem on this path (an unknown
//   field, a value of the wrong kind) falls back to encodeMessage on the whole message, so the
//   error is the one encodeMessage gives.
//
// Objects are keyed by identity: a message (or element) must not be mutated after it was encoded
// with a cache. The compiler never mutates what it returns; use one cache per pipeline.
import protobuf from 'protobufjs';
import { encodeMessage, messageType } from '../proto/messages.js';
import { encodeResource, varintSize, writeVarint } from './snapshot.js';
import type { EncodedResource } from './types.js';

/** A repeated message field with at least this many elements is encoded element by element. */
const MIN_SPLIT_ITEMS = 16;
/** How deep below the resource a message is still considered for splitting. */
const MAX_SPLIT_DEPTH = 3;

interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly repeated: boolean;
  /** The field's message type when elements may be encoded on their own (not a map, group, Any or google.protobuf type). */
  readonly sub: protobuf.Type | undefined;
  readonly subName: string;
}

interface TypePlan {
  readonly name: string;
  /** By field number. */
  readonly fields: readonly FieldPlan[];
  readonly byName: ReadonlyMap<string, FieldPlan>;
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields = type.fieldsArray
    .map((f): FieldPlan => {
      f.resolve();
      const rt = f.resolvedType;
      const splittable = rt instanceof protobuf.Type && !f.map && !f.delimited && !rt.fullName.startsWith('.google.protobuf.');
      return { name: f.name, id: f.id, repeated: f.repeated, sub: splittable ? rt : undefined, subName: splittable ? rt.fullName.slice(1) : '' };
    })
    .sort((a, b) => a.id - b.id);
  plan = { name: type.fullName.slice(1), fields, byName: new Map(fields.map((f) => [f.name, f])) };
  plans.set(type, plan);
  return plan;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whether a message holds a long repeated message field, here or a few levels down. */
function worthSplitting(type: protobuf.Type, obj: Record<string, unknown>, depth: number): boolean {
  if (depth > MAX_SPLIT_DEPTH) return false;
  for (const f of planOf(type).fields) {
    if (!f.sub) continue;
    const v = obj[f.name];
    if (f.repeated) {
      if (!Array.isArray(v)) continue;
      if (v.length >= MIN_SPLIT_ITEMS) return true;
      for (const el of v) if (isPlainObject(el) && worthSplitting(f.sub, el, depth + 1)) return true;
    } else if (isPlainObject(v) && worthSplitting(f.sub, v, depth + 1)) return true;
  }
  return false;
}

export interface EncodeCacheStats {
  /** Resources returned as they were (same message object as before). */
  resourceHits: number;
  /** Resources encoded (whole, or assembled from element fragments). */
  resourceMisses: number;
  /** Elements of long repeated fields reused / encoded. */
  fragmentHits: number;
  fragmentMisses: number;
}

export class EncodeCache {
  private readonly resources = new WeakMap<object, EncodedResource>();
  private readonly fragments = new WeakMap<object, { readonly typeName: string; readonly bytes: Uint8Array }>();
  readonly stats: EncodeCacheStats = { resourceHits: 0, resourceMisses: 0, fragmentHits: 0, fragmentMisses: 0 };

  /** encodeResource(typeUrl, message), reusing what earlier calls encoded. Throws what encodeResource throws. */
  encode(typeUrl: string, message: object): EncodedResource {
    const hit = this.resources.get(message);
    if (hit && hit.typeUrl === typeUrl) {
      this.stats.resourceHits++;
      return hit;
    }
    this.stats.resourceMisses++;
    const r = encodeResource(typeUrl, message, (typeName, m) => this.encodeMessage(typeName, m));
    this.resources.set(message, r);
    return r;
  }

  /** encodeMessage(typeName, message), same bytes and errors, splitting long repeated fields. */
  encodeMessage(typeName: string, message: object): Uint8Array {
    let type: protobuf.Type;
    try {
      type = messageType(typeName);
    } catch {
      return encodeMessage(typeName, message); // throws the canonical error
    }
    if (!isPlainObject(message) || !worthSplitting(type, message, 0)) return encodeMessage(typeName, message);
    try {
      return this.split(type, message, 0);
    } catch {
      return encodeMessage(typeName, message); // the canonical bytes, or the canonical error
    }
  }

  private split(type: protobuf.Type, obj: Record<string, unknown>, depth: number): Uint8Array {
    const plan = planOf(type);
    for (const key of Object.keys(obj)) {
      if (obj[key] !== undefined && !plan.byName.has(key)) throw new Error(`unknown field ${key}`);
    }
    // Pieces in order; a number is the field id of a length-delimited record whose bytes follow.
    const pieces: Array<number | Uint8Array> = [];
    let total = 0;
    const record = (fieldId: number, bytes: Uint8Array): void => {
      pieces.push(fieldId, bytes);
      total += varintSize(((fieldId << 3) | 2) >>> 0) + varintSize(bytes.length) + bytes.length;
    };
    for (const f of plan.fields) {
      const v = obj[f.name];
      if (v === undefined) continue;
      if (f.sub && f.repeated && Array.isArray(v)) {
        const long = v.length >= MIN_SPLIT_ITEMS;
        for (const el of v) {
          if (!isPlainObject(el)) throw new Error(`${f.name}: not a message object`);
          record(f.id, !long && worthSplitting(f.sub, el, depth + 1) ? this.split(f.sub, el, depth + 1) : this.fragment(f.subName, el));
        }
      } else if (f.sub && !f.repeated && isPlainObject(v) && worthSplitting(f.sub, v, depth + 1)) {
        record(f.id, this.split(f.sub, v, depth + 1));
      } else {
        // One field on its own: protobufjs writes exactly this field's bytes.
        const bytes = encodeMessage(plan.name, { [f.name]: v });
        pieces.push(bytes);
        total += bytes.length;
      }
    }
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (typeof p === 'number') {
        const bytes = pieces[++i] as Uint8Array;
        at = writeVarint(out, at, ((p << 3) | 2) >>> 0);
        at = writeVarint(out, at, bytes.length);
        out.set(bytes, at);
        at += bytes.length;
      } else {
        out.set(p, at);
        at += p.length;
      }
    }
    return out;
  }

  /** The bytes of one element message, encoded once per element object. */
  private fragment(typeName: string, el: Record<string, unknown>): Uint8Array {
    const hit = this.fragments.get(el);
    if (hit && hit.typeName === typeName) {
      this.stats.fragmentHits++;
      return hit.bytes;
    }
    this.stats.fragmentMisses++;
    // A copy of its own: encodeMessage output may be a slice of Buffer's shared pool a long-lived fragment would pin.
    const bytes = new Uint8Array(encodeMessage(typeName, el));
    this.fragments.set(el, { typeName, bytes });
    return bytes;
  }
}
