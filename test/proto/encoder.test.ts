// The direct encoder (src/proto/encoder.ts) gives exactly protobufjs' bytes
// (type.encode(type.fromObject(obj)).finish()) on real resources and on random objects built by
// reflection, without falling back to protobufjs; encodeMessage keeps its errors.
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { generateRuleSet } from '../../bench/gen-rules.js';
import { prng } from '../../bench/prng.js';
import { compile } from '../../src/compile/compile.js';
import { loadRuleDir } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/model.js';
import { buildApiListener, buildEdsCluster, buildLoadAssignment, buildRouteConfiguration } from '../../src/proto/builders.js';
import { encodePlain, FALLBACK } from '../../src/proto/encoder.js';
import { encodeMessage, encodeMessageWithProtobufjs, MessageShapeError, messageType, packAny, type PackedAny } from '../../src/proto/messages.js';
import { typeNameOf } from '../../src/proto/type-urls.js';
import { RESOLVER_TABLE_MESSAGE, resolverTableToMessage } from '../../src/resolver/table-message.js';

const RC = 'envoy.config.route.v3.RouteConfiguration';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

/** protobufjs' own conversion and encoder, without the shape check. */
function reference(typeName: string, obj: object): Buffer {
  const type = messageType(typeName);
  return Buffer.from(type.encode(type.fromObject(obj)).finish());
}

/** The direct encoder alone: throws instead of falling back. */
function direct(typeName: string, obj: object): Buffer {
  return Buffer.from(encodePlain(messageType(typeName), obj));
}

function expectSameBytes(typeName: string, obj: object): void {
  const want = reference(typeName, obj);
  expect(direct(typeName, obj).equals(want), `${typeName}: direct encoder bytes differ`).toBe(true);
  expect(Buffer.from(encodeMessage(typeName, obj)).equals(want), `${typeName}: encodeMessage bytes differ`).toBe(true);
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

/** Every PackedAny inside a plain object. */
function packedAnys(v: unknown, out: PackedAny[] = []): PackedAny[] {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return out;
  const o = v as Record<string, unknown>;
  if (typeof o.type_url === 'string' && o.value instanceof Uint8Array) out.push(o as unknown as PackedAny);
  for (const child of Object.values(o)) packedAnys(child, out);
  return out;
}

function expectResources(resources: Readonly<Record<string, readonly object[]>>): number {
  let n = 0;
  for (const [typeUrl, messages] of Object.entries(resources)) {
    for (const m of messages) {
      expectSameBytes(typeNameOf(typeUrl), m);
      // Bytes packed into Any fields (by packAny, so by the direct encoder) are protobufjs' too.
      for (const any of packedAnys(m)) {
        const type = messageType(any.type_url);
        expect(Buffer.from(type.encode(type.decode(any.value)).finish()).equals(Buffer.from(any.value))).toBe(true);
      }
      n++;
    }
  }
  return n;
}

describe('direct encoder: real resources', () => {
  it('every resource of the shipped rules/ and its resolver table', async () => {
    const loaded = await loadRuleDir('rules');
    if (!loaded.ok) throw new Error(`rules/ does not load: ${JSON.stringify(loaded.errors)}`);
    const result = compile(loaded.ruleSet);
    expect(expectResources(result.resources)).toBeGreaterThan(3);
    expectSameBytes(RESOLVER_TABLE_MESSAGE, resolverTableToMessage(result.resolverTable));
  });

  it('every resource of a generated rule set and its resolver table (Struct params)', () => {
    const ruleSet: RuleSet = generateRuleSet({ objectives: 50, models: 250, shards: 20, seed: 7 });
    expect([...ruleSet.shards.values()].some((s) => s.lbPolicy === 'LEAST_REQUEST')).toBe(true);
    const result = compile(ruleSet);
    expect(expectResources(result.resources)).toBeGreaterThan(40);
    expectSameBytes(RESOLVER_TABLE_MESSAGE, resolverTableToMessage(result.resolverTable));
  });

  it('what the builders produce: clusters (LEAST_REQUEST policy list, breakers, outlier detection), listeners, routes, endpoints', () => {
    for (const lbPolicy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH'] as const) {
      expectSameBytes(
        CLUSTER,
        buildEdsCluster({
          name: `c-${lbPolicy}`,
          lbPolicy,
          connectTimeoutMs: 2500,
          circuitBreakers: { maxConnections: 0, maxRequests: 4_000_000_000, maxRetries: 3 },
          outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 },
        }),
      );
    }
    expectSameBytes(CLUSTER, buildEdsCluster({ name: 'h1', http2: false }));
    expectSameBytes(LISTENER, buildApiListener({ name: 'model-serving', routeConfigName: 'model-serving' }));
    expectSameBytes(
      RC,
      buildRouteConfiguration({
        name: 'rc',
        virtualHosts: [
          {
            name: 'vh',
            domains: ['*', 'é.example'],
            routes: [
              { name: 'a', headers: [{ name: 'x-k', exact: 'a' }, { name: 'x-p', prefix: 'p' }, { name: 'x-q', present: true }], cluster: 'c1', timeoutMs: 1500 },
              {
                name: 'b',
                prefix: '/svc/',
                weightedClusters: [{ cluster: 'c1', weight: 0 }, { cluster: 'c2', weight: 100 }],
                retry: { numRetries: 2, perTryTimeoutMs: 250 },
                mirrors: [{ cluster: 'shadow', percent: 12.5 }],
                responseHeaders: { 'x-model': 'm-1', 'x-empty': '' },
              },
            ],
          },
        ],
      }),
    );
    expectSameBytes(
      CLA,
      buildLoadAssignment({ clusterName: 'c1', localities: [{ zone: 'a', weight: 1, endpoints: [{ address: '10.0.0.1', port: 8080 }, { address: '::1', port: 65535, weight: 7 }] }] }),
    );
  });
});

