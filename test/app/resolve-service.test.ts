// The resolve service for clients in other languages: gRPC Resolver/Resolve on the ADS port and
// POST /v1/resolve on the admin port, both answering from the served snapshot's table.
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { resolverClientConstructor } from '../../src/resolver/grpc-service.js';
import type { ResolveResult } from '../../src/resolver/types.js';
import { startTestSwitchyard } from '../helpers/app.js';

let app: RunningSwitchyard | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const ctx = { objective: 'ContinueWatchingRanking', userId: 'user-7', country: 'NL' };

describe('resolve service', () => {
  it('answers over gRPC on the ADS port and over HTTP on the admin port, identically', async () => {
    app = await startTestSwitchyard(path.resolve('rules'), { watch: false, admin: { host: '127.0.0.1', port: 0 } });
    const expected = app.resolver()!.resolve(ctx);

    const Client = resolverClientConstructor();
    const client = new Client(`127.0.0.1:${app.adsPort}`, grpc.credentials.createInsecure()) as unknown as {
      Resolve(req: object, cb: (err: grpc.ServiceError | null, res?: ResolveResult) => void): void;
      close(): void;
    };
    const viaGrpc = await new Promise<ResolveResult>((resolve, reject) => client.Resolve(ctx, (err, res) => (err || !res ? reject(err) : resolve(res))));
    client.close();
    expect(viaGrpc.routingKey).toBe(expected.routingKey);
    expect(viaGrpc.objectiveConfig.model).toBe(expected.objectiveConfig.model);

    const res = await fetch(`http://127.0.0.1:${app.admin!.port}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ctx) });
    expect(res.status).toBe(200);
    const viaHttp = (await res.json()) as ResolveResult;
    expect(viaHttp).toEqual(JSON.parse(JSON.stringify(expected)));

    const bad = await fetch(`http://127.0.0.1:${app.admin!.port}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ objective: 'NoSuchObjective', userId: 'u' }) });
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('RESOLVE_UNKNOWN_OBJECTIVE');
  });
});
