// Proxyless gRPC limits: resources Envoy accepts but @grpc/grpc-js-xds NACKs or ignores, checked on
// what a proxyless listener uses (its routes, the clusters they name, their endpoints).
import { describe, expect, it } from 'vitest';
import { buildApiListener, buildEdsCluster, buildLoadAssignment, buildRouteConfiguration, type RouteInput } from '../../src/proto/builders.js';
import { decodeMessage, encodeMessage } from '../../src/proto/messages.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { checkProxylessLimits, validateSnapshotInput, type Violation } from '../../src/validate/index.js';

/** A cluster with lb_policy LEAST_REQUEST and no load_balancing_policy (the builder never emits
 * this; grpc-js-xds NACKs it). */
function bareLeastRequest(name: string): object {
  return { ...buildEdsCluster({ name }), lb_policy: 'LEAST_REQUEST' };
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function routes(route: Partial<RouteInput> = {}, name = 'model-serving'): Obj {
  return buildRouteConfiguration({ name, virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'r0', cluster: 'shard-a', ...route }] }] }) as Obj;
}

function short(vs: Violation[]): string[] {
  return vs.map((v) => `${v.path} ${v.rule}`);
}

/** Same result on builder objects and on decodeMessage() output. */
function limits(typeUrl: string, message: object): Violation[] {
  const typeName = typeUrl.replace('type.googleapis.com/', '');
  const direct = checkProxylessLimits(typeUrl, message);
  expect(checkProxylessLimits(typeUrl, decodeMessage(typeName, encodeMessage(typeName, message)))).toEqual(direct);
  return direct;
}

function input(overrides: { rc?: Obj; clusters?: object[]; clas?: object[]; listeners?: object[] } = {}): Record<string, object[]> {
  return {
    [TypeUrl.Cluster]: overrides.clusters ?? [buildEdsCluster({ name: 'shard-a' })],
    [TypeUrl.ClusterLoadAssignment]: overrides.clas ?? [
      buildLoadAssignment({ clusterName: 'shard-a', localities: [{ zone: 'z', weight: 1, endpoints: [{ address: '10.0.0.1', port: 8080 }] }] }),
    ],
    [TypeUrl.Listener]: overrides.listeners ?? [buildApiListener({ name: 'model-serving', routeConfigName: 'model-serving' })],
    [TypeUrl.RouteConfiguration]: [overrides.rc ?? routes()],
  };
}

