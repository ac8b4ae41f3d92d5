// The Resolve gRPC service (switchyard.v1.Resolver, proto/switchyard/v1/resolver.proto) for
// clients in other languages. Serialization uses protobufjs; the same definition serves grpc-js
// servers (context in, result out) and grpc-js clients (makeGenericClientConstructor).
//
// A resolve returns one of a few prebuilt, frozen results, so each result is encoded once and its
// bytes are cached (WeakMap keyed by the result object): serving costs a request decode, a
// resolve and a map lookup.
import * as grpc from '@grpc/grpc-js';
import { messageType, encodeMessage, decodeMessage } from '../proto/messages.js';
import type { ResolveContext } from './context.js';
import { ResolveError, type ResolveErrorCode } from './errors.js';
import { fromStruct, toStruct } from './struct.js';
import type { DecidedBy, ObjectiveConfig, ResolveResult, Resolver, ShiftSide } from './types.js';

export const RESOLVER_SERVICE_NAME = 'switchyard.v1.Resolver';
export const RESOLVE_METHOD_PATH = `/${RESOLVER_SERVICE_NAME}/Resolve`;
/** Trailing metadata key carrying the RESOLVE_* code of a failed call. */
export const ERROR_CODE_METADATA_KEY = 'switchyard-error-code';

const REQUEST = 'switchyard.v1.ResolveRequest';
const RESPONSE = 'switchyard.v1.ResolveResponse';

/** gRPC status of each resolver error code. */
export const RESOLVE_GRPC_STATUS: Readonly<Record<ResolveErrorCode, grpc.status>> = {
  RESOLVE_BAD_CONTEXT: grpc.status.INVALID_ARGUMENT,
  RESOLVE_UNKNOWN_FIELD: grpc.status.INVALID_ARGUMENT,
  RESOLVE_MISSING_OBJECTIVE: grpc.status.INVALID_ARGUMENT,
  RESOLVE_MISSING_USER_ID: grpc.status.INVALID_ARGUMENT,
  RESOLVE_UNKNOWN_CELL: grpc.status.INVALID_ARGUMENT,
  RESOLVE_UNKNOWN_OBJECTIVE: grpc.status.NOT_FOUND,
  RESOLVE_NO_TABLE: grpc.status.UNAVAILABLE,
  RESOLVE_BAD_TABLE: grpc.status.INTERNAL,
};

const DECIDED_BY_ENUM: Readonly<Record<DecidedBy, string>> = {
  override: 'DECIDED_BY_OVERRIDE',
  allocation: 'DECIDED_BY_ALLOCATION',
  experiment: 'DECIDED_BY_EXPERIMENT',
  shift: 'DECIDED_BY_SHIFT',
  default: 'DECIDED_BY_DEFAULT',
};
const SIDE_ENUM: Readonly<Record<ShiftSide, string>> = { from: 'SHIFT_SIDE_FROM', to: 'SHIFT_SIDE_TO' };
const invert = <K extends string>(m: Readonly<Record<K, string>>): ReadonlyMap<string, K> => new Map(Object.entries(m).map(([k, v]) => [v as string, k as K]));
const DECIDED_BY_FROM_ENUM = invert(DECIDED_BY_ENUM);
const SIDE_FROM_ENUM = invert(SIDE_ENUM);

// ---- request: ResolveContext <-> switchyard.v1.ResolveRequest

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Encodes a context as a ResolveRequest (client side). Fields that proto cannot carry are dropped. */
export function encodeResolveRequest(ctx: ResolveContext): Buffer {
  const m: Record<string, unknown> = { objective: ctx.objective };
  if (ctx.userId != null) m.user_id = ctx.userId;
  if (ctx.country != null) m.country = ctx.country;
  if (ctx.device != null) m.device = ctx.device;
  if (ctx.surface != null) m.surface = ctx.surface;
  if (ctx.client != null) m.client = ctx.client;
  if (ctx.testTraffic === true) m.test_traffic = true;
  if (ctx.allocations != null) m.allocations = ctx.allocations;
  if (ctx.headers != null) m.headers = ctx.headers;
  const type = messageType(REQUEST);
  return Buffer.from(type.encode(type.fromObject(m)).finish());
}

interface DecodedRequest {
  objective: string;
  user_id: string;
  country?: string;
  device?: string;
  surface?: string;
  client?: string;
  test_traffic: boolean;
  allocations: Record<string, string>;
  headers: Record<string, string>;
}

function nonEmpty(m: Record<string, string> | undefined): boolean {
  if (!m) return false;
  for (const _ in m) return true;
  return false;
}

/** Decodes a ResolveRequest into a context (server side). Proto defaults ('' / false / {}) mean absent. */
export function decodeResolveRequest(bytes: Uint8Array): ResolveContext {
  const m = messageType(REQUEST).decode(bytes) as unknown as DecodedRequest;
  const ctx: Mutable<ResolveContext> = { objective: m.objective };
  if (m.user_id) ctx.userId = m.user_id;
  if (hasOwn(m, 'country')) ctx.country = m.country!;
  if (hasOwn(m, 'device')) ctx.device = m.device!;
  if (hasOwn(m, 'surface')) ctx.surface = m.surface!;
  if (hasOwn(m, 'client')) ctx.client = m.client!;
  if (m.test_traffic) ctx.testTraffic = true;
  if (nonEmpty(m.allocations)) ctx.allocations = m.allocations;
  if (nonEmpty(m.headers)) ctx.headers = m.headers;
  return ctx;
}

