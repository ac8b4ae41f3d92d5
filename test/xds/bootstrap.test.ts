// The shipped Envoy bootstraps (envoy-bootstrap.yaml, envoy-bootstrap-tls.yaml) are valid
// envoy.config.bootstrap.v3.Bootstrap messages: every field exists in the Envoy protos (a strict
// converter: an unknown field, a wrong enum name, a malformed duration or an Any of an unknown type
// is an error, as Envoy's own YAML loader would reject it), the result encodes, and it passes the
// protoc-gen-validate rules Envoy checks at start. Then the settings Switchyard relies on are
// checked one by one. No Envoy binary is needed; the container suite (test/envoy/) runs the real one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { envoyRoot } from '../../src/proto/envoy-root.js';
import { validateWithType } from '../../src/validate/index.js';
import { DEFAULT_LISTENER_NAME } from '../../src/compile/constants.js';
import { DEFAULT_ADS_PORT } from '../../src/xds/server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
/** Protos the bootstraps need beyond what Switchyard loads for its own resources. */
const EXTRA_PROTOS = ['envoy/config/bootstrap/v3/bootstrap.proto', 'envoy/extensions/transport_sockets/tls/v3/tls.proto'];

type Json = Record<string, unknown>;

class ShapeError extends Error {}

// ---- a strict YAML/JSON -> protobufjs object converter (proto3 JSON mapping, as Envoy reads YAML)

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const WRAPPERS: Record<string, string> = {
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

const lowerCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(at: string, message: string): never {
  throw new ShapeError(`${at || '<root>'}: ${message}`);
}

function scalar(kind: string, v: unknown, at: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') fail(at, `expected a string, got ${JSON.stringify(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(at, `expected true or false, got ${JSON.stringify(v)}`);
      return v;
    case 'bytes':
      if (typeof v !== 'string') fail(at, 'expected base64 bytes');
      return Buffer.from(v, 'base64');
    case 'double':
    case 'float':
      if (typeof v !== 'number') fail(at, `expected a number, got ${JSON.stringify(v)}`);
      return v;
    default: {
      // Integers; 64-bit ones may be strings in the JSON mapping.
      const is64 = kind.endsWith('64');
      const n = typeof v === 'string' && is64 && /^-?\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) fail(at, `expected an integer (${kind}), got ${JSON.stringify(v)}`);
      if (kind.startsWith('u') || kind === 'fixed32' || kind === 'fixed64') if (n < 0) fail(at, `expected an unsigned integer, got ${n}`);
      return v;
    }
  }
}

function structValue(v: unknown, at: string): Json {
  if (v === null) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map((x, i) => structValue(x, `${at}[${i}]`)) } };
  if (isPlainObject(v)) return { struct_value: struct(v, at) };
  return fail(at, `not a JSON value: ${String(v)}`);
}

function struct(v: Json, at: string): Json {
  return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structValue(x, `${at}.${k}`)])) };
}

function fieldValue(field: protobuf.Field, v: unknown, at: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in rt.values) return v;
    if (typeof v === 'number' && Object.values(rt.values).includes(v)) return v;
    return fail(at, `${JSON.stringify(v)} is not a value of ${rt.fullName} (${Object.keys(rt.values).join(', ')})`);
  }
  if (rt instanceof protobuf.Type) return message(rt, v, at);
  return scalar(field.type, v, at);
}

/** Converts one message; returns the protobufjs object form (Any packed as {type_url, value}). */
function message(type: protobuf.Type, v: unknown, at: string): unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') {
    const m = typeof v === 'string' ? DURATION.exec(v) : null;
    if (!m) fail(at, `expected a duration like "1.5s", got ${JSON.stringify(v)}`);
    const sign = m[1] ? -1 : 1;
    return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
  }
  if (name in WRAPPERS) return { value: scalar(WRAPPERS[name]!, v, at) };
  if (name === '.google.protobuf.Struct') {
    if (!isPlainObject(v)) fail(at, 'expected a mapping (Struct)');
    return struct(v, at);
  }
  if (name === '.google.protobuf.Value') return structValue(v, at);
  if (!isPlainObject(v)) return fail(at, `expected a mapping for ${name.slice(1)}, got ${JSON.stringify(v)}`);
  if (name === '.google.protobuf.Any') {
    const { '@type': url, ...rest } = v;
    if (typeof url !== 'string') fail(at, 'an Any (typed_config) needs "@type"');
    if (!url.startsWith('type.googleapis.com/')) fail(`${at}.@type`, `expected type.googleapis.com/<type>, got ${url}`);
    let inner: protobuf.Type;
    try {
      inner = envoyRoot().lookupType(url.slice('type.googleapis.com/'.length));
    } catch {
      return fail(`${at}.@type`, `${url} is not a message type of the Envoy protos`);
    }
    const obj = message(inner, rest, `${at}<${inner.name}>`);
    return { type_url: url, value: inner.encode(inner.fromObject(obj as Json)).finish() };
  }
  const out: Json = {};
  const oneofs = new Map<string, string>();
  for (const [key, raw] of Object.entries(v)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => lowerCamel(f.name) === key);
    const here = at ? `${at}.${key}` : key;
    if (!field) fail(here, `unknown field of ${name.slice(1)} (fields: ${type.fieldsArray.map((f) => f.name).join(', ')})`);
    if (field.name in out) fail(here, `${field.name} is given twice (as ${field.name} and ${lowerCamel(field.name)})`);
    if (field.partOf && field.partOf.oneof.length > 1) {
      const other = oneofs.get(field.partOf.name);
      if (other) fail(here, `${field.name} and ${other} are members of one oneof (${field.partOf.name}); set one`);
      oneofs.set(field.partOf.name, field.name);
    }
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(raw)) fail(here, 'expected a mapping (map field)');
      out[field.name] = Object.fromEntries(Object.entries(raw).map(([k, x]) => [k, fieldValue(field, x, `${here}[${k}]`)]));
    } else if (field.repeated) {
      if (!Array.isArray(raw)) fail(here, 'expected a list (repeated field)');
      out[field.name] = raw.map((x, i) => fieldValue(field, x, `${here}[${i}]`));
    } else {
      out[field.name] = fieldValue(field, raw, here);
    }
  }
  return out;
}