describe('proxyless limits', () => {
  it('valid builder resources pass', () => {
    expect(validateSnapshotInput(input())).toEqual([]);
  });

  it('header matcher contains_match is NACKed', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].match.headers = [{ name: 'x-routing-key', contains_match: 'abc' }];
    expect(limits(TypeUrl.RouteConfiguration, rc)).toEqual([
      {
        path: 'virtual_hosts[0].routes[0].match.headers[0].contains_match',
        rule: 'proxyless.header_contains_match',
        message: 'is NACKed by grpc-js-xds (an unsupported header_match_specifier); use string_match {contains} instead',
      },
    ]);
    // string_match.contains is supported.
    rc.virtual_hosts[0].routes[0].match.headers = [{ name: 'x-routing-key', string_match: { contains: 'abc' } }];
    expect(limits(TypeUrl.RouteConfiguration, rc)).toEqual([]);
  });

  it('redirect and direct_response actions are NACKed', () => {
    const rc = routes();
    delete rc.virtual_hosts[0].routes[0].route;
    rc.virtual_hosts[0].routes[0].redirect = { host_redirect: 'example.com' };
    expect(short(limits(TypeUrl.RouteConfiguration, rc))).toEqual(['virtual_hosts[0].routes[0].redirect proxyless.redirect']);
    delete rc.virtual_hosts[0].routes[0].redirect;
    rc.virtual_hosts[0].routes[0].direct_response = { status: 503 };
    expect(short(limits(TypeUrl.RouteConfiguration, rc))).toEqual(['virtual_hosts[0].routes[0].direct_response proxyless.direct_response']);
  });

  it('cluster_header routes are skipped by the client', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].route = { cluster_header: 'x-cluster' };
    expect(short(limits(TypeUrl.RouteConfiguration, rc))).toEqual(['virtual_hosts[0].routes[0].route.cluster_header proxyless.cluster_header']);
  });

  it('regex matchers must compile with RE2 (no lookaround, no backreferences)', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].match = {
      safe_regex: { regex: '/svc/(?=Get).*' },
      headers: [
        { name: 'x-a', safe_regex_match: { regex: '(a)\\1' } },
        { name: 'x-b', string_match: { safe_regex: { regex: '[a-z]+-\\d{2}' } } },
      ],
    };
    expect(short(limits(TypeUrl.RouteConfiguration, rc))).toEqual([
      'virtual_hosts[0].routes[0].match.safe_regex.regex proxyless.regex',
      'virtual_hosts[0].routes[0].match.headers[0].safe_regex_match.regex proxyless.regex',
    ]);
  });

  it('domains with a wildcard in the middle or two wildcards, retries of 0', () => {
    const rc = buildRouteConfiguration({
      name: 'rc',
      virtualHosts: [{ name: 'v', domains: ['a.*.com', '*.b.*', '*.ok.com'], routes: [{ name: 'r', cluster: 'c', retry: { numRetries: 1 } }] }],
    }) as Obj;
    rc.virtual_hosts[0].routes[0].route.retry_policy.num_retries = { value: 0 };
    expect(short(limits(TypeUrl.RouteConfiguration, rc))).toEqual([
      'virtual_hosts[0].domains[0] proxyless.domain_wildcard',
      'virtual_hosts[0].domains[1] proxyless.domain_wildcard',
      'virtual_hosts[0].routes[0].route.retry_policy.num_retries proxyless.retry_policy',
    ]);
  });

  it('endpoints must be IP literals with a port_value', () => {
    const cla = buildLoadAssignment({ clusterName: 'shard-a', localities: [{ zone: 'z', weight: 1, endpoints: [{ address: 'model-a.internal', port: 8080 }] }] });
    expect(limits(TypeUrl.ClusterLoadAssignment, cla)).toEqual([
      {
        path: 'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address',
        rule: 'proxyless.endpoint_ip_literal',
        message: 'must be an IPv4 or IPv6 literal for grpc-js-xds (hostnames are NACKed), got "model-a.internal"',
      },
    ]);
    const dup = buildLoadAssignment({
      clusterName: 'shard-a',
      localities: [{ zone: 'z', weight: 1, endpoints: [{ address: '10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 1 }] }],
    });
    expect(short(limits(TypeUrl.ClusterLoadAssignment, dup))).toEqual(['endpoints[0].lb_endpoints[1].endpoint.address.socket_address.address proxyless.endpoint_duplicate']);
  });

  it('localities need a load_balancing_weight (and a locality)', () => {
    const cla = buildLoadAssignment({ clusterName: 'shard-a', localities: [{ zone: 'z', weight: 1, endpoints: [{ address: '10.0.0.1', port: 8080 }] }] }) as Obj;
    delete cla.endpoints[0].load_balancing_weight;
    expect(limits(TypeUrl.ClusterLoadAssignment, cla)).toEqual([
      {
        path: 'endpoints[0].load_balancing_weight',
        rule: 'proxyless.locality_weight',
        message: 'is required: grpc-js-xds drops localities without a load_balancing_weight, so their endpoints get no traffic',
      },
    ]);
    delete cla.endpoints[0].locality;
    expect(short(limits(TypeUrl.ClusterLoadAssignment, cla))).toEqual(['endpoints[0].locality proxyless.locality', 'endpoints[0].load_balancing_weight proxyless.locality_weight']);
  });

  it('clusters: only ROUND_ROBIN or RING_HASH, EDS over ADS', () => {
    expect(limits(TypeUrl.Cluster, bareLeastRequest('shard-a'))).toEqual([
      {
        path: 'lb_policy',
        rule: 'proxyless.lb_policy',
        message:
          'must be ROUND_ROBIN or RING_HASH for grpc-js-xds, which NACKs the cluster, got LEAST_REQUEST (or set load_balancing_policy with a round_robin fallback after least_request)',
      },
    ]);
    expect(limits(TypeUrl.Cluster, buildEdsCluster({ name: 'shard-a', lbPolicy: 'RING_HASH' }))).toEqual([]);
    const staticCluster = { name: 'static', connect_timeout: { seconds: 1 } };
    expect(short(limits(TypeUrl.Cluster, staticCluster))).toEqual(['type proxyless.cluster_type']);
  });

  it('the api_listener holds an HttpConnectionManager with the router last and routes over ADS', () => {
    expect(limits(TypeUrl.Listener, buildApiListener({ name: 'l', routeConfigName: 'rc' }))).toEqual([]);
    expect(short(limits(TypeUrl.Listener, { name: 'l' }))).toEqual(['api_listener proxyless.api_listener']);
  });
});

describe('validateSnapshotInput applies the limits to what proxyless listeners use', () => {
  it('checks the referenced route configuration, its clusters and their endpoints, with the proxyless code', () => {
    const rc = routes();
    rc.virtual_hosts[0].routes[0].match.headers = [{ name: 'x-k', contains_match: 'a' }];
    const out = validateSnapshotInput(
      input({
        rc,
        clusters: [bareLeastRequest('shard-a')],
        clas: [buildLoadAssignment({ clusterName: 'shard-a', localities: [{ zone: 'z', weight: 1, endpoints: [{ address: 'host.local', port: 80 }] }] })],
      }),
    );
    expect(out.map((v) => `${v.code} ${v.message}`)).toEqual([
      'VALIDATE_PROXYLESS RouteConfiguration "model-serving": virtual_hosts[0].routes[0].match.headers[0].contains_match: is NACKed by grpc-js-xds (an unsupported header_match_specifier); use string_match {contains} instead (proxyless.header_contains_match)',
      'VALIDATE_PROXYLESS Cluster "shard-a": lb_policy: must be ROUND_ROBIN or RING_HASH for grpc-js-xds, which NACKs the cluster, got LEAST_REQUEST (or set load_balancing_policy with a round_robin fallback after least_request) (proxyless.lb_policy)',
      'VALIDATE_PROXYLESS ClusterLoadAssignment "shard-a": endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be an IPv4 or IPv6 literal for grpc-js-xds (hostnames are NACKed), got "host.local" (proxyless.endpoint_ip_literal)',
    ]);
  });

  it('leaves Envoy-only resources alone: unreferenced route configurations and mirror-only clusters', () => {
    const envoyOnly = routes({}, 'envoy-routes');
    delete envoyOnly.virtual_hosts[0].routes[0].route;
    envoyOnly.virtual_hosts[0].routes[0].redirect = { host_redirect: 'example.com' };
    const proxyless = routes({ mirrors: [{ cluster: 'mirror', percent: 10 }] });
    const res = input({ clusters: [buildEdsCluster({ name: 'shard-a' }), bareLeastRequest('mirror')] });
    res[TypeUrl.RouteConfiguration] = [proxyless, envoyOnly];
    expect(validateSnapshotInput(res)).toEqual([]);
    // Unless the caller says proxyless clients use it too.
    expect(validateSnapshotInput(res, { proxylessRouteConfigs: ['envoy-routes'] }).map((v) => v.rule)).toEqual(['proxyless.redirect']);
    expect(validateSnapshotInput(res, { proxylessRouteConfigs: ['envoy-routes'], skipProxyless: true })).toEqual([]);
  });
});
