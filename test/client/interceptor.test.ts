// The call helper: a per-call grpc-js interceptor sets x-routing-key / x-objective, and the served
// record says which model served (x-switchyard-model), real or test traffic, and how the call went.
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import { routingHeaders, SwitchyardClient, type ServedRecord } from '../../src/client/index.js';
import { decodePredictReply, PREDICT_METHOD_PATH, ShardServer, type PredictReply } from '../../src/demo/backends.js';
import { startTestSwitchyard } from '../helpers/app.js';
import { copyOfRules, removeTempDirs } from './helpers.js';

let app: RunningSwitchyard | undefined;
let client: SwitchyardClient | undefined;
const servers: ShardServer[] = [];
const channels: grpc.Client[] = [];

afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  await client?.close();
  await app?.stop();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await removeTempDirs();
  app = client = undefined;
});

async function setup(): Promise<SwitchyardClient> {
  app = await startTestSwitchyard(await copyOfRules(), { watch: false });
  client = new SwitchyardClient({ address: `127.0.0.1:${app.adsPort}`, node: { id: 'interceptor-client' } });
  await client.start();
  return client;
}

function call(channel: grpc.Client, options: grpc.CallOptions, metadata = new grpc.Metadata()): Promise<PredictReply> {
  return new Promise((resolve, reject) => {
    channel.makeUnaryRequest(PREDICT_METHOD_PATH, (b: Buffer) => b, decodePredictReply, Buffer.alloc(0), metadata, options, (err, reply) => (err || !reply ? reject(err ?? new Error('empty')) : resolve(reply)));
  });
}

describe('interceptorFor', () => {
  it('sets the routing headers, and reports the served model for real and test traffic', async () => {
    const c = await setup();
    const rankingA = await ShardServer.start('ranking-a', ['cw-ranker-v1', 'cw-ranker-v2']);
    const rankingB = await ShardServer.start('ranking-b', ['cw-ranker-v3']);
    servers.push(rankingA, rankingB);
    const toA = new grpc.Client(`127.0.0.1:${rankingA.port}`, grpc.credentials.createInsecure());
    const toB = new grpc.Client(`127.0.0.1:${rankingB.port}`, grpc.credentials.createInsecure());
    channels.push(toA, toB);
    const records: ServedRecord[] = [];
    const off = c.onServed((r) => records.push(r));

    // user-1 is in control (cw-ranker-v1 on ranking-a), see docs/resolver.md test vectors.
    const routed = c.interceptorFor({ objective: 'ContinueWatchingRanking', userId: 'user-1' }, { requestId: 'req-1' });
    expect(routed.result.objectiveConfig).toMatchObject({ model: 'cw-ranker-v1', experiment: { abTestId: '12345', cell: 'control' } });
    // A header of the same name set by the caller is replaced.
    const md = new grpc.Metadata();
    md.set('x-routing-key', 'ContinueWatchingRanking/cw-ranker-v2');
    const reply = await call(toA, { interceptors: [routed] }, md);
    expect(reply).toEqual({ model: 'cw-ranker-v1', shard: 'ranking-a', routingKey: 'ContinueWatchingRanking/cw-ranker-v1' });

    // Test traffic: the QA harness is overridden to cw-ranker-v3.
    const qa = c.interceptorFor({ objective: 'ContinueWatchingRanking', userId: 'user-1', client: 'qa-harness' });
    expect(routingHeaders(qa.result)).toEqual({ 'x-routing-key': 'ContinueWatchingRanking/cw-ranker-v3', 'x-objective': 'ContinueWatchingRanking' });
    expect((await call(toB, { interceptors: [qa] })).model).toBe('cw-ranker-v3');

    // A call that reaches a shard without the model fails; the record says so.
    const wrong = c.interceptorFor({ objective: 'ContinueWatchingRanking', userId: 'user-1' });
    await expect(call(toB, { interceptors: [wrong] })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

    // No report when asked not to.
    await call(toA, { interceptors: [c.interceptorFor({ objective: 'ContinueWatchingRanking', userId: 'user-1' }, { report: false })] });
    off();

    expect(records).toHaveLength(3);
    const [real, test, failed] = records as [ServedRecord, ServedRecord, ServedRecord];
    expect(real).toMatchObject({
      objective: 'ContinueWatchingRanking',
      model: 'cw-ranker-v1',
      modelVersion: '1.8.2',
      routingKey: 'ContinueWatchingRanking/cw-ranker-v1',
      decidedBy: 'experiment',
      experiment: { abTestId: '12345', cell: 'control' },
      testTraffic: false,
      traffic: 'real',
      tableVersion: c.tableVersion,
      tableSource: 'ads',
      servedModel: 'cw-ranker-v1',
      modelMismatch: false,
      ok: true,
      grpcCode: 0,
      requestId: 'req-1',
    });
    expect(real.latencyMs).toBeGreaterThan(0);
    expect(real).not.toHaveProperty('client');
    expect(test).toMatchObject({ model: 'cw-ranker-v3', decidedBy: 'override', override: 'qa-harness-cw-ranker-v3', testTraffic: true, traffic: 'test', client: 'qa-harness', servedModel: 'cw-ranker-v3', ok: true });
    expect(failed).toMatchObject({ model: 'cw-ranker-v1', ok: false, grpcCode: grpc.status.NOT_FOUND, modelMismatch: false });
    expect(failed).not.toHaveProperty('servedModel');
    // Records are plain JSON for log lines.
    expect(JSON.parse(JSON.stringify(real))).toEqual(real);

    expect(c.servedCounts()).toEqual({
      ContinueWatchingRanking: {
        'cw-ranker-v1': { real: 2, test: 0, failed: 1, mismatched: 0 },
        'cw-ranker-v3': { real: 0, test: 1, failed: 0, mismatched: 0 },
      },
    });
    c.resetServedCounts();
    expect(c.servedCounts()).toEqual({});
  });

  it('report() flags a server that served another model; interceptorFor throws ResolveErrors at the call site', async () => {
    const c = await setup();
    const result = c.resolve({ objective: 'PaymentFraudDetection', userId: 'user-2' });
    const record = c.report(result, { servedModel: 'fraud-nn-v1', ok: true, client: 'payments-gateway' });
    expect(record).toMatchObject({ objective: 'PaymentFraudDetection', servedModel: 'fraud-nn-v1', modelMismatch: true, client: 'payments-gateway' });
    expect(c.servedCounts().PaymentFraudDetection![result.objectiveConfig.model]).toEqual({ real: 1, test: 0, failed: 0, mismatched: 1 });
    expect(() => c.interceptorFor({ objective: 'Nope' })).toThrow(expect.objectContaining({ code: 'RESOLVE_UNKNOWN_OBJECTIVE' }) as Error);
  });
});
