// Deliberately invalid Envoy resources, built with the builders or by hand, each caught by the PGV
// rules of the Envoy protos (or Envoy's own checks) with a precise path, rule and message.
import { describe, expect, it } from 'vitest';
import {
  buildApiListener,
  buildEdsCluster,
  buildLoadAssignment,
  buildRouteConfiguration,
  HTTP_PROTOCOL_OPTIONS_TYPE,
  type RouteInput,
} from '../../src/proto/builders.js';
import { decodeMessage, encodeMessage, packAny } from '../../src/proto/messages.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { validateMessage, validateSnapshotInput, type Violation } from '../../src/validate/index.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTES = 'envoy.config.route.v3.RouteConfiguration';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const LISTENER = 'envoy.config.listener.v3.Listener';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function routes(route: Partial<RouteInput> = {}, vh: { name?: string; domains?: string[] } = {}): Obj {
  return buildRouteConfiguration({
    name: 'model-serving',
    virtualHosts: [{ name: vh.name ?? 'all', domains: vh.domains ?? ['*'], routes: [{ name: 'r0', cluster: 'shard-a', ...route }] }],
  }) as Obj;
}

function short(vs: Violation[]): string[] {
  return vs.map((v) => `${v.path} ${v.rule}`);
}

/** Both shapes give the same violations: builder objects and decodeMessage() output. */
function bothShapes(typeName: string, message: object): Violation[] {
  const direct = validateMessage(typeName, message);
  const decoded = validateMessage(typeName, decodeMessage(typeName, encodeMessage(typeName, message)));
  expect(decoded).toEqual(direct);
  return direct;
}

