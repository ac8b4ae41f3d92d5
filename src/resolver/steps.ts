// The precedence steps of a resolve, highest first (docs/resolver.md, "Precedence"):
//   1. override    client match, or header match (test traffic only)
//   2. allocation  a cell id given by the external experimentation platform
//   3. experiment  sticky cell by hash(salt + ":" + userId) into 10,000 buckets
//   4. shift       `to` when hash(shiftSalt + ":" + userId) bucket < round(percent * 100)
//   5. default     the objective's default model
// Each step returns the prebuilt outcome that decides, or undefined to fall through.
import type { ResolveContext } from './context.js';
import { ResolveError } from './errors.js';
import { bucketWithPrefix } from './hash.js';
import type { Outcome, PreparedExperiment, PreparedObjective } from './prepare.js';

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The value of header `name` (lower case): exact key first, then a case-insensitive scan. */
function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  if (own(headers, name)) return headers[name];
  for (const key in headers) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/**
 * Step 1. The first override (table order) that matches: its client (if any) is the context's
 * client, and its header (if any) has the given value. A header match applies only to test traffic.
 */
export function byOverride(p: PreparedObjective, ctx: ResolveContext, testTraffic: boolean): Outcome | undefined {
  const overrides = p.overrides;
  for (let i = 0; i < overrides.length; i++) {
    const o = overrides[i]!;
    if (o.client !== undefined && o.client !== ctx.client) continue;
    if (o.headerName !== undefined) {
      if (!testTraffic || ctx.headers == null || headerValue(ctx.headers, o.headerName) !== o.headerValue) continue;
    }
    return o.outcome;
  }
  return undefined;
}

/**
 * Step 2. The cell the external platform allocated for the first experiment of the objective
 * (table order) that has an allocation. Allocations of experiments that do not target the
 * objective are ignored; an unknown cell id of a targeting experiment is an error.
 */
export function byAllocation(p: PreparedObjective, allocations: Readonly<Record<string, string>>): Outcome | undefined {
  const experiments = p.experiments;
  for (let i = 0; i < experiments.length; i++) {
    const e = experiments[i]!;
    if (!own(allocations, e.abTestId)) continue;
    const cell = allocations[e.abTestId]!;
    const outcome = e.byCell.get(cell);
    if (!outcome) {
      throw new ResolveError(
        'RESOLVE_UNKNOWN_CELL',
        `objective "${p.name}": allocation for experiment "${e.abTestId}" names cell "${cell}", which it does not have (cells: ${[...e.byCell.keys()].join(', ')})`,
        `allocations.${e.abTestId}`,
      );
    }
    return outcome;
  }
  return undefined;
}

/** The outcome of the cell whose range holds `bucket`, by binary search. */
function cellOf(e: PreparedExperiment, bucket: number): Outcome | undefined {
  const starts = e.starts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= bucket) lo = mid + 1;
    else hi = mid - 1;
  }
  // hi: the last range starting at or before the bucket.
  return hi >= 0 && bucket < e.ends[hi]! ? e.outcomes[hi] : undefined;
}

/** Step 3. The cell of the user's bucket in the first experiment (table order) whose cells cover it. */
export function byExperiment(p: PreparedObjective, userId: string): Outcome | undefined {
  const experiments = p.experiments;
  for (let i = 0; i < experiments.length; i++) {
    const e = experiments[i]!;
    const outcome = cellOf(e, bucketWithPrefix(e.prefix, userId));
    if (outcome) return outcome;
  }
  return undefined;
}

/** Step 4. The traffic shift's side of the user: `to` iff its bucket < round(percent * 100). */
export function byShift(p: PreparedObjective, userId: string): Outcome | undefined {
  const s = p.shift;
  if (!s) return undefined;
  return bucketWithPrefix(s.prefix, userId) < s.threshold ? s.to : s.from;
}
