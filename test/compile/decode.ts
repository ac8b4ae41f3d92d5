// Decodes a snapshot back to plain JSON (per type URL, resources in name order) for assertions.
import { decodeMessage } from '../../src/proto/messages.js';
import { typeNameOf, TypeUrl } from '../../src/proto/type-urls.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';

export type Json = Record<string, unknown>;

export function decodeSnapshot(snapshot: Snapshot): Record<string, Json[]> {
  const out: Record<string, Json[]> = {};
  for (const typeUrl of snapshot.typeUrls()) {
    const set = snapshot.type(typeUrl)!;
    out[typeUrl] = set.names.map((n) => decodeMessage(typeNameOf(typeUrl), set.resources.get(n)!.bytes));
  }
  return out;
}

export interface DecodedRoute {
  name: string;
  match: { prefix: string; headers: { name: string; string_match: { exact: string } }[] };
  route: {
    cluster?: string;
    weighted_clusters?: { clusters: { name: string; weight: { value: number } }[] };
    timeout?: { seconds: string; nanos?: number };
    retry_policy?: { retry_on: string; num_retries: { value: number } };
    request_mirror_policies?: { cluster: string; runtime_fraction: { default_value: { numerator: number; denominator: string } } }[];
  };
  response_headers_to_add: { header: { key: string; value: string } }[];
}

/** The routes of the (single) RouteConfiguration of a snapshot. */
export function decodedRoutes(snapshot: Snapshot): DecodedRoute[] {
  const [rc] = decodeSnapshot(snapshot)[TypeUrl.RouteConfiguration] ?? [];
  const vhs = (rc as { virtual_hosts: { routes: DecodedRoute[] }[] }).virtual_hosts;
  return vhs[0]!.routes;
}

export function routeByName(snapshot: Snapshot, name: string): DecodedRoute {
  const r = decodedRoutes(snapshot).find((x) => x.name === name);
  if (!r) throw new Error(`no route ${name}`);
  return r;
}
