// What a resolve returns: the routing key Envoy routes on and the per-request model configuration.
import type { ResolveContext } from './context.js';

/** The precedence level that decided the model (docs/resolver.md, "Precedence"). */
export type DecidedBy = 'override' | 'allocation' | 'experiment' | 'shift' | 'default';

export const DECIDED_BY: readonly DecidedBy[] = ['override', 'allocation', 'experiment', 'shift', 'default'];

export type ShiftSide = 'from' | 'to';

/** The per-request model-serving configuration of an objective. */
export interface ObjectiveConfig {
  readonly objective: string;
  readonly model: string;
  readonly modelVersion: string;
  /** The model's parameters (deeply frozen, shared between results). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Set when an experiment cell decided (by allocation or by hash). */
  readonly experiment?: { readonly abTestId: string; readonly cell: string };
  /** Set when the traffic shift decided. */
  readonly shift?: { readonly name: string; readonly side: ShiftSide };
  /** Name of the override that decided. */
  readonly override?: string;
  readonly decidedBy: DecidedBy;
  /** Version of the resolver table that produced this result. */
  readonly tableVersion: string;
  readonly timeoutMs: number;
  readonly retries: number;
  /** The request is test traffic (context.testTraffic, or a Client rule with testTraffic). */
  readonly testTraffic: boolean;
}

export interface ResolveResult {
  /** Value of the x-routing-key header: "<objective>/<model>". */
  readonly routingKey: string;
  readonly objectiveConfig: ObjectiveConfig;
}

/** A resolver table compiled for fast resolves (see compileResolver). */
export interface Resolver {
  readonly tableVersion: string;
  /** Objective names of the table, sorted. */
  readonly objectives: readonly string[];
  /**
   * Validates `context` (it may come straight from JSON: a cast from unknown is safe) and returns
   * the routing decision. Throws a ResolveError; never falls back silently. The result is
   * immutable and shared between requests that reach the same decision: do not mutate it.
   */
  resolve(context: ResolveContext): ResolveResult;
}