describe('Envoy resources: valid ones pass', () => {
  it('builder resources with every option Switchyard uses have no violations', () => {
    const cluster = buildEdsCluster({
      name: 'shard-a',
      lbPolicy: 'RING_HASH',
      circuitBreakers: { maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4 },
      outlierDetection: { consecutive5xx: 5, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
    });
    expect(bothShapes(CLUSTER, cluster)).toEqual([]);
    const rc = routes({
      headers: [{ name: 'x-routing-key', exact: 'o/m' }, { name: 'x-objective', prefix: 'o' }, { name: 'x-test', present: true }],
      weightedClusters: [{ cluster: 'shard-a', weight: 90 }, { cluster: 'shard-b', weight: 10 }],
      cluster: undefined,
      timeoutMs: 250,
      retry: { numRetries: 2, perTryTimeoutMs: 100 },
      mirrors: [{ cluster: 'shard-c', percent: 12.5 }],
      responseHeaders: { 'x-switchyard-model': 'm' },
    });
    expect(bothShapes(ROUTES, rc)).toEqual([]);
    const cla = buildLoadAssignment({ clusterName: 'shard-a', localities: [{ region: 'r', zone: 'z', weight: 1, endpoints: [{ address: '10.0.0.1', port: 8080 }] }] });
    expect(bothShapes(CLA, cla)).toEqual([]);
    expect(bothShapes(LISTENER, buildApiListener({ name: 'model-serving', routeConfigName: 'model-serving' }))).toEqual([]);
  });
});

describe('Envoy resources: each invalid one is caught', () => {
  it('Cluster connect_timeout of 0 or negative (duration.gt)', () => {
    expect(bothShapes(CLUSTER, buildEdsCluster({ name: 'shard-a', connectTimeoutMs: 0 }))).toEqual([
      { path: 'connect_timeout', rule: 'duration.gt', message: 'must be greater than 0s, got 0s' },
    ]);
    const negative = { ...buildEdsCluster({ name: 'shard-a' }), connect_timeout: { seconds: -1, nanos: -500_000_000 } };
    expect(bothShapes(CLUSTER, negative)).toEqual([{ path: 'connect_timeout', rule: 'duration.gt', message: 'must be greater than 0s, got -1.5s' }]);
  });

  it('Cluster with an empty name (string.min_len) and an undefined lb_policy (enum.defined_only)', () => {
    const c = { ...buildEdsCluster({ name: '' }), lb_policy: 42 };
    expect(bothShapes(CLUSTER, c)).toEqual([
      { path: 'name', rule: 'string.min_len', message: 'must not be empty' },
      { path: 'lb_policy', rule: 'enum.defined_only', message: 'must be a defined value of envoy.config.cluster.v3.Cluster.LbPolicy, got 42' },
    ]);
    // A misspelt enum name in a builder object (protobufjs would encode it as 0, silently).
    expect(short(validateMessage(CLUSTER, { ...buildEdsCluster({ name: 'a' }), lb_policy: 'ROUND_ROBBIN' }))).toEqual(['lb_policy enum.defined_only']);
  });

  it('Cluster outlier detection percent above 100 (uint32.lte on a UInt32Value)', () => {
    const c = buildEdsCluster({ name: 'shard-a', outlierDetection: { maxEjectionPercent: 150 } });
    expect(bothShapes(CLUSTER, c)).toEqual([
      { path: 'outlier_detection.max_ejection_percent', rule: 'uint32.lte', message: 'must be less than or equal to 100, got 150' },
    ]);
  });

  it('an invalid header name inside a packed Any (strict HTTP_HEADER_NAME in HttpProtocolOptions)', () => {
    const c = buildEdsCluster({ name: 'shard-a' }) as Obj;
    c.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_TYPE]: packAny(HTTP_PROTOCOL_OPTIONS_TYPE, {
        explicit_http_config: { http2_protocol_options: {} },
        upstream_http_protocol_options: { auto_sni: true, override_auto_sni_header: 'bad header' },
      }),
    };
    expect(bothShapes(CLUSTER, c)).toEqual([
      {
        path: `typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS_TYPE}"].upstream_http_protocol_options.override_auto_sni_header`,
        rule: 'string.well_known_regex',
        message: 'must be a valid HTTP header name (an RFC 7230 token, optionally with a leading ":"), got "bad header"',
      },
    ]);
  });

  it('metadata with an empty key (map.keys.string.min_len)', () => {
    const c = { ...buildEdsCluster({ name: 'shard-a' }), metadata: { filter_metadata: { '': { fields: {} } } } };
    expect(short(validateMessage(CLUSTER, c))).toEqual(['metadata.filter_metadata[""] map.keys.string.min_len']);
  });

  it('RouteConfiguration: empty virtual host name, no domains (string.min_len, repeated.min_items)', () => {
    expect(bothShapes(ROUTES, routes({}, { name: '', domains: [] }))).toEqual([
      { path: 'virtual_hosts[0].name', rule: 'string.min_len', message: 'must not be empty' },
      { path: 'virtual_hosts[0].domains', rule: 'repeated.min_items', message: 'must have at least 1 item, got 0' },
    ]);
  });

  it('route with an empty cluster name, or weighted clusters totalling 0 or naming no cluster', () => {
    const empty = routes();
    empty.virtual_hosts[0].routes[0].route.cluster = '';
    expect(bothShapes(ROUTES, empty)).toEqual([
      { path: 'virtual_hosts[0].routes[0].route.cluster', rule: 'string.min_len', message: 'must not be empty' },
    ]);
    const weighted = routes({ cluster: undefined, weightedClusters: [{ cluster: 'shard-a', weight: 0 }, { cluster: '', weight: 0 }] });
    expect(bothShapes(ROUTES, weighted)).toEqual([
      {
        path: 'virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name',
        rule: 'envoy.weighted_clusters.name',
        message: 'must not be empty (or set cluster_header): a weighted cluster must name a cluster',
      },
      {
        path: 'virtual_hosts[0].routes[0].route.weighted_clusters.clusters',
        rule: 'envoy.weighted_clusters.total_weight',
        message: 'weights must add up to more than 0, got 0',
      },
    ]);
  });

  it('route without a match (message.required) and an action without a cluster (oneof.required)', () => {
    const rc = routes();
    delete rc.virtual_hosts[0].routes[0].match;
    rc.virtual_hosts[0].routes[0].route = { timeout: { seconds: 1 } };
    expect(bothShapes(ROUTES, rc)).toEqual([
      { path: 'virtual_hosts[0].routes[0].match', rule: 'message.required', message: 'is required' },
      {
        path: 'virtual_hosts[0].routes[0].route.cluster_specifier',
        rule: 'oneof.required',
        message: 'one of cluster, cluster_header, weighted_clusters, cluster_specifier_plugin, inline_cluster_specifier_plugin is required',
      },
    ]);
  });

  it('a builder object setting two members of one oneof (oneof.single)', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].route.weighted_clusters = { clusters: [{ name: 'shard-b', weight: { value: 1 } }] };
    expect(short(validateMessage(ROUTES, rc))).toEqual(['virtual_hosts[0].routes[0].route.cluster_specifier oneof.single']);
  });

  it('route header matcher with a CR/LF in its name (HTTP_HEADER_NAME, loose) and a bad response header value', () => {
    const rc = routes({ headers: [{ name: 'x-a\r\nb', exact: 'v' }], responseHeaders: { 'x-model': 'm\n' } });
    expect(short(bothShapes(ROUTES, rc))).toEqual([
      'virtual_hosts[0].routes[0].match.headers[0].name string.well_known_regex',
      'virtual_hosts[0].routes[0].response_headers_to_add[0].header.value string.well_known_regex',
    ]);
  });

  it('a path_separated_prefix ending in "/" (string.pattern, RE2)', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].match = { path_separated_prefix: '/svc/' };
    expect(bothShapes(ROUTES, rc)).toEqual([
      {
        path: 'virtual_hosts[0].routes[0].match.path_separated_prefix',
        rule: 'string.pattern',
        message: 'must match the regular expression "^[^?#]+[^?#/]$", got "/svc/"',
      },
    ]);
  });

  it('a negative route timeout (Envoy rejects negative durations) and a direct response status out of range', () => {
    const rc = routes({ timeoutMs: -5 });
    expect(bothShapes(ROUTES, rc)).toEqual([
      { path: 'virtual_hosts[0].routes[0].route.timeout', rule: 'envoy.duration', message: 'must not be negative (Envoy rejects negative durations), got -0.005s' },
    ]);
    const direct = routes();
    delete direct.virtual_hosts[0].routes[0].route;
    direct.virtual_hosts[0].routes[0].direct_response = { status: 700 };
    expect(bothShapes(ROUTES, direct)).toEqual([
      { path: 'virtual_hosts[0].routes[0].direct_response.status', rule: 'uint32.lt', message: 'must be in the range [200, 600), got 700' },
    ]);
  });

  it('ClusterLoadAssignment with port_value 70000, a zero locality weight and an empty address', () => {
    const cla = buildLoadAssignment({ clusterName: 'shard-a', localities: [{ weight: 0, endpoints: [{ address: '', port: 70000 }] }] });
    expect(bothShapes(CLA, cla)).toEqual([
      { path: 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address', rule: 'string.min_len', message: 'must not be empty' },
      {
        path: 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
        rule: 'uint32.lte',
        message: 'must be less than or equal to 65535, got 70000',
      },
      { path: 'endpoints[0].load_balancing_weight', rule: 'uint32.gte', message: 'must be greater than or equal to 1, got 0' },
    ]);
    expect(short(validateMessage(CLA, { endpoints: [] }))).toEqual(['cluster_name string.min_len']);
  });

  it('HttpConnectionManager with an empty stat_prefix, inside the api_listener Any', () => {
    expect(bothShapes(LISTENER, buildApiListener({ name: 'model-serving', routeConfigName: 'model-serving', statPrefix: '' }))).toEqual([
      { path: 'api_listener.api_listener.stat_prefix', rule: 'string.min_len', message: 'must not be empty' },
    ]);
  });

  it('a Listener with neither api_listener nor address', () => {
    expect(bothShapes(LISTENER, { name: 'model-serving' })).toEqual([
      {
        path: 'api_listener',
        rule: 'envoy.listener.address',
        message: 'must be set, or address for an Envoy listener (listener "model-serving" has neither)',
      },
    ]);
  });

  it('an Any of a type Switchyard has not loaded, and a resource of an unknown type', () => {
    const l = { name: 'l', api_listener: { api_listener: { type_url: 'type.googleapis.com/acme.v1.Thing', value: new Uint8Array([8, 1]) } } };
    expect(validateMessage(LISTENER, l)).toEqual([
      { path: 'api_listener.api_listener', rule: 'any.type', message: 'packs acme.v1.Thing, a type Switchyard has not loaded, so its contents cannot be validated' },
    ]);
    expect(short(validateMessage('acme.v1.Thing', {}))).toEqual([' type.unknown']);
  });
});

