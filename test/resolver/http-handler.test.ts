import { describe, expect, it } from 'vitest';
import { handleResolveHttp, type HttpErrorBody } from '../../src/resolver/http-handler.js';
import { compileResolver } from '../../src/resolver/resolve.js';
import type { ResolveResult, Resolver } from '../../src/resolver/types.js';
import { fullTable } from './fixtures.js';

const resolver = compileResolver(fullTable(), 'v-http');
const live = (): Resolver => resolver;
const errorCode = (json: unknown): string => (json as HttpErrorBody).error.code;

describe('POST /v1/resolve handler', () => {
  it('answers 200 with { routingKey, objectiveConfig } for a parsed body, raw text or bytes', () => {
    const ctx = { objective: 'ContinueWatchingRanking', userId: 'user-1' };
    const expected = resolver.resolve(ctx);
    for (const body of [ctx, JSON.stringify(ctx), new TextEncoder().encode(JSON.stringify(ctx))]) {
      const res = handleResolveHttp(body, live);
      expect(res.status).toBe(200);
      expect(res.json).toEqual(expected);
    }
    const json = JSON.parse(JSON.stringify(handleResolveHttp(ctx, live).json)) as ResolveResult;
    expect(json.routingKey).toBe('ContinueWatchingRanking/rank-v1');
    expect(json.objectiveConfig.decidedBy).toBe('experiment');
  });

  it('answers 400 for malformed contexts, with the stable code, hint and field', () => {
    const cases: [unknown, string][] = [
      ['{not json', 'RESOLVE_BAD_CONTEXT'],
      [null, 'RESOLVE_BAD_CONTEXT'],
      [[1], 'RESOLVE_BAD_CONTEXT'],
      [{ objective: 'Plain', testTraffic: 'yes' }, 'RESOLVE_BAD_CONTEXT'],
      [{ objective: 'Plain', user_id: 'u' }, 'RESOLVE_UNKNOWN_FIELD'],
      [{ userId: 'u' }, 'RESOLVE_MISSING_OBJECTIVE'],
      [{ objective: 'ContinueWatchingRanking' }, 'RESOLVE_MISSING_USER_ID'],
      [{ objective: 'ContinueWatchingRanking', allocations: { '12345': 'x' } }, 'RESOLVE_UNKNOWN_CELL'],
    ];
    for (const [body, code] of cases) {
      const res = handleResolveHttp(body, live);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(res.json)).toBe(code);
      expect((res.json as HttpErrorBody).error.hint.length).toBeGreaterThan(0);
    }
    expect((handleResolveHttp({ objective: 'Plain', user_id: 'u' }, live).json as HttpErrorBody).error.field).toBe('user_id');
  });

  it('answers 404 for an unknown objective and 503 before the first table', () => {
    const notFound = handleResolveHttp({ objective: 'Nope' }, live);
    expect(notFound.status).toBe(404);
    expect(errorCode(notFound.json)).toBe('RESOLVE_UNKNOWN_OBJECTIVE');
    const none = handleResolveHttp({ objective: 'Plain' }, () => undefined);
    expect(none.status).toBe(503);
    expect(errorCode(none.json)).toBe('RESOLVE_NO_TABLE');
  });

  it('answers 500 (never throws) when the resolver fails unexpectedly', () => {
    const broken: Resolver = { tableVersion: 'x', objectives: [], resolve: () => { throw new TypeError('boom'); } };
    const res = handleResolveHttp({ objective: 'Plain' }, () => broken);
    expect(res.status).toBe(500);
    expect(errorCode(res.json)).toBe('INTERNAL');
  });
});