// ---- random objects by reflection

const SEED = 20240611;

const INT32S: unknown[] = [0, -1, 1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -1.5, NaN, '42', '-7'];
const INT64S: unknown[] = [
  0,
  -0,
  -1,
  1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  -(2 ** 40),
  2 ** 64,
  1e20,
  -1e20,
  1.5,
  -1.5,
  NaN,
  Infinity,
  -Infinity,
  '0',
  '-1',
  '123456789012345678',
  '-123456789012345678',
  '9223372036854775807',
  '-9223372036854775808',
  '18446744073709551615',
  { low: 1, high: 2 },
  { low: -1, high: -1 },
  12345678901234567890n,
];
const DOUBLES: unknown[] = [0, -0, 1.5, -1e300, 1e-320, 3.4e38, 1e39, 2 ** 53 - 1, NaN, Infinity, -Infinity, 'NaN', '2.5', true];
const BOOLS: unknown[] = [true, false, 0, 1, '', 'x'];
const STRINGS: unknown[] = ['', 'a', 'é', '😀 ok', '\ud800', 'a\udc00b', 'x'.repeat(39), `${'x'.repeat(38)}\ud800`, `${'x'.repeat(39)}\udfff`, 'é'.repeat(45), `${'y'.repeat(50)}\ud83d`, 42, 'model-v1'];
const MAP_KEYS = ['', 'a', 'key-1', 'é', '😀', '\ud800', 'z'.repeat(60), '10', '2'];

function isWellKnown(t: protobuf.Type): boolean {
  return t.fullName.startsWith('.google.protobuf.') && t.fullName !== '.google.protobuf.Any';
}

class Generator {
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = prng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private bytes(): Uint8Array {
    const len = this.chance(0.2) ? 120 + this.int(200) : this.int(6);
    return Uint8Array.from({ length: len }, () => this.int(256));
  }

  private any(depth: number): PackedAny {
    if (this.chance(0.5)) return { type_url: this.pick(['', 'type.googleapis.com/x.Y', 'é'.repeat(50)]), value: this.bytes() };
    return packAny('envoy.config.core.v3.Locality', this.message(messageType('envoy.config.core.v3.Locality'), depth + 1, false));
  }

