// Strict conversion between plain objects (proto field names, snake_case) and encoded Envoy
// messages. protobufjs' fromObject silently drops unknown fields and encodes an Any of an unloaded
// type as empty; both would ship a resource that differs from what the compiler meant, so this
// layer refuses them.
import protobuf from 'protobufjs';
import { envoyRoot } from './envoy-root.js';

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

/** Throws when `obj` has a field the message type does not define (recursively). */
function checkShape(type: protobuf.Type, obj: unknown, at: string, root: string): void {
  if (typeof obj !== 'object' || obj === null) throw new MessageShapeError(root, at, `expected an object for ${type.fullName.slice(1)}`);
  if (type.fullName === '.google.protobuf.Any') {
    if (!isPackedAny(obj)) throw new MessageShapeError(root, at, 'Any fields must be built with packAny()');
    return;
  }
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const field = type.fields[key];
    if (!field) throw new MessageShapeError(root, at ? `${at}.${key}` : key, `unknown field of ${type.fullName.slice(1)}`);
    field.resolve();
    const sub = field.resolvedType;
    if (!(sub instanceof protobuf.Type)) continue;
    const path = at ? `${at}.${key}` : key;
    if (field.map) {
      for (const [k, v] of Object.entries(value as object)) checkShape(sub, v, `${path}[${k}]`, root);
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new MessageShapeError(root, path, 'expected an array');
      value.forEach((v, i) => checkShape(sub, v, `${path}[${i}]`, root));
    } else if (!isWellKnownScalarWrapper(sub)) {
      checkShape(sub, value, path, root);
    }
  }
}

function isWellKnownScalarWrapper(t: protobuf.Type): boolean {
  // Duration, wrappers and Struct accept protobufjs' own conversions; their fields are few and fixed.
  return t.fullName.startsWith('.google.protobuf.') && t.fullName !== '.google.protobuf.Any';
}

/** Encodes `obj` as `typeName`, refusing unknown fields. */
export function encodeMessage(typeName: string, obj: object): Uint8Array {
  const type = messageType(typeName);
  checkShape(type, obj, '', type.fullName.slice(1));
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
