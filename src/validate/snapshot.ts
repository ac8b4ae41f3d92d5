// Validation of a whole compile result (the plain objects createSnapshot will encode) or of an
// encoded snapshot: PGV rules and Envoy checks on every resource, and the proxyless gRPC limits on
// the resources proxyless listeners use (their RouteConfigurations, the clusters those routes
// name, and those clusters' ClusterLoadAssignments).
import { SwitchyardError, type ErrorCode } from '../errors/catalog.js';
import { decodeMessage } from '../proto/messages.js';
import { HCM_TYPE } from '../proto/builders.js';
import { TypeUrl, typeNameOf } from '../proto/type-urls.js';
import { resourceNameOf } from '../snapshot/references.js';
import type { SnapshotView } from '../snapshot/types.js';
import { validateMessage } from './pgv.js';
import { checkProxylessLimits } from './proxyless.js';
import { isObj, typeNameOfUrl, unpackAny, type Obj, type Violation } from './values.js';

export interface ResourceViolation {
  typeUrl: string;
  /** Resource name (cluster_name for a ClusterLoadAssignment). */
  name: string;
  /** Field path inside the resource; "" for the resource itself. */
  path: string;
  rule: string;
  /** The whole line: `Cluster "shard-a": connect_timeout: must be greater than 0s, got 0s (duration.gt)`. */
  message: string;
  /** The violation alone: `must be greater than 0s, got 0s`. */
  detail: string;
  code: ErrorCode;
}

export interface ValidateOptions {
  /** RouteConfiguration names proxyless clients use besides those api_listeners name (e.g. resolved elsewhere). */
  proxylessRouteConfigs?: readonly string[];
  /** Skip the proxyless limits entirely (an Envoy-only deployment). Default false. */
  skipProxyless?: boolean;
}

/** The error code of a violation's rule. */
export function codeOfRule(rule: string): ErrorCode {
  if (rule.startsWith('proxyless.')) return 'VALIDATE_PROXYLESS';
  if (rule === 'any.type' || rule === 'type.unknown') return 'VALIDATE_UNKNOWN_TYPE';
  if (rule === 'any.decode') return 'VALIDATE_UNDECODABLE';
  return 'VALIDATE_SCHEMA';
}

function shortType(typeUrl: string): string {
  const name = typeNameOfUrl(typeUrl);
  return name.slice(name.lastIndexOf('.') + 1);
}

export function formatViolation(typeUrl: string, name: string, v: Violation): string {
  return `${shortType(typeUrl)} ${JSON.stringify(name)}: ${v.path ? `${v.path}: ` : ''}${v.message} (${v.rule})`;
}

function resourceViolation(typeUrl: string, name: string, v: Violation): ResourceViolation {
  return { typeUrl, name, path: v.path, rule: v.rule, message: formatViolation(typeUrl, name, v), detail: v.message, code: codeOfRule(v.rule) };
}

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v.filter(isObj) as Obj[]) : [];
}

/** The RouteConfiguration names the api_listeners of `listeners` take their routes from (RDS). */
function proxylessRouteConfigNames(listeners: readonly object[]): string[] {
  const out: string[] = [];
  for (const l of listeners) {
    const api = isObj(l) && isObj(l.api_listener) ? l.api_listener.api_listener : undefined;
    if (!isObj(api)) continue;
    const hcm = unpackAny(api);
    if (!hcm.ok || hcm.typeName !== HCM_TYPE) continue;
    const rds = hcm.message.rds;
    if (isObj(rds) && typeof rds.route_config_name === 'string' && rds.route_config_name) out.push(rds.route_config_name);
  }
  return out;
}

/** Clusters a proxyless client subscribes to for these routes (mirror clusters are ignored by it). */
function routedClusters(rc: Obj, into: Set<string>): void {
  for (const vh of arr(rc.virtual_hosts)) {
    for (const r of arr(vh.routes)) {
      const action = isObj(r.route) ? r.route : undefined;
      if (!action) continue;
      if (typeof action.cluster === 'string') into.add(action.cluster);
      const wc = isObj(action.weighted_clusters) ? action.weighted_clusters : undefined;
      for (const c of arr(wc?.clusters)) if (typeof c.name === 'string') into.add(c.name);
    }
  }
}

