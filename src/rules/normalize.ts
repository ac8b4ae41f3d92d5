// From the authored shape (schema-valid) to the rule model: defaults, cells as a list, percent
// splitting, hold -> holdSeconds. Fields stay absent rather than undefined so rule sets compare
// (and digest) the same however they were written.
import { ruleError, type RuleError } from './errors.js';
import type { ExperimentCell, Rule, RuleKind, SourceLocation } from './model.js';
import type { RawCell, RawRule } from './schema.js';
import { splitEvenly } from './split.js';
import { fieldLocsOf, locate, type SourceDocument } from './source.js';

export const OBJECTIVE_DEFAULTS = { timeoutMs: 1000, retries: 1 } as const;

/** A RolloutPolicy without `canary` selects nodes whose metadata says `canary: true`; without `waves`, 10 %, 50 %, 100 %. */
export const ROLLOUT_POLICY_DEFAULTS = {
  canaryMetadata: { canary: 'true' },
  waves: [10, 50, 100],
  /** A healthy proxy ACKs in milliseconds; two minutes covers a wave of thousands on a slow network. */
  ackTimeoutSeconds: 120,
} as const;

export interface Normalized {
  /** Absent when the document cannot become a rule (errors say why). */
  readonly rule?: Rule;
  readonly errors: RuleError[];
}

export function normalize<K extends RuleKind>(kind: K, raw: RawRule<K>, doc: SourceDocument, subject: string): Normalized {
  const base = { loc: doc.loc, fieldLocs: fieldLocsOf(doc) };
  switch (kind) {
    case 'Objective': {
      const r = raw as RawRule<'Objective'>;
      return ok({
        kind,
        name: r.name,
        ...base,
        defaultModel: r.defaultModel,
        ...present({ modelType: r.modelType, inputType: r.inputType }),
        timeoutMs: r.timeoutMs ?? OBJECTIVE_DEFAULTS.timeoutMs,
        retries: r.retries ?? OBJECTIVE_DEFAULTS.retries,
        ...present({ description: r.description }),
      });
    }
    case 'Model': {
      const r = raw as RawRule<'Model'>;
      if (r.shard === undefined) {
        return fail(ruleError('RULE_MODEL_UNPLACED', doc.loc, `${subject} is placed on no shard`));
      }
      return ok({ kind, name: r.name, ...base, shard: r.shard, version: r.version, params: r.params ?? {} });
    }
    case 'Shard': {
      const r = raw as RawRule<'Shard'>;
      return ok({
        kind,
        name: r.name,
        ...base,
        endpoints: r.endpoints.map((e) => ({ address: e.address, port: e.port, ...present({ zone: e.zone, region: e.region, weight: e.weight }) })),
        ...present({
          limits: r.limits && present(r.limits),
          outlierDetection: r.outlierDetection && present(r.outlierDetection),
          connectTimeoutMs: r.connectTimeoutMs,
          lbPolicy: r.lbPolicy,
        }),
      });
    }
    case 'Experiment':
      return normalizeExperiment(raw as RawRule<'Experiment'>, doc, base, subject);
    case 'TrafficShift': {
      const r = raw as RawRule<'TrafficShift'>;
      return ok({ kind, name: r.name, ...base, objective: r.objective, to: r.to, steps: r.steps.map((s) => ({ percent: s.percent, holdSeconds: s.hold })) });
    }
    case 'Migration': {
      const r = raw as RawRule<'Migration'>;
      return ok({ kind, name: r.name, ...base, model: r.model, from: r.from, to: r.to, percent: r.percent });
    }
    case 'Shadow': {
      const r = raw as RawRule<'Shadow'>;
      return ok({ kind, name: r.name, ...base, objective: r.objective, model: r.model, percent: r.percent });
    }
    case 'Override': {
      const r = raw as RawRule<'Override'>;
      const match = present({ client: r.match.client, header: r.match.header && { name: r.match.header.name, value: r.match.header.value } });
      return ok({ kind, name: r.name, ...base, objective: r.objective, model: r.model, match });
    }
    case 'Client': {
      const r = raw as RawRule<'Client'>;
      return ok({ kind, name: r.name, ...base, ...present({ rateLimitRps: r.rateLimitRps, maxConcurrentRequests: r.maxConcurrentRequests }), testTraffic: r.testTraffic ?? false });
    }
    case 'RolloutPolicy': {
      const r = raw as RawRule<'RolloutPolicy'>;
      const canary = r.canary
        ? {
            metadata: Object.fromEntries(Object.entries(r.canary.metadata ?? {}).map(([k, v]) => [k, String(v)])),
            clusters: [...(r.canary.clusters ?? [])],
            bakeSeconds: r.canary.bake ?? 0,
          }
        : { metadata: { ...ROLLOUT_POLICY_DEFAULTS.canaryMetadata }, clusters: [], bakeSeconds: 0 };
      const waves = r.waves ? r.waves.map((w) => ({ percent: w.percent, bakeSeconds: w.bake ?? 0 })) : ROLLOUT_POLICY_DEFAULTS.waves.map((percent) => ({ percent, bakeSeconds: 0 }));
      return ok({ kind, name: r.name, ...base, canary, waves, ackTimeoutSeconds: r.ackTimeout ?? ROLLOUT_POLICY_DEFAULTS.ackTimeoutSeconds });
    }
  }
  throw new Error(`unhandled kind ${String(kind)}`);
}

