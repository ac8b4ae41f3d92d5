// Limits of the proxyless gRPC client (@grpc/grpc-js-xds, pinned in package.json) for the resources
// a proxyless listener uses: its Listener, the RouteConfiguration it names, the clusters those
// routes name and their ClusterLoadAssignments. These resources pass Envoy's PGV rules but are
// NACKed (or silently ignored) by grpc-js-xds. Sources: docs/design.md, "The proxyless gRPC
// client", and the client's validators in node_modules/@grpc/grpc-js-xds/build/src/
// (xds-resource-type/*-resource-type.js, resolver-xds.js, xds-dependency-manager.js), cited per
// check below and in docs/validation.md.
import { isIPv4, isIPv6 } from 'node:net';
import protobuf from 'protobufjs';
import { envoyRoot } from '../proto/envoy-root.js';
import { HCM_TYPE, ROUTER_TYPE } from '../proto/builders.js';
import { TypeUrl, typeNameOf } from '../proto/type-urls.js';
import { re2Problem } from './regex.js';
import { activeMemo } from './memo.js';
import { isObj, quote, toNumber, toSecNanos, typeNameOfUrl, anyTypeUrl, unpackAny, Walk, type Obj, type Violation } from './values.js';

const UINT32_MAX = 0xffffffff;

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function has(obj: Obj, key: string): boolean {
  const v = obj[key];
  return v !== undefined && v !== null;
}

/** Runs `fn` with `seg` pushed on the path. */
function at(w: Walk, seg: string | number, fn: () => void): void {
  w.path.push(seg);
  fn();
  w.path.pop();
}

function each(w: Walk, obj: Obj, key: string, fn: (item: Obj, index: number) => void): void {
  const items = arr(obj[key]);
  if (items.length === 0) return;
  w.path.push(key);
  items.forEach((item, i) => {
    if (!isObj(item)) return;
    w.path.push(i);
    fn(item, i);
    w.path.pop();
  });
  w.path.pop();
}

const enumCache = new Map<string, protobuf.Enum>();

/** The name of an enum value given as a name or a number ("ROUND_ROBIN" for 0 or unset). */
function enumName(enumFullName: string, v: unknown): string {
  if (typeof v === 'string' && !/^\d+$/.test(v)) return v;
  let e = enumCache.get(enumFullName);
  if (!e) {
    e = envoyRoot().lookupEnum(enumFullName);
    enumCache.set(enumFullName, e);
  }
  const n = v === undefined || v === null ? 0 : toNumber(v);
  return e.valuesById[n] ?? String(n);
}

// ---------------------------------------------------------------- regexes

/** grpc-js-xds compiles safe_regex matchers with re2-wasm as `^(regex)$` (matcher.js); Envoy with RE2. */
function regexMatcher(w: Walk, seg: string, m: unknown): void {
  if (!isObj(m) || typeof m.regex !== 'string') return;
  const problem = re2Problem(m.regex);
  if (problem) {
    at(w, seg, () => w.fail('regex', 'proxyless.regex', `must be an RE2 regular expression usable as a full match (grpc-js-xds compiles it with re2-wasm), got ${quote(m.regex)}: ${problem}`));
  }
}

function stringMatcher(w: Walk, seg: string, m: unknown): void {
  if (!isObj(m)) return;
  if (has(m, 'safe_regex')) at(w, seg, () => regexMatcher(w, 'safe_regex', m.safe_regex));
}

// ---------------------------------------------------------------- RouteConfiguration

const UNSUPPORTED_PATH_SPECIFIERS = ['connect_matcher', 'path_separated_prefix', 'path_match_policy'];
const UNSUPPORTED_ACTIONS: Readonly<Record<string, string>> = {
  redirect: 'proxyless.redirect',
  direct_response: 'proxyless.direct_response',
  filter_action: 'proxyless.filter_action',
};