function bootstrapType(): protobuf.Type {
  return envoyRoot().lookupType(BOOTSTRAP);
}

/** Parses YAML text and converts it strictly; returns the protobufjs object and the encoded bytes. */
function convert(value: unknown): { object: Json; bytes: Uint8Array } {
  const type = bootstrapType();
  const object = message(type, value, '') as Json;
  const bytes = type.encode(type.fromObject(object)).finish();
  return { object, bytes };
}

function readYaml(file: string): Json {
  return parse(readFileSync(path.join(repo, file), 'utf8'), { uniqueKeys: true, strict: true }) as Json;
}

// ---- navigation helpers for the semantic checks

const at = (o: unknown, ...keys: Array<string | number>): unknown => keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], o);

function adsCluster(b: Json): Json {
  const clusters = at(b, 'static_resources', 'clusters') as Json[];
  const c = clusters.find((x) => x.name === 'switchyard_ads');
  if (!c) throw new Error('no switchyard_ads cluster');
  return c;
}

beforeAll(() => {
  const root = envoyRoot();
  root.loadSync(EXTRA_PROTOS, { keepCase: true });
  root.resolveAll();
});

describe('Envoy bootstraps', () => {
  for (const file of ['envoy-bootstrap.yaml', 'envoy-bootstrap-tls.yaml']) {
    it(`${file} is a valid v3 Bootstrap (strict field names, known Any types, PGV rules)`, () => {
      const { object, bytes } = convert(readYaml(file));
      expect(bytes.length).toBeGreaterThan(100);
      const decoded = bootstrapType().toObject(bootstrapType().decode(bytes), { enums: String });
      expect(at(decoded, 'dynamic_resources', 'ads_config', 'api_type')).toBe('GRPC');
      expect(validateWithType(bootstrapType(), object)).toEqual([]);
    });
  }

  it('the converter is strict: typos, wrong enums, bad durations, unknown Any types and double oneofs are errors', () => {
    const base = readYaml('envoy-bootstrap.yaml');
    const mutate = (edit: (b: Json) => void): (() => unknown) => {
      const b = structuredClone(base);
      edit(b);
      return () => convert(b);
    };
    const hcm = (b: Json): Json => at(b, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config') as Json;
    expect(mutate(() => undefined)).not.toThrow();
    expect(
      mutate((b) => {
        const rds = hcm(b).rds as Json;
        rds.route_config_nam = rds.route_config_name;
        delete rds.route_config_name;
      }),
    ).toThrow(/static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config<HttpConnectionManager>\.rds\.route_config_nam: unknown field/);
    expect(mutate((b) => ((at(b, 'dynamic_resources', 'ads_config') as Json).api_type = 'GPRC'))).toThrow(/"GPRC" is not a value of .*ApiType/);
    expect(mutate((b) => (adsCluster(b).connect_timeout = '1'))).toThrow(/connect_timeout: expected a duration/);
    expect(mutate((b) => ((hcm(b) as Json)['@type'] = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManagr'))).toThrow(/is not a message type/);
    expect(mutate((b) => (hcm(b).route_config = { name: 'inline' }))).toThrow(/one oneof/);
    expect(mutate((b) => ((at(b, 'admin', 'address', 'socket_address') as Json).port_value = -1))).toThrow(/unsigned/);
    // camelCase JSON names are accepted, as Envoy accepts them, but not both spellings at once.
    expect(mutate((b) => ((at(b, 'admin', 'address', 'socket_address') as Json).portValue = 9902))).toThrow(/port_value is given twice/);
    expect(mutate((b) => (adsCluster(b).connectTimeout = '2s'))).toThrow(/connect_timeout is given twice/);
    expect(
      mutate((b) => {
        const address = at(b, 'admin', 'address', 'socket_address') as Json;
        address.portValue = address.port_value;
        delete address.port_value;
      }),
    ).not.toThrow();
  });

  it('PGV rules apply inside typed_config and static clusters (what Envoy refuses at start)', () => {
    const b = readYaml('envoy-bootstrap.yaml');
    (at(b, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config') as Json).stat_prefix = '';
    adsCluster(b).connect_timeout = '0s';
    const violations = validateWithType(bootstrapType(), convert(b).object);
    expect(violations.map((v) => v.path).sort()).toEqual([
      expect.stringMatching(/static_resources\.clusters\[0\]\.connect_timeout$/),
      expect.stringMatching(/stat_prefix$/),
    ]);
  });

  it('serves Switchyard: RDS model-serving over ADS on :10000, CDS over ADS, HTTP/2 ADS cluster on the default port', () => {
    const b = readYaml('envoy-bootstrap.yaml');
    const ads = at(b, 'dynamic_resources', 'ads_config') as Json;
    expect(ads).toMatchObject({ api_type: 'GRPC', transport_api_version: 'V3', set_node_on_first_message_only: true });
    expect(at(ads, 'grpc_services', 0, 'envoy_grpc', 'cluster_name')).toBe('switchyard_ads');
    expect(at(ads, 'grpc_services', 0, 'envoy_grpc', 'retry_policy', 'retry_back_off')).toMatchObject({ base_interval: expect.any(String), max_interval: expect.any(String) });
    expect(at(b, 'dynamic_resources', 'cds_config')).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(at(b, 'dynamic_resources', 'lds_config')).toBeUndefined();

    const listeners = at(b, 'static_resources', 'listeners') as Json[];
    expect(listeners).toHaveLength(1);
    expect(at(listeners[0], 'address', 'socket_address', 'port_value')).toBe(10000);
    const hcm = at(listeners[0], 'filter_chains', 0, 'filters', 0, 'typed_config') as Json;
    expect(hcm.codec_type).toBe('AUTO');
    expect(hcm.rds).toEqual({ route_config_name: DEFAULT_LISTENER_NAME, config_source: { ads: {}, resource_api_version: 'V3' } });
    const filters = hcm.http_filters as Json[];
    expect(filters.at(-1)?.name).toBe('envoy.filters.http.router');

    const cluster = adsCluster(b);
    expect(at(cluster, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address')).toEqual({ address: '127.0.0.1', port_value: DEFAULT_ADS_PORT });
    expect(at(cluster, 'typed_extension_protocol_options', 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions', 'explicit_http_config', 'http2_protocol_options')).toBeDefined();
    expect(cluster.connect_timeout).toBeDefined();
    expect(at(cluster, 'upstream_connection_options', 'tcp_keepalive')).toBeDefined();
    expect(at(b, 'admin', 'address', 'socket_address')).toEqual({ address: '127.0.0.1', port_value: 9901 });
  });

  it('the TLS bootstrap is the plain one plus an UpstreamTlsContext (CA, SAN check, SNI, h2, client certificate)', () => {
    const plain = readYaml('envoy-bootstrap.yaml');
    const withTls = readYaml('envoy-bootstrap-tls.yaml');
    const socket = adsCluster(withTls).transport_socket as Json;
    expect(socket).toBeDefined();
    const stripped = structuredClone(withTls);
    delete adsCluster(stripped).transport_socket;
    expect(stripped).toEqual(plain);

    const ctx = socket.typed_config as Json;
    expect(ctx['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    expect(ctx.sni).toEqual(expect.any(String));
    expect(at(ctx, 'common_tls_context', 'alpn_protocols')).toEqual(['h2']);
    expect(at(ctx, 'common_tls_context', 'validation_context', 'trusted_ca', 'filename')).toEqual(expect.any(String));
    expect(at(ctx, 'common_tls_context', 'validation_context', 'match_typed_subject_alt_names', 0)).toEqual({ san_type: 'DNS', matcher: { exact: ctx.sni } });
    expect(at(ctx, 'common_tls_context', 'tls_certificates', 0)).toMatchObject({ certificate_chain: { filename: expect.any(String) }, private_key: { filename: expect.any(String) } });
  });

  it('the delta variant (api_type DELTA_GRPC) is valid too', () => {
    const b = readYaml('envoy-bootstrap.yaml');
    (at(b, 'dynamic_resources', 'ads_config') as Json).api_type = 'DELTA_GRPC';
    const { object } = convert(b);
    expect(validateWithType(bootstrapType(), object)).toEqual([]);
  });
});
