// Turns a ResolverTable into the structures the hot path reads: per objective its overrides, its
// experiments (hash prefix + sorted bucket ranges, binary-searched), its shift (hash prefix +
// bucket threshold) and every possible result built in advance. A resolve then only picks one of
// these prebuilt, frozen results: it allocates nothing.
//
// Bucket lookup is a binary search over the few cell ranges of an experiment rather than a
// 10,000-entry Uint16Array per experiment: for 1,000 experiments the arrays would take 20 MB and
// turn each lookup into a cache miss, while the ranges of one experiment fit in one cache line.
import { BUCKET_COUNT } from '../compile/constants.js';
import type { ResolverExperiment, ResolverObjective, ResolverShift, ResolverTable } from '../compile/types.js';
import { ResolveError } from './errors.js';
import { hashPrefix, type HashPrefix } from './hash.js';
import type { DecidedBy, ObjectiveConfig, ResolveResult, ShiftSide } from './types.js';

/** One possible decision, prebuilt for production and for test traffic. */
export interface Outcome {
  readonly prod: ResolveResult;
  readonly test: ResolveResult;
}

export interface PreparedOverride {
  readonly name: string;
  readonly client: string | undefined;
  /** Lower case. */
  readonly headerName: string | undefined;
  readonly headerValue: string | undefined;
  readonly outcome: Outcome;
}

export interface PreparedExperiment {
  readonly abTestId: string;
  readonly prefix: HashPrefix;
  /** Non-empty cell ranges sorted by start: [starts[i], ends[i]) -> outcomes[i]. */
  readonly starts: Uint16Array;
  readonly ends: Uint16Array;
  readonly outcomes: readonly Outcome[];
  /** Every cell (empty ranges included) by id, for external allocations. */
  readonly byCell: ReadonlyMap<string, Outcome>;
}

export interface PreparedShift {
  readonly name: string;
  readonly prefix: HashPrefix;
  /** A user is on `to` when its bucket < threshold = round(percent * 100). */
  readonly threshold: number;
  readonly from: Outcome;
  readonly to: Outcome;
}

export interface PreparedObjective {
  readonly name: string;
  readonly overrides: readonly PreparedOverride[];
  readonly experiments: readonly PreparedExperiment[];
  readonly shift: PreparedShift | undefined;
  readonly fallback: Outcome;
  /** The hash steps (experiment, shift) exist, so a resolve that reaches them needs a userId. */
  readonly needsUserId: boolean;
}

export interface PreparedTable {
  readonly objectives: ReadonlyMap<string, PreparedObjective>;
  /** Names of the clients whose requests are test traffic. */
  readonly testClients: ReadonlySet<string>;
}

function bad(detail: string): ResolveError {
  return new ResolveError('RESOLVE_BAD_TABLE', detail);
}

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** A deep copy of JSON-like data (the table's own objects stay unfrozen). */
function copyJson(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(copyJson);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const value = copyJson((v as Record<string, unknown>)[k]);
    if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    else out[k] = value;
  }
  return out;
}

interface Decision {
  readonly decidedBy: DecidedBy;
  readonly experiment?: { readonly abTestId: string; readonly cell: string };
  readonly shift?: { readonly name: string; readonly side: ShiftSide };
  readonly override?: string;
}

class OutcomeBuilder {
  private readonly params = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(
    private readonly table: ResolverTable,
    private readonly tableVersion: string,
  ) {}

  private paramsOf(model: string): Readonly<Record<string, unknown>> {
    let p = this.params.get(model);
    if (!p) {
      p = deepFreeze(copyJson(this.table.models[model]!.params ?? {}) as Record<string, unknown>);
      this.params.set(model, p);
    }
    return p;
  }

  build(o: ResolverObjective, model: string, d: Decision, where: string): Outcome {
    if (!own(this.table.models, model)) throw bad(`objective "${o.name}": ${where} names model "${model}", which the table does not define`);
    if (!own(o.routingKeys, model) || typeof o.routingKeys[model] !== 'string') {
      throw bad(`objective "${o.name}": ${where} names model "${model}", which has no routing key in the objective`);
    }
    const routingKey = o.routingKeys[model]!;
    const m = this.table.models[model]!;
    const make = (testTraffic: boolean): ResolveResult => {
      const config: ObjectiveConfig = {
        objective: o.name,
        model,
        modelVersion: m.version,
        params: this.paramsOf(model),
        ...(d.experiment ? { experiment: Object.freeze({ ...d.experiment }) } : {}),
        ...(d.shift ? { shift: Object.freeze({ ...d.shift }) } : {}),
        ...(d.override !== undefined ? { override: d.override } : {}),
        decidedBy: d.decidedBy,
        tableVersion: this.tableVersion,
        timeoutMs: o.timeoutMs,
        retries: o.retries,
        testTraffic,
      };
      return Object.freeze({ routingKey, objectiveConfig: Object.freeze(config) });
    };
    return Object.freeze({ prod: make(false), test: make(true) });
  }
}

function isBucket(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= BUCKET_COUNT;
}

