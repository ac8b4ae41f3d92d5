// The resolver: request context -> { routingKey, objectiveConfig }, outside the request path.
// compileResolver() prepares a table once; Resolver.resolve() then validates the context, walks
// the precedence steps (steps.ts) and returns a prebuilt, frozen result.
import type { ResolverTable } from '../compile/types.js';
import { canonicalize } from '../compile/order.js';
import { digestStrings } from '../snapshot/digest.js';
import { validateContext, type ResolveContext } from './context.js';
import { ResolveError } from './errors.js';
import { prepareTable } from './prepare.js';
import { byAllocation, byExperiment, byOverride, byShift } from './steps.js';
import type { ResolveResult, Resolver } from './types.js';

/**
 * Checks `table` (RESOLVE_BAD_TABLE when it names a model without parameters or routing key, or
 * has overlapping or out-of-range bucket ranges) and returns a Resolver whose results carry
 * `tableVersion`.
 */
export function compileResolver(table: ResolverTable, tableVersion: string): Resolver {
  const prepared = prepareTable(table, tableVersion);
  const objectives = prepared.objectives;
  const testClients = prepared.testClients;
  const names = Object.freeze([...objectives.keys()]);

  const resolveContext = (ctx: ResolveContext): ResolveResult => {
    validateContext(ctx);
    const p = objectives.get(ctx.objective);
    if (p === undefined) throw new ResolveError('RESOLVE_UNKNOWN_OBJECTIVE', `objective "${ctx.objective}" is not in resolver table ${tableVersion}`, 'objective');
    const client = ctx.client;
    const testTraffic = ctx.testTraffic === true || (client != null && testClients.has(client));

    let outcome = p.overrides.length > 0 ? byOverride(p, ctx, testTraffic) : undefined;
    if (outcome === undefined && ctx.allocations != null && p.experiments.length > 0) outcome = byAllocation(p, ctx.allocations);
    if (outcome === undefined && p.needsUserId) {
      const userId = ctx.userId;
      if (userId == null || userId.length === 0) {
        throw new ResolveError('RESOLVE_MISSING_USER_ID', `objective "${p.name}" runs an experiment or a traffic shift: context.userId is required`, 'userId');
      }
      outcome = byExperiment(p, userId) ?? byShift(p, userId);
    }
    outcome ??= p.fallback;
    return testTraffic ? outcome.test : outcome.prod;
  };

  return Object.freeze({ tableVersion, objectives: names, resolve: resolveContext });
}

/** A content version of a table: 16 hex chars of sha256 over its canonical JSON. */
export function tableDigest(table: ResolverTable): string {
  return digestStrings([JSON.stringify(canonicalize(table))]);
}

const compiled = new WeakMap<ResolverTable, Resolver>();

/**
 * One-shot form: resolves `context` against `table`. The compiled resolver is cached per table
 * object (WeakMap), so repeated calls with the same table are as fast as Resolver.resolve. The
 * table version defaults to tableDigest(table).
 */
export function resolve(table: ResolverTable, context: ResolveContext, tableVersion?: string): ResolveResult {
  let r = compiled.get(table);
  if (r === undefined || (tableVersion !== undefined && r.tableVersion !== tableVersion)) {
    r = compileResolver(table, tableVersion ?? tableDigest(table));
    compiled.set(table, r);
  }
  return r.resolve(context);
}