/** route-config-resource-type.js validateRetryPolicy: num_retries >= 1, a sane retry_back_off. */
function retryPolicy(w: Walk, policy: unknown): void {
  if (!isObj(policy)) return;
  at(w, 'retry_policy', () => {
    if (isObj(policy.num_retries)) {
      const n = policy.num_retries.value === undefined || policy.num_retries.value === null ? 0 : toNumber(policy.num_retries.value);
      if (n < 1) w.fail('num_retries', 'proxyless.retry_policy', `must be at least 1 when set (grpc-js-xds NACKs the route configuration), got ${n}`);
    }
    const backOff = policy.retry_back_off;
    if (!isObj(backOff)) return;
    at(w, 'retry_back_off', () => {
      if (!has(backOff, 'base_interval')) {
        w.fail('base_interval', 'proxyless.retry_policy', 'is required by grpc-js-xds when retry_back_off is set');
        return;
      }
      const base = toSecNanos(backOff.base_interval);
      const baseMs = base.s * 1000 + base.n / 1e6;
      if (!(baseMs > 0)) w.fail('base_interval', 'proxyless.retry_policy', 'must be greater than 0 for grpc-js-xds');
      if (has(backOff, 'max_interval')) {
        const max = toSecNanos(backOff.max_interval);
        if (max.s * 1000 + max.n / 1e6 < baseMs) w.fail('max_interval', 'proxyless.retry_policy', 'must not be less than base_interval for grpc-js-xds');
      }
    });
  });
}

function routeAction(w: Walk, ra: Obj): void {
  if (has(ra, 'cluster_header')) {
    w.fail('cluster_header', 'proxyless.cluster_header', 'is not supported by proxyless gRPC: grpc-js-xds skips routes that take their cluster from a header (resolver-xds.js), so these requests match a later route or fail');
  }
  for (const key of ['cluster_specifier_plugin', 'inline_cluster_specifier_plugin']) {
    if (has(ra, key)) w.fail(key, 'proxyless.cluster_specifier', 'is not supported by grpc-js-xds (it NACKs the route configuration); use cluster or weighted_clusters');
  }
  retryPolicy(w, ra.retry_policy);
}

function routeMatch(w: Walk, match: Obj): void {
  for (const key of UNSUPPORTED_PATH_SPECIFIERS) {
    if (has(match, key)) w.fail(key, 'proxyless.path_specifier', 'is not supported by grpc-js-xds (it NACKs the route configuration); use prefix, path or safe_regex');
  }
  if (has(match, 'safe_regex')) regexMatcher(w, 'safe_regex', match.safe_regex);
  each(w, match, 'headers', (h) => {
    if (has(h, 'contains_match')) {
      w.fail('contains_match', 'proxyless.header_contains_match', 'is NACKed by grpc-js-xds (an unsupported header_match_specifier); use string_match {contains} instead');
    }
    if (has(h, 'safe_regex_match')) regexMatcher(w, 'safe_regex_match', h.safe_regex_match);
    if (has(h, 'string_match')) stringMatcher(w, 'string_match', h.string_match);
  });
}

function routeConfiguration(w: Walk, rc: Obj): void {
  each(w, rc, 'virtual_hosts', (vh) => {
    // route-config-resource-type.js: at most one "*", and only at the start or the end.
    const domains = arr(vh.domains);
    w.path.push('domains');
    domains.forEach((d, i) => {
      if (typeof d !== 'string') return;
      const first = d.indexOf('*');
      if (first === -1) return;
      if (first !== d.lastIndexOf('*')) w.fail(i, 'proxyless.domain_wildcard', `must have at most one "*" for grpc-js-xds, got ${quote(d)}`);
      else if (first !== 0 && first !== d.length - 1) w.fail(i, 'proxyless.domain_wildcard', `must have its "*" at the start or the end for grpc-js-xds, got ${quote(d)}`);
    });
    w.path.pop();
    retryPolicy(w, vh.retry_policy);
    each(w, vh, 'routes', (route) => {
      // Routes found clean before (withValidationMemo) are clean again.
      if (w.memo?.get(route)?.as === routeConfiguration) return;
      const before = w.out.length;
      if (isObj(route.match)) at(w, 'match', () => routeMatch(w, route.match as Obj));
      for (const [key, rule] of Object.entries(UNSUPPORTED_ACTIONS)) {
        if (has(route, key)) w.fail(key, rule, `is not supported by proxyless gRPC: grpc-js-xds NACKs the route configuration (only route and non_forwarding_action actions)`);
      }
      if (isObj(route.route)) at(w, 'route', () => routeAction(w, route.route as Obj));
      if (w.memo && w.out.length === before) w.memo.set(route, { as: routeConfiguration, depth: 0 });
    });
  });
}

