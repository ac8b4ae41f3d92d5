// Routing headers for a resolve result, and the structured record of which model served a request
// (real or test traffic), for logs, metrics and experiment analysis.
import type { DecidedBy, ResolveResult, ShiftSide } from '../resolver/types.js';
import { MODEL_RESPONSE_HEADER, OBJECTIVE_HEADER as OBJECTIVE, ROUTING_KEY_HEADER as ROUTING_KEY } from '../compile/constants.js';

/** The header Envoy and proxyless gRPC clients route on: "<objective>/<model>". */
export const ROUTING_KEY_HEADER = ROUTING_KEY;
/** The objective, for the fallback routes of clients that do not resolve (they get the default model). */
export const OBJECTIVE_HEADER = OBJECTIVE;
/**
 * Response header naming the model that served the request: Envoy adds it on every Switchyard route
 * (the model of the route), and a model server may set it itself (proxyless gRPC clients have no
 * proxy to add it). The client compares it with the resolved model in its served records.
 */
export const SERVED_MODEL_HEADER = MODEL_RESPONSE_HEADER;

/** The request headers of a routing decision. */
export interface RoutingHeaders {
  readonly 'x-routing-key': string;
  readonly 'x-objective': string;
}

// Results are prebuilt and shared (one per decision of a table), so are their headers.
const headersByResult = new WeakMap<ResolveResult, RoutingHeaders>();

/** The routing headers of a result (frozen, cached per result: no allocation per request). */
export function routingHeaders(result: ResolveResult): RoutingHeaders {
  let h = headersByResult.get(result);
  if (h === undefined) {
    h = Object.freeze({ [ROUTING_KEY_HEADER]: result.routingKey, [OBJECTIVE_HEADER]: result.objectiveConfig.objective });
    headersByResult.set(result, h);
  }
  return h;
}

/** What the caller knows about how a request went (all optional). */
export interface ServeOutcome {
  /** The calling service (Client rule name), when known. */
  client?: string;
  /** The model the server said served the request (e.g. its x-switchyard-model response header). */
  servedModel?: string;
  /** The request succeeded. */
  ok?: boolean;
  /** gRPC status code (0 = OK), for gRPC calls. */
  grpcCode?: number;
  latencyMs?: number;
  /** A request id to join the record with other logs. */
  requestId?: string;
}

/**
 * One served request, as a flat JSON-ready object: what the resolver decided and why, from which
 * table, whether it was real or test traffic, and what the server reported. It carries no user id.
 */
export interface ServedRecord {
  /** ISO 8601 time of the report. */
  readonly at: string;
  readonly objective: string;
  /** The model the resolver chose. */
  readonly model: string;
  readonly modelVersion: string;
  readonly routingKey: string;
  readonly decidedBy: DecidedBy;
  /** When an experiment cell decided. */
  readonly experiment?: { readonly abTestId: string; readonly cell: string };
  /** When the traffic shift decided. */
  readonly shift?: { readonly name: string; readonly side: ShiftSide };
  /** Name of the override that decided. */
  readonly override?: string;
  /** Test traffic (context.testTraffic or a test Client): keep it out of experiment analysis. */
  readonly testTraffic: boolean;
  /** 'real' or 'test', the same fact as a string for log queries. */
  readonly traffic: 'real' | 'test';
  /** Version of the resolver table that decided. */
  readonly tableVersion: string;
  /** Where that table came from: the control plane, or the disk cache during an outage. */
  readonly tableSource: 'ads' | 'disk';
  readonly client?: string;
  /** The model the server reported, when it did. */
  readonly servedModel?: string;
  /** The server reported a model other than the resolved one. */
  readonly modelMismatch: boolean;
  readonly ok?: boolean;
  readonly grpcCode?: number;
  readonly latencyMs?: number;
  readonly requestId?: string;
}

export function servedRecord(result: ResolveResult, outcome: ServeOutcome, tableSource: 'ads' | 'disk', at = new Date()): ServedRecord {
  const c = result.objectiveConfig;
  const mismatch = outcome.servedModel !== undefined && outcome.servedModel !== c.model;
  return {
    at: at.toISOString(),
    objective: c.objective,
    model: c.model,
    modelVersion: c.modelVersion,
    routingKey: result.routingKey,
    decidedBy: c.decidedBy,
    ...(c.experiment ? { experiment: { abTestId: c.experiment.abTestId, cell: c.experiment.cell } } : {}),
    ...(c.shift ? { shift: { name: c.shift.name, side: c.shift.side } } : {}),
    ...(c.override !== undefined ? { override: c.override } : {}),
    testTraffic: c.testTraffic,
    traffic: c.testTraffic ? 'test' : 'real',
    tableVersion: c.tableVersion,
    tableSource,
    ...(outcome.client !== undefined ? { client: outcome.client } : {}),
    ...(outcome.servedModel !== undefined ? { servedModel: outcome.servedModel } : {}),
    modelMismatch: mismatch,
    ...(outcome.ok !== undefined ? { ok: outcome.ok } : {}),
    ...(outcome.grpcCode !== undefined ? { grpcCode: outcome.grpcCode } : {}),
    ...(outcome.latencyMs !== undefined ? { latencyMs: outcome.latencyMs } : {}),
    ...(outcome.requestId !== undefined ? { requestId: outcome.requestId } : {}),
  };
}

/** Counters of one (objective, model). */
export interface ServedCount {
  real: number;
  test: number;
  /** Requests reported with ok: false. */
  failed: number;
  /** Requests whose server reported another model. */
  mismatched: number;
}

/** objective -> resolved model -> counters, since the client started (or resetServedCounts). */
export type ServedCounts = Record<string, Record<string, ServedCount>>;

export class ServedCounter {
  private counts = new Map<string, Map<string, ServedCount>>();

  add(r: ServedRecord): void {
    let byModel = this.counts.get(r.objective);
    if (!byModel) this.counts.set(r.objective, (byModel = new Map()));
    let c = byModel.get(r.model);
    if (!c) byModel.set(r.model, (c = { real: 0, test: 0, failed: 0, mismatched: 0 }));
    if (r.testTraffic) c.test++;
    else c.real++;
    if (r.ok === false) c.failed++;
    if (r.modelMismatch) c.mismatched++;
  }

  snapshot(): ServedCounts {
    const out: ServedCounts = {};
    for (const [objective, byModel] of [...this.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out[objective] = Object.fromEntries([...byModel].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([m, c]) => [m, { ...c }]));
    }
    return out;
  }

  reset(): void {
    this.counts = new Map();
  }
}
