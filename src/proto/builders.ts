// A small typed layer that builds the Envoy resources Switchyard serves, as plain objects ready for
// encodeMessage(). Only the fields Switchyard uses are modelled; the shapes follow the v3 protos.
import { packAny, type PackedAny } from './messages.js';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const LEAST_REQUEST_TYPE = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
export const ROUND_ROBIN_TYPE = 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';

export interface Duration {
  seconds: number;
  nanos?: number;
}

export function durationFromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos ? { seconds, nanos } : { seconds };
}

const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

// ---------------------------------------------------------------- Listener (LDS)

export interface ApiListenerInput {
  /** Listener name = the proxyless dial target (xds:///NAME). */
  name: string;
  /** RouteConfiguration fetched over ADS by RDS. */
  routeConfigName: string;
  statPrefix?: string;
}

/** A proxyless gRPC listener: an api_listener whose HttpConnectionManager takes routes by RDS. */
export function buildApiListener(input: ApiListenerInput): object {
  const hcm = packAny(HCM_TYPE, {
    stat_prefix: input.statPrefix ?? input.name,
    rds: { route_config_name: input.routeConfigName, config_source: ADS_CONFIG_SOURCE },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(ROUTER_TYPE, {}) }],
  });
  return { name: input.name, api_listener: { api_listener: hcm } };
}

// ---------------------------------------------------------------- RouteConfiguration (RDS)

export type HeaderMatch =
  | { name: string; exact: string }
  | { name: string; prefix: string }
  | { name: string; present: true };

export interface WeightedTarget {
  cluster: string;
  weight: number;
}

export interface RetryInput {
  numRetries: number;
  retryOn?: string;
  perTryTimeoutMs?: number;
}

export interface MirrorInput {
  cluster: string;
  /** Share of requests mirrored, 0..100. */
  percent: number;
}

export interface RouteInput {
  name: string;
  /** Path prefix to match; defaults to "/" (every gRPC method). */
  prefix?: string;
  headers?: HeaderMatch[];
  /** Exactly one of cluster or weightedClusters. */
  cluster?: string;
  weightedClusters?: WeightedTarget[];
  timeoutMs?: number;
  retry?: RetryInput;
  mirrors?: MirrorInput[];
  /** Response headers added by Envoy, e.g. the model that served. */
  responseHeaders?: Record<string, string>;
}

export interface VirtualHostInput {
  name: string;
  domains: string[];
  routes: RouteInput[];
}

export interface RouteConfigurationInput {
  name: string;
  virtualHosts: VirtualHostInput[];
}

function headerMatcher(h: HeaderMatch): object {
  if ('exact' in h) return { name: h.name, string_match: { exact: h.exact } };
  if ('prefix' in h) return { name: h.name, string_match: { prefix: h.prefix } };
  return { name: h.name, present_match: true };
}

function routeAction(r: RouteInput): object {
  const action: Record<string, unknown> = {};
  if (r.weightedClusters && r.weightedClusters.length > 0) {
    action.weighted_clusters = {
      clusters: r.weightedClusters.map((w) => ({ name: w.cluster, weight: { value: w.weight } })),
    };
  } else if (r.cluster) {
    action.cluster = r.cluster;
  } else {
    throw new Error(`route ${r.name}: needs a cluster or weighted clusters`);
  }
  if (r.timeoutMs !== undefined) action.timeout = durationFromMs(r.timeoutMs);
  if (r.retry && r.retry.numRetries > 0) {
    action.retry_policy = {
      retry_on: r.retry.retryOn ?? 'unavailable,resource-exhausted,cancelled',
      num_retries: { value: r.retry.numRetries },
      ...(r.retry.perTryTimeoutMs !== undefined ? { per_try_timeout: durationFromMs(r.retry.perTryTimeoutMs) } : {}),
    };
  }
  if (r.mirrors && r.mirrors.length > 0) {
    action.request_mirror_policies = r.mirrors.map((m) => ({
      cluster: m.cluster,
      runtime_fraction: { default_value: fractionPerMillion(m.percent) },
    }));
  }
  return action;
}

