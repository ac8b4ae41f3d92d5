// Every PGV rule family on a small test proto (parsed with protobufjs, like the Envoy protos), so
// that rules the Envoy types Switchyard sends do not use are covered too.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { validateWithType, type Violation } from '../../src/validate/index.js';
import { packAny } from '../../src/proto/messages.js';

const PROTO = `
syntax = "proto3";
package t;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/any.proto";
import "google/protobuf/wrappers.proto";

enum Color { RED = 0; GREEN = 1; BLUE = 2; }

message Inner { string id = 1 [(validate.rules).string.min_len = 2]; }

message Disabled {
  option (validate.disabled) = true;
  string id = 1 [(validate.rules).string.min_len = 2];
}

message All {
  string s_len = 1 [(validate.rules).string = {min_len: 2, max_len: 4}];
  string s_bytes = 2 [(validate.rules).string = {min_bytes: 1, max_bytes: 3}];
  string s_pattern = 3 [(validate.rules).string.pattern = "^[a-z]+$"];
  string s_affix = 4 [(validate.rules).string = {prefix: "pre", suffix: "fix", contains: "-", not_contains: "bad"}];
  string s_in = 5 [(validate.rules).string = {in: ["a", "b"]}];
  string s_not_in = 6 [(validate.rules).string = {not_in: ["x"]}];
  string s_hostname = 7 [(validate.rules).string.hostname = true];
  string s_ip = 8 [(validate.rules).string.ip = true];
  string s_ipv4 = 9 [(validate.rules).string.ipv4 = true];
  string s_ipv6 = 10 [(validate.rules).string.ipv6 = true];
  string s_address = 11 [(validate.rules).string.address = true];
  string s_uri = 12 [(validate.rules).string.uri = true];
  string s_email = 13 [(validate.rules).string.email = true];
  string s_uuid = 14 [(validate.rules).string.uuid = true];
  string s_header_strict = 15 [(validate.rules).string.well_known_regex = HTTP_HEADER_NAME];
  string s_header_loose = 16 [(validate.rules).string = {well_known_regex: HTTP_HEADER_NAME, strict: false}];
  string s_value_strict = 17 [(validate.rules).string.well_known_regex = HTTP_HEADER_VALUE];
  string s_const = 18 [(validate.rules).string.const = "k"];
  string s_ignore_empty = 19 [(validate.rules).string = {min_len: 3, ignore_empty: true}];
  string s_runes = 20 [(validate.rules).string.max_len = 2];

  int32 i32 = 30 [(validate.rules).int32 = {gte: -5, lt: 5}];
  int64 i64 = 31 [(validate.rules).int64 = {gt: 10}];
  uint32 u32_const = 32 [(validate.rules).uint32.const = 7];
  uint64 u64_in = 33 [(validate.rules).uint64 = {in: [1, 2, 3]}];
  sint32 s32_not_in = 34 [(validate.rules).sint32 = {not_in: [0]}];
  double dbl = 35 [(validate.rules).double = {gt: 0, lte: 1}];
  float flt = 36 [(validate.rules).float = {lt: 0, gt: 1}];
  fixed32 f32 = 37 [(validate.rules).fixed32.lte = 9];
  bool must_true = 38 [(validate.rules).bool.const = true];

  Color color = 40 [(validate.rules).enum.defined_only = true];
  Color color_in = 41 [(validate.rules).enum = {in: [1, 2]}];

  repeated string tags = 50 [(validate.rules).repeated = {min_items: 1, max_items: 3, unique: true, items: {string: {min_len: 1}}}];
  repeated Inner inners = 51;
  map<string, Inner> by_key = 52 [(validate.rules).map = {min_pairs: 1, max_pairs: 2, keys: {string: {min_len: 2}}}];
  map<string, int32> counts = 53 [(validate.rules).map.values.int32.gte = 0];

  Inner required_inner = 60 [(validate.rules).message.required = true];
  Inner skipped = 61 [(validate.rules).message.skip = true];
  Disabled disabled = 62;

  google.protobuf.Duration dur = 70 [(validate.rules).duration = {required: true, gte: {seconds: 1}, lt: {seconds: 10}}];
  google.protobuf.Duration dur_const = 71 [(validate.rules).duration.const = {nanos: 500000000}];
  google.protobuf.Duration dur_in = 72 [(validate.rules).duration = {in: {seconds: 1}, in: {seconds: 2}}];
  google.protobuf.Duration dur_plain = 73;
  google.protobuf.Timestamp ts = 74 [(validate.rules).timestamp = {gt: {seconds: 1000}, lt_now: true}];

  google.protobuf.Any any = 80 [(validate.rules).any = {required: true, in: ["type.googleapis.com/envoy.config.core.v3.Locality"]}];
  google.protobuf.Any any_not = 81 [(validate.rules).any = {not_in: ["type.googleapis.com/google.protobuf.Empty"]}];
  google.protobuf.UInt32Value wrapped = 82 [(validate.rules).uint32 = {gte: 1, lte: 100}];
  google.protobuf.StringValue wrapped_s = 83 [(validate.rules).string.min_len = 1];

  bytes b = 90 [(validate.rules).bytes = {min_len: 1, max_len: 4}];
  bytes b_ip = 91 [(validate.rules).bytes.ipv4 = true];

  oneof choice {
    option (validate.required) = true;
    string a = 100 [(validate.rules).string.min_len = 3];
    Inner b_inner = 101;
  }
  optional string opt = 110 [(validate.rules).string.min_len = 3];
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
// The well-known types come from protobufjs' bundled common protos.
for (const wkt of ['duration', 'timestamp', 'any', 'wrappers', 'empty']) root.addJSON(protobuf.common.get(`google/protobuf/${wkt}.proto`)!.nested!);
root.resolveAll();
const All = root.lookupType('t.All');

/** A valid All; tests override one field at a time. */
function valid(): Record<string, unknown> {
  return {
    s_len: 'abc',
    s_bytes: 'ab',
    s_pattern: 'abc',
    s_affix: 'pre-fix',
    s_in: 'a',
    s_not_in: 'y',
    s_hostname: 'api.example.com',
    s_ip: '::1',
    s_ipv4: '10.0.0.1',
    s_ipv6: 'fe80::1',
    s_address: 'localhost',
    s_uri: 'https://example.com/x',
    s_email: 'ops@example.com',
    s_uuid: '123e4567-e89b-12d3-a456-426614174000',
    s_header_strict: 'x-routing-key',
    s_header_loose: 'Any Thing',
    s_value_strict: 'value with\ttab',
    s_const: 'k',
    s_ignore_empty: '',
    s_runes: '😀😀',
    i32: -5,
    i64: '11',
    u32_const: 7,
    u64_in: 2,
    s32_not_in: 1,
    dbl: 1,
    flt: 2,
    f32: 9,
    must_true: true,
    color: 'GREEN',
    color_in: 2,
    tags: ['a', 'b'],
    inners: [{ id: 'ok' }],
    by_key: { kk: { id: 'ok' } },
    counts: { a: 0 },
    required_inner: { id: 'ok' },
    skipped: { id: '' },
    disabled: { id: '' },
    dur: { seconds: 1 },
    dur_const: { seconds: 0, nanos: 500_000_000 },
    dur_in: { seconds: 2 },
    ts: { seconds: 2000 },
    any: packAny('envoy.config.core.v3.Locality', { zone: 'a' }),
    wrapped: { value: 100 },
    wrapped_s: { value: 'x' },
    b: new Uint8Array([1]),
    b_ip: new Uint8Array([10, 0, 0, 1]),
    a: 'abc',
  };
}

function check(overrides: Record<string, unknown>): Violation[] {
  return validateWithType(All, { ...valid(), ...overrides });
}

function rules(overrides: Record<string, unknown>): string[] {
  return check(overrides).map((v) => `${v.path} ${v.rule}`);
}

describe('PGV rule families (test proto)', () => {
  it('a valid message has no violations', () => {
    expect(check({})).toEqual([]);
  });

  it('string lengths count characters (runes) and bytes', () => {
    expect(rules({ s_len: 'a' })).toEqual(['s_len string.min_len']);
    expect(check({ s_len: 'abcde' })).toEqual([{ path: 's_len', rule: 'string.max_len', message: 'must be at most 4 characters long, got 5' }]);
    expect(rules({ s_bytes: '' })).toEqual(['s_bytes string.min_bytes']);
    expect(check({ s_bytes: 'é€' })).toEqual([{ path: 's_bytes', rule: 'string.max_bytes', message: 'must be at most 3 bytes long, got 5' }]);
    // Two astral characters are two runes (four UTF-16 units).
    expect(rules({ s_runes: '😀😀😀' })).toEqual(['s_runes string.max_len']);
  });

  it('string pattern, affixes, in, not_in, const, ignore_empty', () => {
    expect(check({ s_pattern: 'ABC' })).toEqual([{ path: 's_pattern', rule: 'string.pattern', message: 'must match the regular expression "^[a-z]+$", got "ABC"' }]);
    expect(rules({ s_affix: 'xbad' })).toEqual(['s_affix string.prefix', 's_affix string.suffix', 's_affix string.contains', 's_affix string.not_contains']);
    expect(check({ s_in: 'c' })[0]!.message).toBe('must be one of ["a", "b"], got "c"');
    expect(rules({ s_not_in: 'x' })).toEqual(['s_not_in string.not_in']);
    expect(rules({ s_const: 'j' })).toEqual(['s_const string.const']);
    expect(rules({ s_ignore_empty: 'ab' })).toEqual(['s_ignore_empty string.min_len']);
  });

  it('well-known string formats', () => {
    expect(rules({ s_hostname: '-bad.example.com' })).toEqual(['s_hostname string.hostname']);
    expect(rules({ s_hostname: 'a_b.example.com' })).toEqual(['s_hostname string.hostname']);
    expect(rules({ s_ip: '300.1.1.1' })).toEqual(['s_ip string.ip']);
    expect(rules({ s_ipv4: '::1' })).toEqual(['s_ipv4 string.ipv4']);
    expect(rules({ s_ipv6: '10.0.0.1' })).toEqual(['s_ipv6 string.ipv6']);
    expect(rules({ s_address: '10.0.0.1' })).toEqual([]);
    expect(rules({ s_address: 'not an address' })).toEqual(['s_address string.address']);
    expect(rules({ s_uri: '/relative/path' })).toEqual(['s_uri string.uri']);
    expect(rules({ s_email: 'no-at-sign' })).toEqual(['s_email string.email']);
    expect(rules({ s_email: 'a@-bad-' })).toEqual(['s_email string.email']);
    expect(rules({ s_uuid: '123' })).toEqual(['s_uuid string.uuid']);
  });

  it('HTTP header name and value regexes, strict and loose', () => {
    expect(check({ s_header_strict: 'Bad Header' })).toEqual([
      {
        path: 's_header_strict',
        rule: 'string.well_known_regex',
        message: 'must be a valid HTTP header name (an RFC 7230 token, optionally with a leading ":"), got "Bad Header"',
      },
    ]);
    expect(rules({ s_header_strict: ':authority' })).toEqual([]);
    expect(rules({ s_header_loose: 'x-a\nb' })).toEqual(['s_header_loose string.well_known_regex']);
    expect(rules({ s_value_strict: 'a\u0001' })).toEqual(['s_value_strict string.well_known_regex']);
  });

  it('numeric ranges for every numeric family, including exclusive ranges', () => {
    expect(check({ i32: 5 })).toEqual([{ path: 'i32', rule: 'int32.lt', message: 'must be in the range [-5, 5), got 5' }]);
    expect(rules({ i32: -6 })).toEqual(['i32 int32.gte']);
    expect(check({ i64: '10' })).toEqual([{ path: 'i64', rule: 'int64.gt', message: 'must be greater than 10, got 10' }]);
    expect(rules({ u32_const: 8 })).toEqual(['u32_const uint32.const']);
    expect(rules({ u64_in: '4' })).toEqual(['u64_in uint64.in']);
    expect(rules({ s32_not_in: 0 })).toEqual(['s32_not_in sint32.not_in']);
    // Unset scalar fields have their default value, and the rules apply to it (proto3).
    expect(rules({ s32_not_in: undefined })).toEqual(['s32_not_in sint32.not_in']);
    expect(rules({ dbl: 0 })).toEqual(['dbl double.gt']);
    expect(rules({ dbl: 1.5 })).toEqual(['dbl double.lte']);
    // lt < gt: the value must lie outside [lt, gt].
    expect(check({ flt: 0.5 })).toEqual([{ path: 'flt', rule: 'float.gt', message: 'must be greater than 1 or less than 0, got 0.5' }]);
    expect(rules({ flt: -1 })).toEqual([]);
    expect(rules({ f32: 10 })).toEqual(['f32 fixed32.lte']);
    expect(rules({ must_true: false })).toEqual(['must_true bool.const']);
  });

  it('enum defined_only and in, by name or number', () => {
    expect(check({ color: 'PURPLE' })).toEqual([{ path: 'color', rule: 'enum.defined_only', message: 'must be a defined value of t.Color, got "PURPLE"' }]);
    expect(rules({ color: 7 })).toEqual(['color enum.defined_only']);
    expect(check({ color_in: 'RED' })).toEqual([{ path: 'color_in', rule: 'enum.in', message: 'must be one of [GREEN (1), BLUE (2)], got RED (0)' }]);
  });

  it('repeated min_items, max_items, unique and item rules; nested messages in lists', () => {
    expect(check({ tags: [] })).toEqual([{ path: 'tags', rule: 'repeated.min_items', message: 'must have at least 1 item, got 0' }]);
    expect(rules({ tags: ['a', 'b', 'c', 'd'] })).toEqual(['tags repeated.max_items']);
    expect(check({ tags: ['a', 'b', 'a'] })).toEqual([{ path: 'tags', rule: 'repeated.unique', message: 'items must be unique: [2] repeats [0] ("a")' }]);
    expect(rules({ tags: ['a', ''] })).toEqual(['tags[1] repeated.items.string.min_len']);
    expect(rules({ inners: [{ id: 'ok' }, { id: 'x' }] })).toEqual(['inners[1].id string.min_len']);
  });

  it('map min_pairs, max_pairs, key and value rules, nested messages in maps', () => {
    expect(rules({ by_key: {} })).toEqual(['by_key map.min_pairs']);
    expect(rules({ by_key: { aa: { id: 'ok' }, bb: { id: 'ok' }, cc: { id: 'ok' } } })).toEqual(['by_key map.max_pairs']);
    expect(rules({ by_key: { k: { id: 'ok' } } })).toEqual(['by_key["k"] map.keys.string.min_len']);
    expect(rules({ by_key: { kk: { id: 'x' } } })).toEqual(['by_key["kk"].id string.min_len']);
    expect(rules({ counts: { a: -1 } })).toEqual(['counts["a"] map.values.int32.gte']);
  });

  it('message required, skip and disabled', () => {
    expect(check({ required_inner: undefined })).toEqual([{ path: 'required_inner', rule: 'message.required', message: 'is required' }]);
    expect(rules({ required_inner: { id: 'x' } })).toEqual(['required_inner.id string.min_len']);
    expect(rules({ skipped: { id: '' }, disabled: { id: '' } })).toEqual([]);
  });

  it('required oneofs, one member at most, member rules only when set; proto3 optional', () => {
    expect(check({ a: undefined })).toEqual([{ path: 'choice', rule: 'oneof.required', message: 'one of a, b_inner is required' }]);
    expect(rules({ a: 'ab' })).toEqual(['a string.min_len']);
    expect(rules({ a: undefined, b_inner: { id: 'x' } })).toEqual(['b_inner.id string.min_len']);
    expect(rules({ b_inner: { id: 'ok' } })).toEqual(['choice oneof.single']);
    expect(rules({ opt: undefined })).toEqual([]);
    expect(rules({ opt: 'ab' })).toEqual(['opt string.min_len']);
  });

  it('Duration required, range, const and in; Envoy rejects negative durations anywhere', () => {
    expect(check({ dur: undefined })).toEqual([{ path: 'dur', rule: 'duration.required', message: 'is required' }]);
    expect(check({ dur: { nanos: 999_999_999 } })).toEqual([{ path: 'dur', rule: 'duration.gte', message: 'must be in the range [1s, 10s), got 0.999999999s' }]);
    expect(rules({ dur: { seconds: '10' } })).toEqual(['dur duration.lt']);
    expect(check({ dur_const: { seconds: 1 } })).toEqual([{ path: 'dur_const', rule: 'duration.const', message: 'must equal 0.5s, got 1s' }]);
    expect(rules({ dur_in: { seconds: 3 } })).toEqual(['dur_in duration.in']);
    expect(check({ dur_plain: { seconds: -1 } })).toEqual([
      { path: 'dur_plain', rule: 'envoy.duration', message: 'must not be negative (Envoy rejects negative durations), got -1s' },
    ]);
  });

  it('Timestamp range and lt_now', () => {
    expect(rules({ ts: { seconds: 1000 } })).toEqual(['ts timestamp.gt']);
    expect(rules({ ts: { seconds: Math.floor(Date.now() / 1000) + 3600 } })).toEqual(['ts timestamp.lt_now']);
  });

  it('Any required, in, not_in; contents validated; unknown and undecodable types reported', () => {
    expect(rules({ any: undefined })).toEqual(['any any.required']);
    expect(check({ any: packAny('envoy.config.core.v3.Node', {}) })).toEqual([
      {
        path: 'any',
        rule: 'any.in',
        message: 'type must be one of ["type.googleapis.com/envoy.config.core.v3.Locality"], got "type.googleapis.com/envoy.config.core.v3.Node"',
      },
    ]);
    expect(rules({ any_not: packAny('google.protobuf.Empty', {}) })).toEqual(['any_not any.not_in']);
    expect(check({ any_not: { type_url: 'type.googleapis.com/acme.Unknown', value: new Uint8Array() } })).toEqual([
      { path: 'any_not', rule: 'any.type', message: 'packs acme.Unknown, a type Switchyard has not loaded, so its contents cannot be validated' },
    ]);
    expect(rules({ any_not: { type_url: 'type.googleapis.com/envoy.config.core.v3.Locality', value: new Uint8Array([0xff, 0xff]) } })).toEqual(['any_not any.decode']);
    // The "@type" shape of decodeMessage() output is read as well.
    expect(rules({ any: { '@type': 'type.googleapis.com/envoy.config.core.v3.Locality', zone: 'a' } })).toEqual([]);
  });

  it('wrapper types: the rules apply to .value; an unset wrapper is not checked', () => {
    expect(check({ wrapped: { value: 0 } })).toEqual([{ path: 'wrapped', rule: 'uint32.gte', message: 'must be in the range [1, 100], got 0' }]);
    // decodeMessage() drops a zero value: {} is a wrapper holding 0.
    expect(rules({ wrapped: {} })).toEqual(['wrapped uint32.gte']);
    expect(rules({ wrapped: undefined })).toEqual([]);
    expect(rules({ wrapped_s: { value: '' } })).toEqual(['wrapped_s string.min_len']);
  });

  it('bytes lengths and IP lengths, as bytes or base64', () => {
    expect(rules({ b: new Uint8Array() })).toEqual(['b bytes.min_len']);
    expect(rules({ b: Buffer.from([1, 2, 3, 4, 5]).toString('base64') })).toEqual(['b bytes.max_len']);
    expect(rules({ b_ip: new Uint8Array([1, 2, 3]) })).toEqual(['b_ip bytes.ipv4']);
  });
});
