// Strict conversion between plain objects (proto field names, snake_case) and encoded Envoy
// messages. protobufjs' fromObject silently drops unknown fields and encodes an Any of an unloaded
// type as empty; both would ship a resource that differs from what the compiler meant, so this
// layer refuses them.
import protobuf from 'protobufjs';
import { envoyRoot } from './envoy-root.js';
import { EncodeValueError, encodePlain, type Segment } from './encoder.js';

export const TYPE_PREFIX = 'type.googleapis.com/';

/** A packed google.protobuf.Any, built with {@link packAny}. */
export interface PackedAny {
  type_url: string;
  value: Uint8Array;
}

export class MessageShapeError extends Error {
  constructor(
    readonly typeName: string,
    readonly fieldPath: string,
    message: string,
  ) {
    super(`${typeName}${fieldPath ? `.${fieldPath}` : ''}: ${message}`);
    this.name = 'MessageShapeError';
  }
}

const typeCache = new Map<string, protobuf.Type>();

export function messageType(fullName: string): protobuf.Type {
  const name = fullName.startsWith(TYPE_PREFIX) ? fullName.slice(TYPE_PREFIX.length) : fullName;
  let t = typeCache.get(name);
  if (!t) {
    try {
      t = envoyRoot().lookupType(name);
    } catch {
      throw new MessageShapeError(name, '', 'message type is not loaded (add its .proto to envoy-root.ts)');
    }
    typeCache.set(name, t);
  }
  return t;
}

function isPackedAny(v: unknown): v is PackedAny {
  return typeof v === 'object' && v !== null && typeof (v as PackedAny).type_url === 'string' && (v as PackedAny).value instanceof Uint8Array;
}

// The shape check: the rules the direct encoder (encoder.ts) applies while encoding. It runs when
// that encoder refuses an object, to word the error (the first offending field in key order), and
// before a protobufjs fallback. It works from a per-type cache of field facts instead of protobufjs
// reflection (whose fullName getter rebuilds the name on each call), and it builds the path of the
// offending field only when it throws.

interface FieldInfo {
  /** Message type of the field; undefined for scalars and enums (not checked further). */
  readonly sub: ShapeInfo | undefined;
  readonly map: boolean;
  readonly repeated: boolean;
}

interface ShapeInfo {
  readonly type: protobuf.Type;
  /** Without the leading dot. */
  readonly name: string;
  readonly isAny: boolean;
  /** google.protobuf.* other than Any: Duration, wrappers, Struct accept protobufjs' own conversions. */
  readonly wellKnown: boolean;
  fields: Map<string, FieldInfo> | undefined;
}

const shapeCache = new WeakMap<protobuf.Type, ShapeInfo>();

function shapeOf(type: protobuf.Type): ShapeInfo {
  let info = shapeCache.get(type);
  if (!info) {
    const fullName = type.fullName;
    info = {
      type,
      name: fullName.slice(1),
      isAny: fullName === '.google.protobuf.Any',
      wellKnown: isWellKnownScalarWrapper(fullName),
      fields: undefined,
    };
    shapeCache.set(type, info);
  }
  return info;
}

function fieldsOf(info: ShapeInfo): Map<string, FieldInfo> {
  if (info.fields) return info.fields;
  const fields = new Map<string, FieldInfo>();
  for (const key of Object.keys(info.type.fields)) {
    const field = info.type.fields[key]!;
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? shapeOf(field.resolvedType) : undefined;
    fields.set(key, { sub, map: field.map, repeated: field.repeated });
  }
  info.fields = fields;
  return fields;
}

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'string') out = out ? `${out}.${seg}` : seg;
    else if (typeof seg === 'number') out += `[${seg}]`;
    else out += `[${seg.mapKey}]`;
  }
  return out;
}

/** Throws when `obj` has a field the message type does not define (recursively). */
function checkShape(info: ShapeInfo, obj: unknown, path: Segment[], root: string): void {
  if (typeof obj !== 'object' || obj === null) throw new MessageShapeError(root, formatPath(path), `expected an object for ${info.name}`);
  if (info.isAny) {
    if (!isPackedAny(obj)) throw new MessageShapeError(root, formatPath(path), 'Any fields must be built with packAny()');
    return;
  }
  const fields = fieldsOf(info);
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = (obj as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const field = fields.get(key);
    path.push(key);
    if (!field) throw new MessageShapeError(root, formatPath(path), `unknown field of ${info.name}`);
    const sub = field.sub;
    if (sub) {
      if (field.map) {
        for (const k of Object.keys(value as object)) {
          path.push({ mapKey: k });
          checkShape(sub, (value as Record<string, unknown>)[k], path, root);
          path.pop();
        }
      } else if (field.repeated) {
        if (!Array.isArray(value)) throw new MessageShapeError(root, formatPath(path), 'expected an array');
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          checkShape(sub, value[i], path, root);
          path.pop();
        }
      } else if (!sub.wellKnown) {
        checkShape(sub, value, path, root);
      }
    }
    path.pop();
  }
}

function isWellKnownScalarWrapper(fullName: string): boolean {
  // Duration, wrappers and Struct accept protobufjs' own conversions; their fields are few and fixed.
  return fullName.startsWith('.google.protobuf.') && fullName !== '.google.protobuf.Any';
}

/**
 * Encodes `obj` as `typeName`, refusing unknown fields, Any fields not built with packAny() and
 * enum values that are neither a known name nor a number.
 */
export function encodeMessage(typeName: string, obj: object): Uint8Array {
  const type = messageType(typeName);
  try {
    return encodePlain(type, obj);
  } catch (err) {
    const info = shapeOf(type);
    // The direct encoder only detects shape errors; checkShape words them (first one in key order).
    checkShape(info, obj, [], info.name);
    if (err instanceof EncodeValueError) throw new MessageShapeError(info.name, formatPath(err.path), err.message);
    // What the direct encoder leaves to protobufjs (see encoder.ts): same bytes, or its error.
    return type.encode(type.fromObject(obj)).finish();
  }
}

/** The old path, protobufjs' own conversion and encoder (reference for tests and benchmarks). */
export function encodeMessageWithProtobufjs(typeName: string, obj: object): Uint8Array {
  const type = messageType(typeName);
  const info = shapeOf(type);
  checkShape(info, obj, [], info.name);
  return type.encode(type.fromObject(obj)).finish();
}

/** Packs `obj` as a google.protobuf.Any of `typeName` (fully qualified, no type URL prefix). */
export function packAny(typeName: string, obj: object): PackedAny {
  return { type_url: TYPE_PREFIX + typeName, value: encodeMessage(typeName, obj) };
}

const JSON_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, json: true };

/** Decodes bytes to a plain JSON-safe object (Any expanded with an "@type" key). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), JSON_OPTIONS);
}