function edsServiceName(cluster: Obj): string {
  const eds = isObj(cluster.eds_cluster_config) ? cluster.eds_cluster_config : undefined;
  const service = eds && typeof eds.service_name === 'string' ? eds.service_name : '';
  return service || (typeof cluster.name === 'string' ? cluster.name : '');
}

/**
 * Validates every resource of a compile result: `input` maps type URLs to plain messages (builder
 * objects with PackedAny fields, or decodeMessage() output with "@type" Anys). Returns every
 * violation, in input order; empty when Envoy and proxyless clients would accept everything.
 */
export function validateSnapshotInput(input: Readonly<Record<string, readonly object[]>>, opts: ValidateOptions = {}): ResourceViolation[] {
  const out: ResourceViolation[] = [];
  for (const [typeUrl, resources] of Object.entries(input)) {
    const typeName = typeNameOf(typeUrl);
    for (const r of resources) {
      const name = resourceNameOf(typeUrl, r);
      for (const v of validateMessage(typeName, r)) out.push(resourceViolation(typeUrl, name, v));
    }
  }
  if (opts.skipProxyless) return out;

  const listeners = input[TypeUrl.Listener] ?? [];
  for (const l of listeners) {
    if (!isObj(l) || !isObj(l.api_listener)) continue;
    for (const v of checkProxylessLimits(TypeUrl.Listener, l)) out.push(resourceViolation(TypeUrl.Listener, resourceNameOf(TypeUrl.Listener, l), v));
  }
  const rcNames = new Set([...proxylessRouteConfigNames(listeners), ...(opts.proxylessRouteConfigs ?? [])]);
  const clusterNames = new Set<string>();
  for (const rc of input[TypeUrl.RouteConfiguration] ?? []) {
    const name = resourceNameOf(TypeUrl.RouteConfiguration, rc);
    if (!rcNames.has(name) || !isObj(rc)) continue;
    for (const v of checkProxylessLimits(TypeUrl.RouteConfiguration, rc)) out.push(resourceViolation(TypeUrl.RouteConfiguration, name, v));
    routedClusters(rc, clusterNames);
  }
  const serviceNames = new Set<string>();
  for (const c of input[TypeUrl.Cluster] ?? []) {
    const name = resourceNameOf(TypeUrl.Cluster, c);
    if (!clusterNames.has(name) || !isObj(c)) continue;
    for (const v of checkProxylessLimits(TypeUrl.Cluster, c)) out.push(resourceViolation(TypeUrl.Cluster, name, v));
    serviceNames.add(edsServiceName(c));
  }
  for (const cla of input[TypeUrl.ClusterLoadAssignment] ?? []) {
    const name = resourceNameOf(TypeUrl.ClusterLoadAssignment, cla);
    if (!serviceNames.has(name)) continue;
    for (const v of checkProxylessLimits(TypeUrl.ClusterLoadAssignment, cla)) out.push(resourceViolation(TypeUrl.ClusterLoadAssignment, name, v));
  }
  return out;
}

/** Validates an encoded snapshot (decodes each resource once; same checks as validateSnapshotInput). */
export function validateSnapshot(snapshot: SnapshotView, opts: ValidateOptions = {}): ResourceViolation[] {
  const input: Record<string, object[]> = {};
  for (const typeUrl of snapshot.typeUrls()) {
    const set = snapshot.type(typeUrl);
    if (!set) continue;
    const typeName = typeNameOf(typeUrl);
    input[typeUrl] = set.names.map((n) => decodeMessage(typeName, set.resources.get(n)!.bytes));
  }
  return validateSnapshotInput(input, opts);
}

/** Violations as SwitchyardErrors (code + full message + catalog hint), e.g. for AggregateSwitchyardError. */
export function toSwitchyardErrors(violations: readonly ResourceViolation[]): SwitchyardError[] {
  return violations.map((v) => new SwitchyardError(v.code, v.message));
}