// ---------------------------------------------------------------- Listener

const ROUTER_URL = `type.googleapis.com/${ROUTER_TYPE}`;

/** listener-resource-type.js validateHttpConnectionManager (client side). */
function httpConnectionManager(w: Walk, hcm: Obj): void {
  const filters = arr(hcm.http_filters).filter(isObj);
  const names = new Set<string>();
  w.path.push('http_filters');
  filters.forEach((f, i) => {
    const name = typeof f.name === 'string' ? f.name : '';
    if (names.has(name)) w.fail(i, 'proxyless.http_filters', `duplicate HTTP filter name ${quote(name)} (grpc-js-xds NACKs the listener)`);
    names.add(name);
    const url = isObj(f.typed_config) ? (anyTypeUrl(f.typed_config) ?? '') : '';
    const isRouter = url === ROUTER_URL;
    if (i < filters.length - 1 && isRouter) w.fail(i, 'proxyless.http_filters', 'the router filter must be the last HTTP filter (grpc-js-xds NACKs the listener)');
    if (i === filters.length - 1 && !isRouter) w.fail(i, 'proxyless.http_filters', `the last HTTP filter must be the router (${ROUTER_TYPE}), got ${quote(url)}`);
  });
  w.path.pop();
  if (has(hcm, 'rds')) {
    const cs = isObj(hcm.rds) && isObj(hcm.rds.config_source) ? hcm.rds.config_source : {};
    if (!has(cs, 'ads') && !has(cs, 'self')) at(w, 'rds', () => w.fail('config_source', 'proxyless.rds_config_source', 'must be ads or self for grpc-js-xds'));
  } else if (isObj(hcm.route_config)) {
    at(w, 'route_config', () => routeConfiguration(w, hcm.route_config as Obj));
  } else {
    w.fail('route_specifier', 'proxyless.route_specifier', 'must be rds or route_config for grpc-js-xds (scoped_routes is NACKed)');
  }
}

function listener(w: Walk, l: Obj): void {
  const api = isObj(l.api_listener) ? l.api_listener.api_listener : undefined;
  if (!isObj(api)) {
    w.fail('api_listener', 'proxyless.api_listener', 'is required: a proxyless gRPC client only uses an api_listener holding an HttpConnectionManager');
    return;
  }
  at(w, 'api_listener', () => {
    const url = anyTypeUrl(api) ?? '';
    if (typeNameOfUrl(url) !== HCM_TYPE) {
      w.fail('api_listener', 'proxyless.api_listener', `must pack ${HCM_TYPE}, got ${quote(url)}`);
      return;
    }
    const hcm = unpackAny(api);
    if (hcm.ok) at(w, 'api_listener', () => httpConnectionManager(w, hcm.message));
  });
}

// ---------------------------------------------------------------- Cluster

const CLUSTER_TYPE_ENUM = 'envoy.config.cluster.v3.Cluster.DiscoveryType';
const LB_POLICY_ENUM = 'envoy.config.cluster.v3.Cluster.LbPolicy';
const HASH_FUNCTION_ENUM = 'envoy.config.cluster.v3.Cluster.RingHashLbConfig.HashFunction';
const AGGREGATE_TYPE = 'envoy.extensions.clusters.aggregate.v3.ClusterConfig';