  private scalar(type: string): unknown {
    switch (type) {
      case 'int32':
      case 'uint32':
      case 'sint32':
      case 'fixed32':
      case 'sfixed32':
        return this.pick(INT32S);
      case 'int64':
      case 'uint64':
      case 'sint64':
      case 'fixed64':
      case 'sfixed64':
        return this.pick(INT64S);
      case 'double':
      case 'float':
        return this.pick(DOUBLES);
      case 'bool':
        return this.pick(BOOLS);
      case 'string':
        return this.pick(STRINGS);
      case 'bytes': {
        const b = this.bytes();
        return this.chance(0.3) ? Buffer.from(b).toString('base64') : this.chance(0.5) ? Buffer.from(b) : b;
      }
      default:
        throw new Error(`no generator for ${type}`);
    }
  }

  private enumValue(e: protobuf.Enum): unknown {
    const names = Object.keys(e.values);
    if (this.chance(0.6)) return this.pick(names);
    return this.chance(0.7) ? e.values[this.pick(names)] : this.pick([999, -1, 2 ** 31 - 1]);
  }

  /** One value of the field (an element, for repeated and map fields). */
  private one(field: protobuf.Field, depth: number, lenient: boolean): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) {
      if (rt.fullName === '.google.protobuf.Any') return this.any(depth);
      return depth >= 3 ? {} : this.message(rt, depth + 1, lenient);
    }
    if (rt instanceof protobuf.Enum) return this.enumValue(rt);
    return this.scalar(field.type);
  }

  private value(field: protobuf.Field, depth: number, lenient: boolean): unknown {
    const rt = field.resolvedType;
    const isMessage = rt instanceof protobuf.Type;
    if (field.map) {
      const out: Record<string, unknown> = {};
      for (let i = this.int(5); i > 0; i--) out[this.pick(MAP_KEYS)] = this.one(field, depth, lenient);
      return out;
    }
    if (field.repeated) {
      const long = this.chance(0.15);
      const n = long ? (isMessage ? (depth < 2 ? 5 + this.int(15) : 2) : 20 + this.int(80)) : this.int(4);
      return Array.from({ length: n }, () => this.one(field, depth, lenient));
    }
    // checkShape skips a singular google.protobuf.* message (not Any); fromObject ignores unknown fields there.
    const childLenient = lenient || (isMessage && isWellKnown(rt));
    if ((!isMessage || childLenient) && this.chance(0.05)) return null;
    return this.one(field, depth, childLenient);
  }

  message(type: protobuf.Type, depth: number, lenient: boolean): Record<string, unknown> {
    if (type.fullName === '.google.protobuf.Any') return this.any(depth) as unknown as Record<string, unknown>;
    const fields = type.fieldsArray.slice();
    // Random key order: the encoder sorts by field number.
    for (let i = fields.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [fields[i], fields[j]] = [fields[j]!, fields[i]!];
    }
    // Small types (wrappers, Value) get a field or two too.
    const p = Math.min(0.9, Math.max(depth === 0 ? 0.6 : depth === 1 ? 0.35 : 0.2, 1.5 / Math.max(1, fields.length)));
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      if (!this.chance(p)) continue;
      field.resolve();
      out[field.name] = this.value(field, depth, lenient);
    }
    if (this.chance(0.1)) out[fields[0]?.name ?? 'x'] = undefined; // undefined counts as absent
    if (lenient && this.chance(0.2)) out.not_a_field = 1;
    return out;
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

