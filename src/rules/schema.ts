// The authored shape of each rule kind, as zod schemas. Objects are strict: an unknown field is an
// error (usually a typo that would otherwise be silently ignored). Only shapes and types live
// here; ranges and cross-references are checked later with dedicated error codes.
import { z } from 'zod';
import type { RuleKind } from './model.js';

const text = z.string();
const int = z.int();
const description = text.optional();

export const objectiveSchema = z.strictObject({
  kind: z.literal('Objective'),
  name: text,
  defaultModel: text,
  modelType: text.optional(),
  inputType: text.optional(),
  timeoutMs: int.optional(),
  retries: int.optional(),
  description,
});

export const modelSchema = z.strictObject({
  kind: z.literal('Model'),
  name: text,
  // Optional in the schema so that a model without one gets the precise RULE_MODEL_UNPLACED.
  shard: text.optional(),
  version: text,
  params: z.record(z.string(), z.unknown()).optional(),
  description,
});

const endpointSchema = z.strictObject({
  address: text,
  port: int,
  zone: text.optional(),
  region: text.optional(),
  weight: int.optional(),
});

export const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH'] as const;

export const shardSchema = z.strictObject({
  kind: z.literal('Shard'),
  name: text,
  endpoints: z.array(endpointSchema),
  limits: z
    .strictObject({
      maxConnections: int.optional(),
      maxPendingRequests: int.optional(),
      maxRequests: int.optional(),
      maxRetries: int.optional(),
    })
    .optional(),
  outlierDetection: z
    .strictObject({
      consecutive5xx: int.optional(),
      intervalMs: int.optional(),
      baseEjectionTimeMs: int.optional(),
      maxEjectionPercent: z.number().optional(),
    })
    .optional(),
  connectTimeoutMs: int.optional(),
  lbPolicy: z.enum(LB_POLICIES).optional(),
  description,
});

/** A cell is a model name, or {model, percent}. */
const cellSchema = z.union([text, z.strictObject({ model: text, percent: z.number().optional() })]);
const cellsSchema = z.record(z.string(), cellSchema);

export const experimentSchema = z.strictObject({
  kind: z.literal('Experiment'),
  abTestId: z.union([text, int]),
  targetObjectives: z.array(text).min(1),
  cells: cellsSchema.optional(),
  /** The published design's name for `cells`. */
  cellToModel: cellsSchema.optional(),
  salt: text.optional(),
  modelType: text.optional(),
  modelInputType: text.optional(),
  description,
});

export const trafficShiftSchema = z.strictObject({
  kind: z.literal('TrafficShift'),
  name: text,
  objective: text,
  to: text,
  steps: z.array(z.strictObject({ percent: z.number(), hold: z.number() })),
  description,
});

export const migrationSchema = z.strictObject({
  kind: z.literal('Migration'),
  name: text,
  model: text,
  from: text,
  to: text,
  percent: z.number(),
  description,
});

export const shadowSchema = z.strictObject({
  kind: z.literal('Shadow'),
  name: text,
  objective: text,
  model: text,
  percent: z.number(),
  description,
});

export const overrideSchema = z.strictObject({
  kind: z.literal('Override'),
  name: text,
  objective: text,
  model: text,
  match: z.strictObject({
    client: text.optional(),
    header: z.strictObject({ name: text, value: text }).optional(),
  }),
  description,
});

export const clientSchema = z.strictObject({
  kind: z.literal('Client'),
  name: text,
  rateLimitRps: z.number().optional(),
  maxConcurrentRequests: int.optional(),
  testTraffic: z.boolean().optional(),
  description,
});

const metadataValue = z.union([text, z.boolean(), z.number()]);

export const rolloutPolicySchema = z.strictObject({
  kind: z.literal('RolloutPolicy'),
  name: text,
  canary: z
    .strictObject({
      metadata: z.record(z.string(), metadataValue).optional(),
      clusters: z.array(text).optional(),
      bake: z.number().optional(),
    })
    .optional(),
  waves: z.array(z.strictObject({ percent: z.number(), bake: z.number().optional() })).optional(),
  ackTimeout: z.number().optional(),
  description,
});

export const KIND_SCHEMAS = {
  Objective: objectiveSchema,
  Model: modelSchema,
  Shard: shardSchema,
  Experiment: experimentSchema,
  TrafficShift: trafficShiftSchema,
  Migration: migrationSchema,
  Shadow: shadowSchema,
  Override: overrideSchema,
  Client: clientSchema,
  RolloutPolicy: rolloutPolicySchema,
} as const satisfies Record<RuleKind, z.ZodType>;

export type RawRule<K extends RuleKind> = z.infer<(typeof KIND_SCHEMAS)[K]>;
export type RawCell = z.infer<typeof cellSchema>;

/** Field names a strict object accepts at `path` (for "did you mean" on unknown fields). */
export function allowedFields(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const seg of path) {
    s = s && unwrap(s);
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return [];
  }
  s = s && unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** Optional wrappers and unions hide the object a path points into. */
function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodUnion) {
      const obj = (cur.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
      if (!obj) return cur;
      cur = obj;
    } else return cur;
  }
}
