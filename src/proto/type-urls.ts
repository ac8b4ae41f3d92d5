// Type URLs of the resources Switchyard serves, and the order a stream receives them in
// (design rule 1: CDS, EDS, LDS, RDS; Switchyard's own resolver table last).
export const TypeUrl = {
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  ResolverTable: 'type.googleapis.com/switchyard.v1.ResolverTable',
} as const;

export type KnownTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

export const PUSH_ORDER: readonly string[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.ResolverTable,
];

/** Short names for logs, metrics and the CLI. */
export const SHORT_NAMES: Readonly<Record<string, string>> = {
  [TypeUrl.Cluster]: 'CDS',
  [TypeUrl.ClusterLoadAssignment]: 'EDS',
  [TypeUrl.Listener]: 'LDS',
  [TypeUrl.RouteConfiguration]: 'RDS',
  [TypeUrl.ResolverTable]: 'RESOLVER',
};

export function shortName(typeUrl: string): string {
  return SHORT_NAMES[typeUrl] ?? typeUrl.replace(/^type\.googleapis\.com\//, '');
}

/** Types whose state-of-the-world responses carry the full set (design rule 4). */
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl === TypeUrl.Cluster || typeUrl === TypeUrl.Listener;
}

export function typeNameOf(typeUrl: string): string {
  return typeUrl.replace(/^type\.googleapis\.com\//, '');
}

/** Order index for sorting types in push order; unknown types go last, alphabetically. */
export function pushRank(typeUrl: string): number {
  const i = PUSH_ORDER.indexOf(typeUrl);
  return i === -1 ? PUSH_ORDER.length : i;
}