/** cluster-resource-type.js validateResource. */
function cluster(w: Walk, c: Obj): void {
  if (has(c, 'cluster_type')) {
    const cfg = isObj(c.cluster_type) ? c.cluster_type.typed_config : undefined;
    const url = isObj(cfg) ? (anyTypeUrl(cfg) ?? '') : '';
    if (typeNameOfUrl(url) !== AGGREGATE_TYPE) w.fail('cluster_type', 'proxyless.cluster_type', `must be an aggregate cluster (${AGGREGATE_TYPE}) for grpc-js-xds, got ${quote(url)}`);
  } else {
    const type = enumName(CLUSTER_TYPE_ENUM, c.type);
    if (type === 'EDS') {
      const eds = isObj(c.eds_cluster_config) ? c.eds_cluster_config : undefined;
      const cs = eds && isObj(eds.eds_config) ? eds.eds_config : {};
      if (!eds) w.fail('eds_cluster_config', 'proxyless.eds_config', 'is required for an EDS cluster by grpc-js-xds');
      else if (!has(cs, 'ads') && !has(cs, 'self')) at(w, 'eds_cluster_config', () => w.fail('eds_config', 'proxyless.eds_config', 'must be ads or self for grpc-js-xds'));
    } else if (type !== 'LOGICAL_DNS') {
      w.fail('type', 'proxyless.cluster_type', `must be EDS or LOGICAL_DNS (or an aggregate cluster) for grpc-js-xds, got ${type}`);
    }
  }
  if (!has(c, 'load_balancing_policy')) {
    const lb = enumName(LB_POLICY_ENUM, c.lb_policy);
    if (lb !== 'ROUND_ROBIN' && lb !== 'RING_HASH') {
      w.fail(
        'lb_policy',
        'proxyless.lb_policy',
        `must be ROUND_ROBIN or RING_HASH for grpc-js-xds, which NACKs the cluster, got ${lb} (or set load_balancing_policy with a round_robin fallback after ${lb.toLowerCase()})`,
      );
    }
    if (lb === 'RING_HASH' && isObj(c.ring_hash_lb_config)) {
      const fn = enumName(HASH_FUNCTION_ENUM, c.ring_hash_lb_config.hash_function);
      if (fn !== 'XX_HASH') at(w, 'ring_hash_lb_config', () => w.fail('hash_function', 'proxyless.ring_hash', `must be XX_HASH for grpc-js-xds, got ${fn}`));
    }
  }
  if (isObj(c.lrs_server) && !has(c.lrs_server, 'self')) w.fail('lrs_server', 'proxyless.lrs_server', 'must be self for grpc-js-xds');
}

// ---------------------------------------------------------------- ClusterLoadAssignment

function localityKey(l: Obj, priority: number): string {
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  return `${s(l.region)}\u0000${s(l.zone)}\u0000${s(l.sub_zone)}\u0000${priority}`;
}