describe('validateSnapshotInput messages', () => {
  it('names the resource, the path and the rule, with a stable code', () => {
    const input = {
      [TypeUrl.Cluster]: [buildEdsCluster({ name: 'shard-a', connectTimeoutMs: 0 })],
      [TypeUrl.ClusterLoadAssignment]: [buildLoadAssignment({ clusterName: 'shard-a', localities: [{ weight: 1, endpoints: [{ address: '10.0.0.1', port: 70000 }] }] })],
    };
    expect(validateSnapshotInput(input)).toEqual([
      {
        typeUrl: TypeUrl.Cluster,
        name: 'shard-a',
        path: 'connect_timeout',
        rule: 'duration.gt',
        message: 'Cluster "shard-a": connect_timeout: must be greater than 0s, got 0s (duration.gt)',
        detail: 'must be greater than 0s, got 0s',
        code: 'VALIDATE_SCHEMA',
      },
      {
        typeUrl: TypeUrl.ClusterLoadAssignment,
        name: 'shard-a',
        path: 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
        rule: 'uint32.lte',
        message:
          'ClusterLoadAssignment "shard-a": endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be less than or equal to 65535, got 70000 (uint32.lte)',
        detail: 'must be less than or equal to 65535, got 70000',
        code: 'VALIDATE_SCHEMA',
      },
    ]);
  });
});