// Every scalar type, packed and not, maps of scalars and enums, a 5-byte tag: kinds the Envoy
// types above do not use (float, sint*, fixed*, sfixed*, packed 64-bit, proto2 unpacked).
const ALL_KINDS_PROTO = `
syntax = "proto3";
package t;
enum Color { RED = 0; GREEN = 1; BLUE = 2; }
message All {
  double d = 1; float f = 2; int32 i32 = 3; uint32 u32 = 4; sint32 s32 = 5; fixed32 f32 = 6; sfixed32 sf32 = 7;
  int64 i64 = 8; uint64 u64 = 9; sint64 s64 = 10; fixed64 f64 = 11; sfixed64 sf64 = 12; bool b = 13; string s = 14;
  bytes by = 15; Color c = 16;
  repeated double r_d = 21; repeated float r_f = 22; repeated int32 r_i32 = 23; repeated uint32 r_u32 = 24;
  repeated sint32 r_s32 = 25; repeated fixed32 r_f32 = 26; repeated sfixed32 r_sf32 = 27; repeated int64 r_i64 = 28;
  repeated uint64 r_u64 = 29; repeated sint64 r_s64 = 30; repeated fixed64 r_f64 = 31; repeated sfixed64 r_sf64 = 32;
  repeated bool r_b = 33; repeated string r_s = 34; repeated bytes r_by = 35; repeated Color r_c = 36;
  repeated int32 r_unpacked = 37 [packed = false]; repeated sint64 r_unpacked64 = 38 [packed = false];
  map<string, int64> m_i64 = 50; map<string, Color> m_c = 51; map<string, bytes> m_by = 52; map<string, double> m_d = 53;
  map<string, All> m_msg = 54; map<string, string> m_s = 55; map<string, sint32> m_s32 = 56; map<string, fixed64> m_f64 = 57;
  map<string, bool> m_b = 58; map<string, float> m_f = 59;
  All child = 60; repeated All children = 61;
  oneof o { string o_s = 70; int64 o_i = 71; }
  optional int32 opt = 80;
  uint32 max_id = 536870911;
}
`;
const LEGACY_PROTO = `
syntax = "proto2";
package l;
enum E { ONE = 1; TWO = 2; }
message P2 {
  repeated int32 unpacked = 1; repeated int32 packed = 2 [packed = true]; repeated E e = 3; optional E oe = 4;
  optional int64 o64 = 5 [default = 7]; optional string os = 6 [default = "x"]; repeated P2 kids = 7; map<string, E> m = 8;
}
`;

function parsedType(proto: string, name: string): protobuf.Type {
  const root = protobuf.parse(proto, { keepCase: true }).root;
  root.resolveAll();
  return root.lookupType(name);
}

describe('direct encoder: random objects', () => {
  const envoyTypes = [RC, CLUSTER, LISTENER, CLA, RESOLVER_TABLE_MESSAGE, 'google.protobuf.Struct'].map((name) => ({ name, type: messageType(name), checked: true }));
  const synthetic = [
    { name: 't.All', type: parsedType(ALL_KINDS_PROTO, 't.All'), checked: false },
    { name: 'l.P2', type: parsedType(LEGACY_PROTO, 'l.P2'), checked: false },
  ];
  for (const [t, { name, type, checked }] of [...envoyTypes, ...synthetic].entries()) {
    it(`${name}: 500 random objects, same bytes as protobufjs`, () => {
      const gen = new Generator(SEED + t);
      const problems: string[] = [];
      let bytes = 0;
      for (let i = 0; i < 500; i++) {
        const obj = gen.message(type, 0, false);
        // For the Envoy types, the old path: checkShape accepts every generated object.
        const want = Buffer.from(checked ? encodeMessageWithProtobufjs(name, obj) : type.encode(type.fromObject(obj)).finish());
        bytes += want.length;
        let got: Buffer;
        try {
          got = Buffer.from(encodePlain(type, obj));
        } catch (err) {
          problems.push(`#${i}: ${err === FALLBACK ? 'fell back' : String(err)}`);
          continue;
        }
        if (!got.equals(want)) problems.push(`#${i}: ${got.length} vs ${want.length} bytes, first difference at ${firstDifference(got, want)}`);
        else if (checked && !Buffer.from(encodeMessage(name, obj)).equals(want)) problems.push(`#${i}: encodeMessage differs`);
      }
      expect(problems).toEqual([]);
      expect(bytes).toBeGreaterThan(5000);
    });
  }
});

