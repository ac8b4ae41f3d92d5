// Traffic shares per objective: which share of users each model gets, from a resolver table (the
// resolver's precedence: experiment cells, then the traffic shift, then the default model), and
// what a change moves. Overrides (client and test-header) are left out: they pick a model for
// named callers, not for a share of users. Pure; `switchyard plan` uses it on both sides.
import { BUCKET_COUNT, MODEL_RESPONSE_HEADER } from '../compile/constants.js';
import type { ResolverTable } from '../compile/types.js';

/** Objective -> model -> share of users, 0..100. */
export type ObjectiveShares = Record<string, Record<string, number>>;

/** Where the shares of one side of a plan come from. */
export type SharesBasis = 'resolver-table' | 'routes' | 'none';

function add(into: Record<string, number>, model: string, share: number): void {
  if (share <= 0) return;
  into[model] = (into[model] ?? 0) + share;
}

/**
 * Shares from a resolver table. Experiments hash users independently (each has its own salt), so
 * a later experiment of an objective sees the users the earlier ones did not cover; users no cell
 * covers go through the traffic shift (its `to` for `percent` of them), else the default model.
 */
export function sharesFromTable(table: ResolverTable): ObjectiveShares {
  const out: ObjectiveShares = {};
  for (const name of Object.keys(table.objectives).sort()) {
    const o = table.objectives[name]!;
    const shares: Record<string, number> = {};
    let remaining = 1;
    for (const e of o.experiments) {
      let covered = 0;
      for (const c of e.cells) {
        const width = Math.max(0, Math.min(BUCKET_COUNT, c.bucketEnd) - Math.max(0, c.bucketStart)) / BUCKET_COUNT;
        add(shares, c.model, remaining * width * 100);
        covered += width;
      }
      remaining *= Math.max(0, 1 - covered);
    }
    if (o.shift) {
      const to = Math.min(BUCKET_COUNT, Math.max(0, Math.round(o.shift.percent * (BUCKET_COUNT / 100)))) / BUCKET_COUNT;
      add(shares, o.shift.to, remaining * to * 100);
      add(shares, o.shift.from || o.defaultModel, remaining * (1 - to) * 100);
    } else {
      add(shares, o.defaultModel, remaining * 100);
    }
    out[name] = roundShares(shares);
  }
  return out;
}

function roundShares(shares: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of Object.keys(shares).sort()) out[m] = Math.round(shares[m]! * 100) / 100;
  return out;
}

/**
 * Shares read from a decoded RouteConfiguration when no resolver table is at hand: each
 * objective's fallback route (`objective:<name>`, what clients that do not resolve get) names its
 * default model in the x-switchyard-model response header. Experiments and shifts are invisible
 * there, so this gives the default model 100 %.
 */
export function sharesFromRoutes(routeConfigs: readonly unknown[]): ObjectiveShares {
  const out: ObjectiveShares = {};
  for (const rc of routeConfigs) {
    for (const vh of asArray(field(rc, 'virtual_hosts'))) {
      for (const route of asArray(field(vh, 'routes'))) {
        const name = field(route, 'name');
        if (typeof name !== 'string' || !name.startsWith('objective:')) continue;
        const model = modelHeader(route);
        if (model) out[name.slice('objective:'.length)] = { [model]: 100 };
      }
    }
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]!]));
}

function field(v: unknown, k: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function modelHeader(route: unknown): string | undefined {
  for (const h of asArray(field(route, 'response_headers_to_add'))) {
    const header = field(h, 'header');
    if (field(header, 'key') === MODEL_RESPONSE_HEADER && typeof field(header, 'value') === 'string') return field(header, 'value') as string;
  }
  return undefined;
}

export interface ModelShareChange {
  readonly model: string;
  readonly before: number;
  readonly after: number;
  /** after - before, in percentage points. */
  readonly delta: number;
}

export interface ObjectiveShareChange {
  readonly objective: string;
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
  /** Every model with a share on either side, by model name. */
  readonly models: ModelShareChange[];
}

/** Per objective (by name): each model's share before and after. */
export function diffShares(before: ObjectiveShares, after: ObjectiveShares): ObjectiveShareChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.map((objective) => {
    const a = before[objective];
    const b = after[objective];
    const models = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort().map((model) => {
      const x = a?.[model] ?? 0;
      const y = b?.[model] ?? 0;
      return { model, before: x, after: y, delta: Math.round((y - x) * 100) / 100 };
    });
    const status = !a ? 'added' : !b ? 'removed' : models.some((m) => m.delta !== 0) ? 'changed' : 'unchanged';
    return { objective, status, models };
  });
}
