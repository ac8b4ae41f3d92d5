// The resolver table as an xDS resource: switchyard.v1.ResolverTable (proto/switchyard/v1/
// resolver.proto), one resource named "resolver-table". resolverTableToMessage() builds the plain
// object encodeMessage() takes; resolverTableFromMessage() reads what decodeMessage() returns.
// The round trip is exact, and the message is deterministic: objectives, models, clients and
// routing keys sorted by name; experiments, cells and overrides keep their (meaningful) order.
import { compareStrings } from '../compile/order.js';
import type {
  ResolverCell,
  ResolverExperiment,
  ResolverModel,
  ResolverObjective,
  ResolverOverride,
  ResolverShift,
  ResolverTable,
} from '../compile/types.js';
import { ResolveError } from './errors.js';
import { fromStruct, toStruct } from './struct.js';

/** xDS resource name of the resolver table. */
export const RESOLVER_TABLE_RESOURCE_NAME = 'resolver-table';
/** Fully qualified message type (pass to encodeMessage / decodeMessage). */
export const RESOLVER_TABLE_MESSAGE = 'switchyard.v1.ResolverTable';

type Obj = Record<string, unknown>;

const sortedKeys = (o: object): string[] => Object.keys(o).sort(compareStrings);

function cellMessage(c: ResolverCell): Obj {
  return { id: c.id, model: c.model, percent: c.percent, bucket_start: c.bucketStart, bucket_end: c.bucketEnd };
}

function experimentMessage(e: ResolverExperiment): Obj {
  return { ab_test_id: e.abTestId, salt: e.salt, cells: e.cells.map(cellMessage) };
}

function shiftMessage(s: ResolverShift): Obj {
  return { name: s.name, from_model: s.from, to_model: s.to, percent: s.percent, step_index: s.stepIndex, salt: s.salt };
}

function overrideMessage(o: ResolverOverride): Obj {
  return {
    name: o.name,
    model: o.model,
    ...(o.client !== undefined ? { client: o.client } : {}),
    ...(o.header !== undefined ? { header: { name: o.header.name, value: o.header.value } } : {}),
  };
}

function objectiveMessage(o: ResolverObjective): Obj {
  return {
    name: o.name,
    default_model: o.defaultModel,
    ...(o.modelType !== undefined ? { model_type: o.modelType } : {}),
    ...(o.inputType !== undefined ? { input_type: o.inputType } : {}),
    timeout_ms: o.timeoutMs,
    retries: o.retries,
    routing_keys: sortedKeys(o.routingKeys).map((model) => ({ model, routing_key: o.routingKeys[model] })),
    experiments: o.experiments.map(experimentMessage),
    ...(o.shift !== undefined ? { shift: shiftMessage(o.shift) } : {}),
    overrides: o.overrides.map(overrideMessage),
  };
}

function modelMessage(m: ResolverModel): Obj {
  return { name: m.name, version: m.version, shard: m.shard, params: toStruct(m.params, `models.${m.name}.params`) };
}

/**
 * The table as a plain switchyard.v1.ResolverTable object (proto field names), ready for
 * encodeMessage(RESOLVER_TABLE_MESSAGE, obj). Throws RESOLVE_BAD_TABLE when model params are not
 * JSON data (Struct carries JSON only).
 */
export function resolverTableToMessage(table: ResolverTable): Obj {
  return {
    name: RESOLVER_TABLE_RESOURCE_NAME,
    objectives: sortedKeys(table.objectives).map((k) => objectiveMessage(table.objectives[k]!)),
    models: sortedKeys(table.models).map((k) => modelMessage(table.models[k]!)),
    clients: sortedKeys(table.clients).map((name) => ({ name, test_traffic: table.clients[name]!.testTraffic })),
  };
}

// ---- decoding: proto3 omits default values, so an absent scalar is its default ('' / 0 / false)

function bad(path: string, detail: string): ResolveError {
  return new ResolveError('RESOLVE_BAD_TABLE', `ResolverTable message: ${path}: ${detail}`);
}

function asObj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'expected a message');
  return v as Obj;
}

const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined && o[k] !== null;

function str(o: Obj, k: string, path: string): string {
  if (!has(o, k)) return '';
  const v = o[k];
  if (typeof v !== 'string') throw bad(`${path}.${k}`, 'expected a string');
  return v;
}

function num(o: Obj, k: string, path: string): number {
  if (!has(o, k)) return 0;
  const v = o[k];
  // 64-bit integers decode as strings; doubles as numbers (or "NaN"/"Infinity" in JSON form).
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw bad(`${path}.${k}`, 'expected a finite number');
  return n;
}

function bool(o: Obj, k: string, path: string): boolean {
  if (!has(o, k)) return false;
  const v = o[k];
  if (typeof v !== 'boolean') throw bad(`${path}.${k}`, 'expected a boolean');
  return v;
}