describe('direct encoder: edges', () => {
  it('strings: a lone surrogate is written as protobufjs writes it (ED A0 80 under 40 UTF-16 units, EF BF BD from 40)', () => {
    const short = direct('google.protobuf.StringValue', { value: 'a\ud800' });
    expect([...short]).toEqual([0x0a, 4, 0x61, 0xed, 0xa0, 0x80]);
    const at39 = direct('google.protobuf.StringValue', { value: `${'a'.repeat(38)}\ud800` });
    expect([...at39.subarray(at39.length - 3)]).toEqual([0xed, 0xa0, 0x80]);
    const at40 = direct('google.protobuf.StringValue', { value: `${'a'.repeat(39)}\ud800` });
    expect([...at40.subarray(at40.length - 3)]).toEqual([0xef, 0xbf, 0xbd]);
    for (const value of ['a\ud800', `${'a'.repeat(38)}\ud800`, `${'a'.repeat(39)}\ud800`]) expectSameBytes('google.protobuf.StringValue', { value });
    expectSameBytes('google.protobuf.StringValue', { value: '\udc00\ud800😀' });
  });

  it('presence: explicit zero, empty and false are written; null and undefined are not', () => {
    expect([...direct('google.protobuf.UInt32Value', { value: 0 })]).toEqual([0x08, 0]);
    expect([...direct('google.protobuf.StringValue', { value: '' })]).toEqual([0x0a, 0]);
    expect([...direct('google.protobuf.BoolValue', { value: false })]).toEqual([0x08, 0]);
    expect([...direct('google.protobuf.BoolValue', { value: null })]).toEqual([]);
    expect([...direct('google.protobuf.BoolValue', { value: undefined })]).toEqual([]);
    expectSameBytes(CLUSTER, { name: '', connect_timeout: { seconds: 0 }, per_connection_buffer_limit_bytes: { value: 0 }, lb_policy: 0 });
  });

  it('negative int32 and enum numbers take 10 bytes; unknown enum numbers are kept', () => {
    expect(direct('google.protobuf.Int32Value', { value: -1 }).length).toBe(11);
    expectSameBytes(CLUSTER, { name: 'c', lb_policy: -3 });
    expectSameBytes(CLUSTER, { name: 'c', lb_policy: 999 });
  });

  it('objects protobufjs must encode fall back, with the same bytes', () => {
    // proto2 required fields (google.protobuf.UninterpretedOption.NamePart) are written even when absent.
    const option = { name: [{ namePart: 'a' }, { isExtension: true }], identifierValue: 'x' };
    expect(errorOf(() => direct('google.protobuf.UninterpretedOption', option))).toBe(FALLBACK);
    expect(Buffer.from(encodeMessage('google.protobuf.UninterpretedOption', option)).equals(reference('google.protobuf.UninterpretedOption', option))).toBe(true);
    // Not a plain object: fromObject reads getters on the prototype.
    class Named {
      get name(): string {
        return 'from-getter';
      }
    }
    expect(errorOf(() => direct(CLUSTER, new Named()))).toBe(FALLBACK);
    expect(Buffer.from(encodeMessage(CLUSTER, new Named())).equals(reference(CLUSTER, new Named()))).toBe(true);
    // An Any carrying "@type" as well: fromObject's Any wrapper expands it.
    const any = { ...packAny('envoy.config.core.v3.Locality', { zone: 'a' }), '@type': 'type.googleapis.com/envoy.config.core.v3.Locality', region: 'r' };
    const listener = { name: 'l', api_listener: { api_listener: any } };
    expect(errorOf(() => direct(LISTENER, listener))).toBe(FALLBACK);
    expect(Buffer.from(encodeMessage(LISTENER, listener)).equals(reference(LISTENER, listener))).toBe(true);
  });
});