/** A percent (0..100, up to four decimals) as an Envoy FractionalPercent per million. */
export function fractionPerMillion(percent: number): object {
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

export function buildRouteConfiguration(input: RouteConfigurationInput): object {
  return {
    name: input.name,
    virtual_hosts: input.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r) => ({
        name: r.name,
        match: { prefix: r.prefix ?? '/', ...(r.headers?.length ? { headers: r.headers.map(headerMatcher) } : {}) },
        route: routeAction(r),
        ...(r.responseHeaders
          ? {
              response_headers_to_add: Object.entries(r.responseHeaders).map(([key, value]) => ({
                header: { key, value },
                append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
              })),
            }
          : {}),
      })),
    })),
  };
}

// ---------------------------------------------------------------- Cluster (CDS)

export interface CircuitBreakerInput {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface OutlierDetectionInput {
  consecutive5xx?: number;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
}

export interface EdsClusterInput {
  name: string;
  connectTimeoutMs?: number;
  /** gRPC backends need HTTP/2 upstream. Default true. */
  http2?: boolean;
  lbPolicy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH';
  circuitBreakers?: CircuitBreakerInput;
  outlierDetection?: OutlierDetectionInput;
}

function u32(v: number | undefined): object | undefined {
  return v === undefined ? undefined : { value: v };
}

export function buildEdsCluster(input: EdsClusterInput): object {
  const cluster: Record<string, unknown> = {
    name: input.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: input.name },
    connect_timeout: durationFromMs(input.connectTimeoutMs ?? 1000),
  };
  if (input.lbPolicy === 'LEAST_REQUEST') {
    // Proxyless gRPC rejects lb_policy LEAST_REQUEST; a policy list lets each client take the
    // first it supports: Envoy least request, grpc-js-xds round robin.
    cluster.load_balancing_policy = {
      policies: [
        { typed_extension_config: { name: 'envoy.load_balancing_policies.least_request', typed_config: packAny(LEAST_REQUEST_TYPE, {}) } },
        { typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: packAny(ROUND_ROBIN_TYPE, {}) } },
      ],
    };
  } else {
    cluster.lb_policy = input.lbPolicy ?? 'ROUND_ROBIN';
  }
  if (input.http2 ?? true) {
    const opts: PackedAny = packAny(HTTP_PROTOCOL_OPTIONS_TYPE, { explicit_http_config: { http2_protocol_options: {} } });
    cluster.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS_TYPE]: opts };
  }
  const cb = input.circuitBreakers;
  if (cb) {
    cluster.circuit_breakers = {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: u32(cb.maxConnections),
          max_pending_requests: u32(cb.maxPendingRequests),
          max_requests: u32(cb.maxRequests),
          max_retries: u32(cb.maxRetries),
        },
      ],
    };
  }
  const od = input.outlierDetection;
  if (od) {
    cluster.outlier_detection = {
      consecutive_5xx: u32(od.consecutive5xx),
      interval: od.intervalMs !== undefined ? durationFromMs(od.intervalMs) : undefined,
      base_ejection_time: od.baseEjectionTimeMs !== undefined ? durationFromMs(od.baseEjectionTimeMs) : undefined,
      max_ejection_percent: u32(od.maxEjectionPercent),
    };
  }
  return cluster;
}

// ---------------------------------------------------------------- ClusterLoadAssignment (EDS)

export interface EndpointInput {
  address: string;
  port: number;
  weight?: number;
}

export interface LocalityInput {
  region?: string;
  zone?: string;
  subZone?: string;
  /** Locality weight; proxyless gRPC clients drop localities without one. */
  weight: number;
  endpoints: EndpointInput[];
}

export interface LoadAssignmentInput {
  clusterName: string;
  localities: LocalityInput[];
}

export function buildLoadAssignment(input: LoadAssignmentInput): object {
  return {
    cluster_name: input.clusterName,
    endpoints: input.localities.map((l) => ({
      locality: { region: l.region ?? '', zone: l.zone ?? '', sub_zone: l.subZone ?? '' },
      load_balancing_weight: { value: l.weight },
      lb_endpoints: l.endpoints.map((e) => ({
        endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
        load_balancing_weight: { value: e.weight ?? 1 },
        health_status: 'HEALTHY',
      })),
    })),
  };
}