function normalizeExperiment(
  r: RawRule<'Experiment'>,
  doc: SourceDocument,
  base: { loc: SourceLocation; fieldLocs: Record<string, SourceLocation> },
  subject: string,
): Normalized {
  if (r.cells && r.cellToModel) {
    return fail(ruleError('RULE_BAD_VALUE', locate(doc, ['cellToModel'], 'key'), `${subject} gives both "cells" and "cellToModel"`, 'keep one of them (they mean the same)'));
  }
  const field = r.cells ? 'cells' : 'cellToModel';
  const authored = r.cells ?? r.cellToModel;
  if (!authored) {
    return fail(ruleError('RULE_MISSING_FIELD', doc.loc, `${subject} is missing required field "cells"`, 'add cells: {CELL_ID: {model: MODEL, percent: N}} (or cellToModel)'));
  }
  const entries = Object.entries(authored).map(([id, c]) => ({ id, ...cellOf(c) }));
  if (entries.length === 0) {
    return fail(ruleError('RULE_NO_CELLS', locate(doc, [field]), `${subject} has no cells`));
  }
  const given = entries.filter((c) => c.percent !== undefined);
  let cells: ExperimentCell[];
  if (given.length === entries.length) {
    cells = entries.map((c) => ({ id: c.id, model: c.model, percent: c.percent! }));
  } else if (given.length === 0) {
    const split = splitEvenly(entries.length);
    cells = entries.map((c, i) => ({ id: c.id, model: c.model, percent: split[i]! }));
  } else {
    const missing = entries.filter((c) => c.percent === undefined).map((c) => `"${c.id}"`);
    return fail(
      ruleError('RULE_PARTIAL_PERCENTS', locate(doc, [field]), `${subject} gives percents for some cells but not for ${missing.join(', ')}`),
    );
  }
  const abTestId = String(r.abTestId);
  return ok({
    kind: 'Experiment',
    name: abTestId,
    ...base,
    abTestId,
    targetObjectives: [...r.targetObjectives],
    cells,
    salt: r.salt ?? `ab${abTestId}`,
    ...present({ modelType: r.modelType, modelInputType: r.modelInputType }),
  });
}

function cellOf(c: RawCell): { model: string; percent?: number } {
  return typeof c === 'string' ? { model: c } : present({ model: c.model, percent: c.percent });
}

/** The authored field that holds an experiment's cells ("cells" or "cellToModel"), for locations. */
export function cellsField(rule: { fieldLocs: Readonly<Record<string, SourceLocation>> }): string {
  return 'cellToModel' in rule.fieldLocs ? 'cellToModel' : 'cells';
}

function ok(rule: Rule): Normalized {
  return { rule, errors: [] };
}

function fail(e: RuleError): Normalized {
  return { errors: [e] };
}

/** Drops undefined-valued keys. */
function present<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