function prepareExperiment(o: ResolverObjective, e: ResolverExperiment, outcomes: OutcomeBuilder): PreparedExperiment {
  const where = `experiment "${e.abTestId}"`;
  if (typeof e.salt !== 'string') throw bad(`objective "${o.name}": ${where} has no salt`);
  const byCell = new Map<string, Outcome>();
  const ranges: { start: number; end: number; outcome: Outcome; id: string }[] = [];
  for (const c of e.cells) {
    if (byCell.has(c.id)) throw bad(`objective "${o.name}": ${where} has two cells "${c.id}"`);
    if (!isBucket(c.bucketStart) || !isBucket(c.bucketEnd) || c.bucketStart > c.bucketEnd) {
      throw bad(`objective "${o.name}": ${where} cell "${c.id}" has bucket range [${c.bucketStart}, ${c.bucketEnd}), not within [0, ${BUCKET_COUNT})`);
    }
    const outcome = outcomes.build(o, c.model, { decidedBy: 'experiment', experiment: { abTestId: e.abTestId, cell: c.id } }, `${where} cell "${c.id}"`);
    byCell.set(c.id, outcomes.build(o, c.model, { decidedBy: 'allocation', experiment: { abTestId: e.abTestId, cell: c.id } }, `${where} cell "${c.id}"`));
    if (c.bucketEnd > c.bucketStart) ranges.push({ start: c.bucketStart, end: c.bucketEnd, outcome, id: c.id });
  }
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.start < prev.end) throw bad(`objective "${o.name}": ${where} cells "${prev.id}" and "${cur.id}" have overlapping bucket ranges`);
  }
  return {
    abTestId: e.abTestId,
    prefix: hashPrefix(e.salt),
    starts: Uint16Array.from(ranges, (r) => r.start),
    ends: Uint16Array.from(ranges, (r) => r.end),
    outcomes: ranges.map((r) => r.outcome),
    byCell,
  };
}

function prepareShift(o: ResolverObjective, s: ResolverShift, outcomes: OutcomeBuilder): PreparedShift {
  const where = `traffic shift "${s.name}"`;
  if (typeof s.percent !== 'number' || !(s.percent >= 0 && s.percent <= 100)) throw bad(`objective "${o.name}": ${where} has percent ${s.percent}, not in 0..100`);
  if (typeof s.salt !== 'string') throw bad(`objective "${o.name}": ${where} has no salt`);
  return {
    name: s.name,
    prefix: hashPrefix(s.salt),
    threshold: Math.round(s.percent * (BUCKET_COUNT / 100)),
    from: outcomes.build(o, s.from, { decidedBy: 'shift', shift: { name: s.name, side: 'from' } }, `${where} (from)`),
    to: outcomes.build(o, s.to, { decidedBy: 'shift', shift: { name: s.name, side: 'to' } }, `${where} (to)`),
  };
}

function prepareObjective(key: string, o: ResolverObjective, outcomes: OutcomeBuilder): PreparedObjective {
  if (o.name !== key) throw bad(`objective keyed "${key}" is named "${o.name}"`);
  if (!Number.isFinite(o.timeoutMs) || !Number.isFinite(o.retries)) throw bad(`objective "${o.name}": timeoutMs and retries must be numbers`);
  const overrides = o.overrides.map((ov): PreparedOverride => {
    if (ov.client === undefined && ov.header === undefined) throw bad(`objective "${o.name}": override "${ov.name}" matches neither a client nor a header`);
    return {
      name: ov.name,
      client: ov.client,
      headerName: ov.header?.name.toLowerCase(),
      headerValue: ov.header?.value,
      outcome: outcomes.build(o, ov.model, { decidedBy: 'override', override: ov.name }, `override "${ov.name}"`),
    };
  });
  const experiments = o.experiments.map((e) => prepareExperiment(o, e, outcomes));
  const shift = o.shift ? prepareShift(o, o.shift, outcomes) : undefined;
  return {
    name: o.name,
    overrides,
    experiments,
    shift,
    fallback: outcomes.build(o, o.defaultModel, { decidedBy: 'default' }, 'defaultModel'),
    needsUserId: experiments.length > 0 || shift !== undefined,
  };
}

/** Checks the table's consistency and builds every structure and result of the hot path. */
export function prepareTable(table: ResolverTable, tableVersion: string): PreparedTable {
  if (typeof table !== 'object' || table === null || typeof table.objectives !== 'object' || typeof table.models !== 'object' || typeof table.clients !== 'object') {
    throw bad('the resolver table must have objectives, models and clients');
  }
  const outcomes = new OutcomeBuilder(table, tableVersion);
  const objectives = new Map<string, PreparedObjective>();
  for (const key of Object.keys(table.objectives).sort()) objectives.set(key, prepareObjective(key, table.objectives[key]!, outcomes));
  const testClients = new Set<string>();
  for (const name of Object.keys(table.clients)) if (table.clients[name]!.testTraffic === true) testClients.add(name);
  return { objectives, testClients };
}