function list(o: Obj, k: string, path: string): Obj[] {
  if (!has(o, k)) return [];
  const v = o[k];
  if (!Array.isArray(v)) throw bad(`${path}.${k}`, 'expected a list');
  return v.map((item, i) => asObj(item, `${path}.${k}[${i}]`));
}

/** A record keyed by each item's name; a repeated name is an error. */
function byName<T extends { readonly name: string }>(items: T[], path: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of [...items].sort((a, b) => compareStrings(a.name, b.name))) {
    if (Object.prototype.hasOwnProperty.call(out, item.name)) throw bad(path, `"${item.name}" appears twice`);
    out[item.name] = item;
  }
  return out;
}

function cellFrom(m: Obj, path: string): ResolverCell {
  return { id: str(m, 'id', path), model: str(m, 'model', path), percent: num(m, 'percent', path), bucketStart: num(m, 'bucket_start', path), bucketEnd: num(m, 'bucket_end', path) };
}

function experimentFrom(m: Obj, path: string): ResolverExperiment {
  return { abTestId: str(m, 'ab_test_id', path), salt: str(m, 'salt', path), cells: list(m, 'cells', path).map((c, i) => cellFrom(c, `${path}.cells[${i}]`)) };
}

function shiftFrom(m: Obj, path: string): ResolverShift {
  return {
    name: str(m, 'name', path),
    from: str(m, 'from_model', path),
    to: str(m, 'to_model', path),
    percent: num(m, 'percent', path),
    stepIndex: num(m, 'step_index', path),
    salt: str(m, 'salt', path),
  };
}

function overrideFrom(m: Obj, path: string): ResolverOverride {
  const header = has(m, 'header') ? asObj(m.header, `${path}.header`) : undefined;
  return {
    name: str(m, 'name', path),
    model: str(m, 'model', path),
    ...(has(m, 'client') ? { client: str(m, 'client', path) } : {}),
    ...(header ? { header: { name: str(header, 'name', `${path}.header`), value: str(header, 'value', `${path}.header`) } } : {}),
  };
}

function objectiveFrom(m: Obj, path: string): ResolverObjective {
  const routingKeys: Record<string, string> = {};
  const keys = list(m, 'routing_keys', path).map((r, i) => ({ model: str(r, 'model', `${path}.routing_keys[${i}]`), key: str(r, 'routing_key', `${path}.routing_keys[${i}]`) }));
  for (const r of keys.sort((a, b) => compareStrings(a.model, b.model))) {
    if (Object.prototype.hasOwnProperty.call(routingKeys, r.model)) throw bad(`${path}.routing_keys`, `model "${r.model}" appears twice`);
    routingKeys[r.model] = r.key;
  }
  return {
    name: str(m, 'name', path),
    defaultModel: str(m, 'default_model', path),
    ...(has(m, 'model_type') ? { modelType: str(m, 'model_type', path) } : {}),
    ...(has(m, 'input_type') ? { inputType: str(m, 'input_type', path) } : {}),
    timeoutMs: num(m, 'timeout_ms', path),
    retries: num(m, 'retries', path),
    routingKeys,
    experiments: list(m, 'experiments', path).map((e, i) => experimentFrom(e, `${path}.experiments[${i}]`)),
    ...(has(m, 'shift') ? { shift: shiftFrom(asObj(m.shift, `${path}.shift`), `${path}.shift`) } : {}),
    overrides: list(m, 'overrides', path).map((o, i) => overrideFrom(o, `${path}.overrides[${i}]`)),
  };
}

function modelFrom(m: Obj, path: string): ResolverModel {
  return { name: str(m, 'name', path), version: str(m, 'version', path), shard: str(m, 'shard', path), params: fromStruct(m.params, `${path}.params`) };
}

/**
 * The ResolverTable of a decoded switchyard.v1.ResolverTable (decodeMessage output, or protobufjs
 * toObject with proto field names). Throws RESOLVE_BAD_TABLE on a malformed message; consistency
 * (models named by objectives exist, bucket ranges) is checked by compileResolver.
 */
export function resolverTableFromMessage(decoded: unknown): ResolverTable {
  const m = asObj(decoded, '');
  const objectives = list(m, 'objectives', 'ResolverTable').map((o, i) => objectiveFrom(o, `objectives[${i}]`));
  const models = list(m, 'models', 'ResolverTable').map((o, i) => modelFrom(o, `models[${i}]`));
  const clients = list(m, 'clients', 'ResolverTable').map((c, i) => ({ name: str(c, 'name', `clients[${i}]`), testTraffic: bool(c, 'test_traffic', `clients[${i}]`) }));
  return {
    objectives: byName(objectives, 'objectives'),
    models: byName(models, 'models'),
    clients: Object.fromEntries(Object.entries(byName(clients, 'clients')).map(([name, c]) => [name, { testTraffic: c.testTraffic }])),
  };
}
