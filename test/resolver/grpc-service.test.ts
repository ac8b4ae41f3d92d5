// The Resolve service over a real grpc-js server on 127.0.0.1:0 and a real grpc-js client.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveContext } from '../../src/resolver/context.js';
import {
  ERROR_CODE_METADATA_KEY,
  decodeResolveRequest,
  encodeResolveRequest,
  resolverClientConstructor,
  resolverServiceDefinition,
  resolverServiceImplementation,
} from '../../src/resolver/grpc-service.js';
import { compileResolver } from '../../src/resolver/resolve.js';
import type { ResolveResult, Resolver } from '../../src/resolver/types.js';
import { fullTable } from './fixtures.js';

type UnaryClient = grpc.Client & {
  Resolve(req: ResolveContext, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: ResolveResult) => void): grpc.ClientUnaryCall;
};

let server: grpc.Server;
let client: UnaryClient;
let current: Resolver | undefined;
const resolver = compileResolver(fullTable(), 'v-grpc');

function call(ctx: ResolveContext): Promise<ResolveResult> {
  return new Promise((resolve, reject) => {
    client.Resolve(ctx, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

async function callError(ctx: ResolveContext): Promise<grpc.ServiceError> {
  try {
    await call(ctx);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  current = resolver;
  server = new grpc.Server();
  server.addService(resolverServiceDefinition(), resolverServiceImplementation(() => current));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const Client = resolverClientConstructor();
  client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as UnaryClient;
});

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

describe('gRPC switchyard.v1.Resolver/Resolve', () => {
  it('answers with the same routing key and objective config as the in-process resolver', async () => {
    const contexts: ResolveContext[] = [
      { objective: 'ContinueWatchingRanking', userId: 'user-1', country: 'SE', device: 'tv', surface: 'home' },
      { objective: 'ContinueWatchingRanking', allocations: { '12345': 'cell3' } },
      { objective: 'ContinueWatchingRanking', userId: 'user-2', client: 'qa-bot' },
      { objective: 'ContinueWatchingRanking', userId: 'user-1', testTraffic: true, headers: { 'x-test-model': 'rank-v3' } },
      { objective: 'SearchRanking', userId: 'user-1' },
      { objective: 'Plain' },
    ];
    for (const ctx of contexts) {
      const res = await call(ctx);
      expect(res).toEqual(resolver.resolve(ctx));
    }
    const res = await call(contexts[0]!);
    expect(res.routingKey).toBe('ContinueWatchingRanking/rank-v1');
    expect(res.objectiveConfig).toMatchObject({ decidedBy: 'experiment', experiment: { abTestId: '12345', cell: 'control' }, tableVersion: 'v-grpc', modelVersion: '1.4.2' });
    expect(res.objectiveConfig.params).toEqual({ depth: 3, features: ['watch', 'time'], temperature: 0.7, nested: { on: true, off: null } });
  });

  it('maps a malformed context to INVALID_ARGUMENT with the RESOLVE_* code in details and trailers', async () => {
    const err = await callError({ objective: 'ContinueWatchingRanking' });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^RESOLVE_MISSING_USER_ID: /);
    expect(err.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['RESOLVE_MISSING_USER_ID']);
    const cell = await callError({ objective: 'ContinueWatchingRanking', allocations: { '12345': 'nope' } });
    expect(cell.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(cell.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['RESOLVE_UNKNOWN_CELL']);
    const missing = await callError({ objective: '' });
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['RESOLVE_MISSING_OBJECTIVE']);
  });

  it('maps an unknown objective to NOT_FOUND and a missing table to UNAVAILABLE', async () => {
    const err = await callError({ objective: 'Nope', userId: 'u' });
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['RESOLVE_UNKNOWN_OBJECTIVE']);
    current = undefined;
    try {
      const none = await callError({ objective: 'Plain' });
      expect(none.code).toBe(grpc.status.UNAVAILABLE);
      expect(none.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['RESOLVE_NO_TABLE']);
    } finally {
      current = resolver;
    }
  });

  it('serves the resolver current at call time (a new table is picked up without restart)', async () => {
    const next = compileResolver(fullTable(100), 'v-next');
    current = next;
    try {
      const res = await call({ objective: 'SearchRanking', userId: 'user-1' });
      expect(res.objectiveConfig).toMatchObject({ model: 'search-v4', tableVersion: 'v-next', shift: { side: 'to' } });
    } finally {
      current = resolver;
    }
  });

  it('carries every context field through ResolveRequest; proto defaults mean absent', () => {
    const ctx: ResolveContext = {
      objective: 'O',
      userId: 'u',
      country: 'SE',
      device: 'tv',
      surface: 'home',
      client: 'web',
      testTraffic: true,
      allocations: { '1': 'a' },
      headers: { 'x-a': 'b' },
    };
    expect(decodeResolveRequest(encodeResolveRequest(ctx))).toEqual(ctx);
    expect(decodeResolveRequest(encodeResolveRequest({ objective: 'O', userId: '', testTraffic: false, allocations: {} }))).toStrictEqual({ objective: 'O' });
    expect(decodeResolveRequest(encodeResolveRequest({ objective: 'O', country: '' }))).toStrictEqual({ objective: 'O', country: '' });
  });
});
