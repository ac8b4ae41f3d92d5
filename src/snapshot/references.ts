// Which resources of another type a resource names. The ADS server uses these edges to order and
// gate delivery (routes wait for their clusters), and the consistency check to refuse dangling ones.
import { decodeMessage, type PackedAny } from '../proto/messages.js';
import { HCM_TYPE } from '../proto/builders.js';
import { TypeUrl } from '../proto/type-urls.js';

export interface References {
  /** Cluster names (CDS) this resource sends traffic to, mirrors to, or describes. */
  clusters: string[];
  /** Of those, the clusters only mirrored to (proxyless gRPC ignores mirrors, never asks for them). */
  mirrorOnly?: string[];
  /** RouteConfiguration names (RDS) this resource takes its routes from. */
  routeConfigs: string[];
}

const NONE: References = Object.freeze({ clusters: [], routeConfigs: [] }) as References;

type Obj = Record<string, unknown>;

function asArray(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

function routeClusters(rc: Obj): References {
  const routed = new Set<string>();
  const mirrored = new Set<string>();
  for (const vh of asArray(rc.virtual_hosts)) {
    for (const r of asArray(vh.routes)) {
      const action = r.route as Obj | undefined;
      if (!action) continue;
      if (typeof action.cluster === 'string') routed.add(action.cluster);
      const wc = action.weighted_clusters as Obj | undefined;
      for (const c of asArray(wc?.clusters)) if (typeof c.name === 'string') routed.add(c.name);
      for (const m of asArray(action.request_mirror_policies)) if (typeof m.cluster === 'string') mirrored.add(m.cluster);
    }
  }
  const mirrorOnly = [...mirrored].filter((c) => !routed.has(c)).sort();
  return { clusters: [...new Set([...routed, ...mirrored])].sort(), routeConfigs: [], ...(mirrorOnly.length > 0 ? { mirrorOnly } : {}) };
}

function hcmRouteConfig(any: unknown): string | undefined {
  const packed = any as PackedAny | undefined;
  if (!packed || packed.type_url !== `type.googleapis.com/${HCM_TYPE}`) return undefined;
  const hcm = decodeMessage(HCM_TYPE, packed.value) as { rds?: { route_config_name?: string } };
  return hcm.rds?.route_config_name || undefined;
}

function listenerRouteConfigs(l: Obj): string[] {
  const out = new Set<string>();
  const api = (l.api_listener as Obj | undefined)?.api_listener;
  const fromApi = hcmRouteConfig(api);
  if (fromApi) out.add(fromApi);
  for (const chain of asArray(l.filter_chains)) {
    for (const f of asArray(chain.filters)) {
      const name = hcmRouteConfig(f.typed_config);
      if (name) out.add(name);
    }
  }
  return [...out].sort();
}

export function referencesOf(typeUrl: string, message: object): References {
  const m = message as Obj;
  switch (typeUrl) {
    case TypeUrl.RouteConfiguration:
      return routeClusters(m);
    case TypeUrl.Listener:
      return { clusters: [], routeConfigs: listenerRouteConfigs(m) };
    case TypeUrl.ClusterLoadAssignment:
      return { clusters: typeof m.cluster_name === 'string' ? [m.cluster_name] : [], routeConfigs: [] };
    default:
      return NONE;
  }
}

/** The name of a resource, as xDS subscribes to it. */
export function resourceNameOf(typeUrl: string, message: object): string {
  const m = message as Obj;
  const name = typeUrl === TypeUrl.ClusterLoadAssignment ? m.cluster_name : m.name;
  return typeof name === 'string' ? name : '';
}
