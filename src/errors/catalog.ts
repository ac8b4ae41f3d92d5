// The one catalog of Switchyard's error codes. Codes are stable: tools and runbooks match on them.
// Each layer owns a prefix: SNAP (snapshot), XDS (ADS server), RULE (rules: load/validate),
// COMP (compile), CLI, ADMIN. Add new codes at the end of their section; never renumber.

export interface ErrorSpec {
  /** One line: what is wrong, in general terms. */
  readonly title: string;
  /** How to fix it. */
  readonly hint: string;
}

export const ERROR_CATALOG = {
  // ---- snapshot
  SNAP_DANGLING_CLUSTER: {
    title: 'a route names a cluster that is not in the snapshot',
    hint: 'add the cluster (a Shard) or change the route to name an existing one',
  },
  SNAP_ORPHAN_ENDPOINTS: {
    title: 'a ClusterLoadAssignment names no cluster in the snapshot',
    hint: 'remove the endpoints or add the cluster they belong to',
  },
  SNAP_DANGLING_ROUTE_CONFIG: {
    title: 'a listener names a route configuration that is not in the snapshot',
    hint: 'add the RouteConfiguration or change the listener to name an existing one',
  },
  SNAP_DUPLICATE_RESOURCE: {
    title: 'two resources of one type share a name',
    hint: 'resource names must be unique per type',
  },
  SNAP_BAD_RESOURCE: {
    title: 'a resource cannot be encoded as its type',
    hint: 'the builder produced a field the Envoy proto does not define; fix the builder or the compiler',
  },
  SNAP_MISSING_NAME: {
    title: 'a resource has no name',
    hint: 'every xDS resource needs a non-empty name (cluster_name for ClusterLoadAssignment)',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error with a stable code, an optional location and the catalog's hint. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  constructor(code: ErrorCode, detail: string, hint?: string) {
    super(detail);
    this.name = 'SwitchyardError';
    this.code = code;
    this.hint = hint ?? ERROR_CATALOG[code].hint;
  }

  toJSON(): { code: string; message: string; hint: string } {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Several errors found in one pass (every problem, not only the first). */
export class AggregateSwitchyardError extends Error {
  constructor(readonly errors: SwitchyardError[]) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('\n'));
    this.name = 'AggregateSwitchyardError';
  }
}