// ---- response: ResolveResult <-> switchyard.v1.ResolveResponse

/** The ResolveResponse plain object (proto field names) of a result. */
export function resolveResponseMessage(r: ResolveResult): Record<string, unknown> {
  const c = r.objectiveConfig;
  return {
    routing_key: r.routingKey,
    objective_config: {
      objective: c.objective,
      model: c.model,
      model_version: c.modelVersion,
      params: toStruct(c.params),
      ...(c.experiment ? { experiment: { ab_test_id: c.experiment.abTestId, cell: c.experiment.cell } } : {}),
      ...(c.shift ? { shift: { name: c.shift.name, side: SIDE_ENUM[c.shift.side] } } : {}),
      ...(c.override !== undefined ? { override: c.override } : {}),
      decided_by: DECIDED_BY_ENUM[c.decidedBy],
      table_version: c.tableVersion,
      timeout_ms: c.timeoutMs,
      retries: c.retries,
      test_traffic: c.testTraffic,
    },
  };
}

const encodedResults = new WeakMap<ResolveResult, Buffer>();

/** Encodes a result as a ResolveResponse; the bytes of each (shared, frozen) result are cached. */
export function encodeResolveResponse(r: ResolveResult): Buffer {
  let bytes = encodedResults.get(r);
  if (bytes === undefined) {
    bytes = Buffer.from(encodeMessage(RESPONSE, resolveResponseMessage(r)));
    if (Object.isFrozen(r)) encodedResults.set(r, bytes);
  }
  return bytes;
}

type Json = Record<string, unknown>;

/** Decodes a ResolveResponse back into a result (client side). */
export function decodeResolveResponse(bytes: Uint8Array): ResolveResult {
  const m = decodeMessage(RESPONSE, bytes) as { routing_key?: string; objective_config?: Json };
  const c = m.objective_config ?? {};
  const str = (k: string): string => (typeof c[k] === 'string' ? (c[k] as string) : '');
  const int = (k: string): number => (typeof c[k] === 'number' ? (c[k] as number) : 0);
  const experiment = c.experiment as { ab_test_id?: string; cell?: string } | undefined;
  const shift = c.shift as { name?: string; side?: string } | undefined;
  const config: ObjectiveConfig = {
    objective: str('objective'),
    model: str('model'),
    modelVersion: str('model_version'),
    params: fromStruct(c.params),
    ...(experiment ? { experiment: { abTestId: experiment.ab_test_id ?? '', cell: experiment.cell ?? '' } } : {}),
    ...(shift ? { shift: { name: shift.name ?? '', side: SIDE_FROM_ENUM.get(shift.side ?? '') ?? 'from' } } : {}),
    ...(typeof c.override === 'string' ? { override: c.override } : {}),
    decidedBy: DECIDED_BY_FROM_ENUM.get(str('decided_by')) ?? 'default',
    tableVersion: str('table_version'),
    timeoutMs: int('timeout_ms'),
    retries: int('retries'),
    testTraffic: c.test_traffic === true,
  };
  return { routingKey: m.routing_key ?? '', objectiveConfig: config };
}

// ---- service

/**
 * The grpc-js ServiceDefinition of switchyard.v1.Resolver: requests are ResolveContext objects,
 * responses ResolveResult objects, on both the server and the client side.
 */
export function resolverServiceDefinition(): grpc.ServiceDefinition {
  return {
    Resolve: {
      path: RESOLVE_METHOD_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeResolveRequest,
      requestDeserialize: decodeResolveRequest,
      responseSerialize: encodeResolveResponse,
      responseDeserialize: decodeResolveResponse,
      originalName: 'resolve',
    },
  };
}

/** A grpc-js client constructor for switchyard.v1.Resolver (method: resolve / Resolve). */
export function resolverClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(resolverServiceDefinition(), 'Resolver');
}

function errorStatus(err: unknown): grpc.ServerErrorResponse {
  const metadata = new grpc.Metadata();
  if (err instanceof ResolveError) {
    metadata.set(ERROR_CODE_METADATA_KEY, err.code);
    return Object.assign(new Error(err.message), { code: RESOLVE_GRPC_STATUS[err.code], details: `${err.code}: ${err.message}`, metadata });
  }
  return Object.assign(new Error('internal resolver error'), { code: grpc.status.INTERNAL, details: `internal resolver error: ${err instanceof Error ? err.message : String(err)}`, metadata });
}

/**
 * The implementation of switchyard.v1.Resolver over the current resolver (undefined until the
 * first table is published: UNAVAILABLE with RESOLVE_NO_TABLE). ResolveErrors map to
 * INVALID_ARGUMENT / NOT_FOUND / UNAVAILABLE (see RESOLVE_GRPC_STATUS), with the RESOLVE_* code in
 * the details and in the trailing metadata key "switchyard-error-code".
 */
export function resolverServiceImplementation(getResolver: () => Resolver | undefined): grpc.UntypedServiceImplementation {
  const Resolve: grpc.handleUnaryCall<ResolveContext, ResolveResult> = (call, callback) => {
    let result: ResolveResult;
    try {
      const resolver = getResolver();
      if (resolver === undefined) throw new ResolveError('RESOLVE_NO_TABLE', 'no resolver table has been published yet');
      result = resolver.resolve(call.request);
    } catch (err) {
      callback(errorStatus(err));
      return;
    }
    callback(null, result);
  };
  return { Resolve };
}