describe('encodeMessage errors', () => {
  function expectSameError(typeName: string, obj: object, message: string): void {
    const err = errorOf(() => encodeMessage(typeName, obj));
    expect(err).toBeInstanceOf(MessageShapeError);
    expect(err.message).toBe(message);
    // As the old path (checkShape) words it.
    expect(errorOf(() => encodeMessageWithProtobufjs(typeName, obj)).message).toBe(message);
  }

  it('an unknown field, with its path', () => {
    const rc = { name: 'rc', virtual_hosts: [{ name: 'vh', routes: [{ match: { prefix: '/' } }, { match: { prefix: '/', bogus: 1 } }] }] };
    expectSameError(RC, rc, `${RC}.virtual_hosts[0].routes[1].match.bogus: unknown field of envoy.config.route.v3.RouteMatch`);
    expectSameError(CLUSTER, { name: 'c', typed_extension_protocol_options: { k: { type_url: 'x', value: new Uint8Array() } }, nope: true }, `${CLUSTER}.nope: unknown field of ${CLUSTER}`);
    // Several: the first in key order, as checkShape finds it (not the first by field number).
    expectSameError(CLUSTER, { name: 'c', outlier_detection: { zzz: 1 }, connect_timeout: { seconds: 1 }, eds_cluster_config: { yyy: 1 } }, `${CLUSTER}.outlier_detection.zzz: unknown field of envoy.config.cluster.v3.OutlierDetection`);
    // Inside a map of google.protobuf.Struct, checkShape checks Struct's own fields.
    expectSameError(CLUSTER, { name: 'c', metadata: { filter_metadata: { 'a.b': { fields: {}, extra: 1 } } } }, `${CLUSTER}.metadata.filter_metadata[a.b].extra: unknown field of google.protobuf.Struct`);
  });

  it('an Any not built with packAny()', () => {
    expectSameError(LISTENER, { name: 'l', api_listener: { api_listener: { '@type': 'type.googleapis.com/envoy.config.core.v3.Locality', zone: 'a' } } }, `${LISTENER}.api_listener.api_listener: Any fields must be built with packAny()`);
    expectSameError(LISTENER, { name: 'l', api_listener: { api_listener: { type_url: 'x', value: 'not bytes' } } }, `${LISTENER}.api_listener.api_listener: Any fields must be built with packAny()`);
  });

  it('a value of the wrong kind for a message field', () => {
    expectSameError(LISTENER, { name: 'l', api_listener: 'x' }, `${LISTENER}.api_listener: expected an object for envoy.config.listener.v3.ApiListener`);
    expectSameError(RC, { virtual_hosts: {} }, `${RC}.virtual_hosts: expected an array`);
  });

  it('other bad values: the error of the old path (checkShape, or protobufjs)', () => {
    for (const [typeName, obj] of [
      [RC, { virtual_hosts: [null] }],
      [CLUSTER, { name: 'c', metadata: { filter_metadata: null } }],
      [CLUSTER, { name: 'c', connect_timeout: '5s' }],
    ] as const) {
      const want = errorOf(() => encodeMessageWithProtobufjs(typeName, obj));
      const got = errorOf(() => encodeMessage(typeName, obj));
      expect(got.constructor).toBe(want.constructor);
      expect(got.message).toBe(want.message);
    }
  });

  it('an unknown enum name throws (fromObject would drop the field), naming the enum and its values', () => {
    const err = errorOf(() => encodeMessage(CLUSTER, { name: 'c', lb_policy: 'FASTEST' }));
    expect(err).toBeInstanceOf(MessageShapeError);
    expect(err.message).toMatch(/^envoy\.config\.cluster\.v3\.Cluster\.lb_policy: unknown value "FASTEST" of enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy \(one of ROUND_ROBIN, LEAST_REQUEST, .*\)$/);
    const nested = errorOf(() =>
      encodeMessage(RC, { virtual_hosts: [{ name: 'v', routes: [{ match: { prefix: '/' }, response_headers_to_add: [{ header: { key: 'k', value: 'v' }, append_action: 'SOMETIMES' }] }] }] }),
    );
    expect(nested.message).toMatch(/^envoy\.config\.route\.v3\.RouteConfiguration\.virtual_hosts\[0\]\.routes\[0\]\.response_headers_to_add\[0\]\.append_action: unknown value "SOMETIMES" of enum /);
    // A shape error elsewhere comes first, as before.
    expect(errorOf(() => encodeMessage(CLUSTER, { lb_policy: 'FASTEST', nope: 1 })).message).toBe(`${CLUSTER}.nope: unknown field of ${CLUSTER}`);
  });

  it('a bytes value that is neither bytes nor base64 throws (fromObject would drop it)', () => {
    expect(errorOf(() => encodeMessage('google.protobuf.BytesValue', { value: 5 })).message).toBe('google.protobuf.BytesValue.value: expected bytes (a Uint8Array or a base64 string), got number');
  });
});
