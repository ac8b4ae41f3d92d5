// JSON values <-> google.protobuf.Struct as plain protobufjs objects. protobufjs has no Struct
// wrapper (only Any), so model params are converted here. Only JSON data is accepted: finite
// numbers, strings, booleans, null, arrays and plain objects. Object keys are emitted sorted, so
// the encoding is deterministic.
import { compareStrings } from '../compile/order.js';
import { messageType } from '../proto/messages.js';
import { ResolveError } from './errors.js';

export type StructObject = { fields?: Record<string, ValueObject> };
export type ValueObject = Record<string, unknown>;

interface ValueNames {
  readonly null: string;
  readonly number: string;
  readonly string: string;
  readonly bool: string;
  readonly struct: string;
  readonly list: string;
}

let names: ValueNames | undefined;

// protobufjs' bundled google/protobuf/struct.proto uses camelCase field names (numberValue);
// a root loaded with keepCase from the .proto file would use snake_case. Follow the loaded type.
function valueNames(): ValueNames {
  if (!names) {
    const camel = 'numberValue' in messageType('google.protobuf.Value').fields;
    names = camel
      ? { null: 'nullValue', number: 'numberValue', string: 'stringValue', bool: 'boolValue', struct: 'structValue', list: 'listValue' }
      : { null: 'null_value', number: 'number_value', string: 'string_value', bool: 'bool_value', struct: 'struct_value', list: 'list_value' };
  }
  return names;
}

function bad(path: string, detail: string): ResolveError {
  return new ResolveError('RESOLVE_BAD_TABLE', `${path}: ${detail}`);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function toValue(v: unknown, path: string): ValueObject {
  const n = valueNames();
  if (v === null) return { [n.null]: 0 };
  switch (typeof v) {
    case 'string':
      return { [n.string]: v };
    case 'boolean':
      return { [n.bool]: v };
    case 'number':
      if (!Number.isFinite(v)) throw bad(path, `${v} is not a finite number (Struct carries JSON numbers only)`);
      return { [n.number]: v };
    case 'object':
      if (Array.isArray(v)) {
        return {
          [n.list]: {
            values: v.map((item, i) => {
              if (item === undefined) throw bad(`${path}[${i}]`, 'undefined is not JSON');
              return toValue(item, `${path}[${i}]`);
            }),
          },
        };
      }
      return { [n.struct]: toStruct(v as Record<string, unknown>, path) };
    default:
      throw bad(path, `a ${typeof v} is not JSON data`);
  }
}

/** A JSON object as a google.protobuf.Struct plain object (keys sorted; undefined members skipped). */
export function toStruct(obj: Readonly<Record<string, unknown>>, path = 'params'): StructObject {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !isPlainObject(obj)) throw bad(path, 'expected a plain object');
  const fields: Record<string, ValueObject> = {};
  for (const key of Object.keys(obj).sort(compareStrings)) {
    const v = obj[key];
    if (v === undefined) continue;
    const value = toValue(v, `${path}.${key}`);
    if (key === '__proto__') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
    else fields[key] = value;
  }
  return { fields };
}

function pick(o: Record<string, unknown>, camel: string, snake: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, camel) ? o[camel] : o[snake];
}

function has(o: Record<string, unknown>, camel: string, snake: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, camel) || Object.prototype.hasOwnProperty.call(o, snake);
}

function fromValue(v: unknown, path: string): unknown {
  if (typeof v !== 'object' || v === null) throw bad(path, 'expected a google.protobuf.Value');
  const o = v as Record<string, unknown>;
  if (has(o, 'nullValue', 'null_value')) return null;
  if (has(o, 'numberValue', 'number_value')) {
    const n = Number(pick(o, 'numberValue', 'number_value'));
    if (!Number.isFinite(n)) throw bad(path, 'number_value is not a finite number');
    return n;
  }
  if (has(o, 'stringValue', 'string_value')) return String(pick(o, 'stringValue', 'string_value'));
  if (has(o, 'boolValue', 'bool_value')) return pick(o, 'boolValue', 'bool_value') === true;
  if (has(o, 'structValue', 'struct_value')) return fromStruct(pick(o, 'structValue', 'struct_value'), path);
  if (has(o, 'listValue', 'list_value')) {
    const list = pick(o, 'listValue', 'list_value') as { values?: unknown } | null;
    const values = list?.values ?? [];
    if (!Array.isArray(values)) throw bad(path, 'list_value.values is not a list');
    return values.map((item, i) => fromValue(item, `${path}[${i}]`));
  }
  throw bad(path, 'a google.protobuf.Value with no kind set');
}

/** A decoded google.protobuf.Struct (as decodeMessage returns it) back to a JSON object. */
export function fromStruct(s: unknown, path = 'params'): Record<string, unknown> {
  if (s === undefined || s === null) return {};
  if (typeof s !== 'object') throw bad(path, 'expected a google.protobuf.Struct');
  const fields = (s as { fields?: unknown }).fields ?? {};
  if (typeof fields !== 'object' || fields === null) throw bad(path, 'Struct.fields is not a map');
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields).sort(compareStrings)) {
    const value = fromValue((fields as Record<string, unknown>)[key], `${path}.${key}`);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}