/** endpoint-resource-type.js validateResource and xds-dependency-manager.js (locality weights). */
function clusterLoadAssignment(w: Walk, cla: Obj): void {
  const localities = new Set<string>();
  const addresses = new Set<string>();
  const totals = new Map<number, number>();
  const socketAddress = (sa: unknown): void => {
    if (!isObj(sa)) return;
    const address = typeof sa.address === 'string' ? sa.address : '';
    if (!isIPv4(address) && !isIPv6(address)) {
      w.fail('address', 'proxyless.endpoint_ip_literal', `must be an IPv4 or IPv6 literal for grpc-js-xds (hostnames are NACKed), got ${quote(address)}`);
    }
    if (has(sa, 'named_port')) w.fail('named_port', 'proxyless.port', 'is not supported by grpc-js-xds; use port_value');
    const key = `${address}\u0000${toNumber(sa.port_value ?? 0)}`;
    if (addresses.has(key)) w.fail('address', 'proxyless.endpoint_duplicate', `${quote(address)}:${toNumber(sa.port_value ?? 0)} appears more than once in this assignment (grpc-js-xds NACKs it)`);
    addresses.add(key);
  };
  const address = (holder: Obj, key: string): void => {
    const a = holder[key];
    const sa = isObj(a) ? a.socket_address : undefined;
    if (!isObj(sa)) {
      w.fail(key, 'proxyless.endpoint_address', 'must be a socket_address for grpc-js-xds (pipe and internal addresses are NACKed)');
      return;
    }
    at(w, key, () => at(w, 'socket_address', () => socketAddress(sa)));
  };
  each(w, cla, 'endpoints', (lle) => {
    const priority = lle.priority === undefined || lle.priority === null ? 0 : toNumber(lle.priority);
    if (!isObj(lle.locality)) {
      w.fail('locality', 'proxyless.locality', 'is required by grpc-js-xds (it NACKs the assignment)');
    } else {
      const key = localityKey(lle.locality, priority);
      if (localities.has(key)) w.fail('locality', 'proxyless.locality_duplicate', 'appears twice at the same priority (grpc-js-xds NACKs the assignment)');
      localities.add(key);
    }
    if (!isObj(lle.load_balancing_weight)) {
      w.fail('load_balancing_weight', 'proxyless.locality_weight', 'is required: grpc-js-xds drops localities without a load_balancing_weight, so their endpoints get no traffic');
    }
    const weight = isObj(lle.load_balancing_weight) ? toNumber(lle.load_balancing_weight.value ?? 0) : 0;
    totals.set(priority, (totals.get(priority) ?? 0) + weight);
    each(w, lle, 'lb_endpoints', (lbe) => {
      if (!isObj(lbe.endpoint)) {
        w.fail('endpoint', 'proxyless.endpoint_address', 'must be an endpoint with a socket_address for grpc-js-xds (endpoint_name is not supported)');
        return;
      }
      const ep = lbe.endpoint;
      at(w, 'endpoint', () => {
        address(ep, 'address');
        each(w, ep, 'additional_addresses', (extra) => address(extra, 'address'));
      });
    });
  });
  for (const [priority, total] of totals) {
    if (total > UINT32_MAX) w.fail('endpoints', 'proxyless.priority', `locality weights of priority ${priority} add up to ${total}, more than ${UINT32_MAX}`);
    if (priority > 0 && !totals.has(priority - 1)) w.fail('endpoints', 'proxyless.priority', `has priority ${priority} but no priority ${priority - 1} (grpc-js-xds NACKs the assignment)`);
  }
}

// ---------------------------------------------------------------- public API

const CHECKS: Readonly<Record<string, (w: Walk, m: Obj) => void>> = {
  [typeNameOf(TypeUrl.Listener)]: listener,
  [typeNameOf(TypeUrl.RouteConfiguration)]: routeConfiguration,
  [typeNameOf(TypeUrl.Cluster)]: cluster,
  [typeNameOf(TypeUrl.ClusterLoadAssignment)]: clusterLoadAssignment,
};

/**
 * Checks a resource a proxyless gRPC listener uses against what @grpc/grpc-js-xds accepts:
 * Listener (api_listener + HttpConnectionManager), RouteConfiguration, Cluster and
 * ClusterLoadAssignment, in either object shape. Other types have no proxyless limits here.
 */
export function checkProxylessLimits(typeUrl: string, message: object): Violation[] {
  const check = CHECKS[typeNameOfUrl(typeUrl)];
  if (!check || !isObj(message)) return [];
  const w = new Walk();
  w.memo = activeMemo()?.proxyless;
  if (w.memo?.get(message)?.as === check) return [];
  check(w, message);
  if (w.memo && w.out.length === 0) w.memo.set(message, { as: check, depth: 0 });
  return w.out;
}
