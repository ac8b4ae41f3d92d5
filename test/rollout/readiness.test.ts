// The model-readiness gate against real gRPC health servers: quorum, withdrawal, probe errors,
// periodic rounds that trigger a recompile, and the compile option it produces.
import { afterEach, describe, expect, it } from 'vitest';
import { ReadinessGate, quorumOf } from '../../src/rollout/readiness.js';
import { ruleSetFromDocuments } from '../../src/rules/documents.js';
import { compile } from '../../src/compile/compile.js';
import type { RuleSet } from '../../src/rules/model.js';
import { ModelBackend } from './model-backends.js';

let backends: ModelBackend[] = [];
let gates: ReadinessGate[] = [];

afterEach(async () => {
  for (const g of gates) g.stop();
  await Promise.all(backends.map((b) => b.stop()));
  backends = [];
  gates = [];
});

async function backend(name: string): Promise<ModelBackend> {
  const b = await ModelBackend.start(name);
  backends.push(b);
  return b;
}

function gate(opts: ConstructorParameters<typeof ReadinessGate>[0] = {}): ReadinessGate {
  const g = new ReadinessGate({ timeoutMs: 2000, ...opts });
  gates.push(g);
  return g;
}

/** Objective Ranking moves its default from ranker-v1 (shard-old) to ranker-v2 (shard-new, 3 endpoints). */
function rules(old: ModelBackend, fresh: ModelBackend[], defaultModel = 'ranker-v2'): RuleSet {
  const eps = (bs: ModelBackend[]) => bs.map((b) => `{ address: 127.0.0.1, port: ${b.port} }`).join(', ');
  return ruleSetFromDocuments([
    {
      file: 'r.yaml',
      text: `kind: Shard
name: shard-old
endpoints: [${eps([old])}]
---
kind: Shard
name: shard-new
endpoints: [${eps(fresh)}]
---
kind: Model
name: ranker-v1
shard: shard-old
version: "1"
---
kind: Model
name: ranker-v2
shard: shard-new
version: "2"
---
kind: Objective
name: Ranking
defaultModel: ${defaultModel}
`,
    },
  ]);
}

const previous = { objectives: { Ranking: { defaultModel: 'ranker-v1' } } } as never;

describe('ReadinessGate', () => {
  it('keeps the objective on its previous model until a majority of the new shard reports SERVING, then withdraws it again', async () => {
    const old = await backend('old');
    old.health.set('ranker-v1', 'SERVING');
    const fresh = [await backend('new-0'), await backend('new-1'), await backend('new-2')];
    const rs = rules(old, fresh);
    const changes: string[] = [];
    const g = gate({ onChange: (reason) => changes.push(reason) });

    // Never SERVING yet (the service is unknown to the health server: NOT_FOUND).
    const first = await g.prepare(rs, previous);
    expect(first.readiness.unready).toEqual(['ranker-v2']);
    expect(compile(rs, first).resolverTable.objectives.Ranking!.defaultModel).toBe('ranker-v1');
    let st = g.state().models.find((m) => m.model === 'ranker-v2')!;
    expect(st).toMatchObject({ ready: false, shards: [{ shard: 'shard-new', serving: 0, endpoints: 3, quorum: 2 }] });
    expect(st.reason).toBe('READY_NO_QUORUM: shard shard-new has 0 of 3 endpoints SERVING, needs 2');
    expect(st.endpoints[0]).toMatchObject({ shard: 'shard-new', status: 'ERROR', code: 'READY_PROBE_FAILED' });
    expect(st.endpoints[0]!.error).toMatch(/^NOT_FOUND/);
    expect(g.state().holds).toEqual([{ kind: 'default-kept', rule: 'Ranking', objective: 'Ranking', model: 'ranker-v2', instead: 'ranker-v1' }]);

    // One of three: still no quorum.
    fresh[0]!.health.set('ranker-v2', 'SERVING');
    fresh[1]!.health.set('ranker-v2', 'NOT_SERVING');
    await g.probeNow();
    expect(changes).toEqual([]);
    st = g.state().models.find((m) => m.model === 'ranker-v2')!;
    expect(st.endpoints.map((e) => [e.status, e.code])).toEqual([
      ['SERVING', null],
      ['NOT_SERVING', 'READY_NOT_SERVING'],
      ['ERROR', 'READY_PROBE_FAILED'],
    ]);

    // Two of three: ready; the round asks for a recompile, which routes to the new model.
    fresh[2]!.health.set('ranker-v2', 'SERVING');
    await g.probeNow();
    expect(changes).toEqual(['model readiness changed: ranker-v2 ready']);
    const ready = await g.prepare(rs, previous);
    expect(ready.readiness.unready).toEqual([]);
    expect(compile(rs, ready).resolverTable.objectives.Ranking!.defaultModel).toBe('ranker-v2');

    // It stops being ready (unloaded on one endpoint, another endpoint down): withdrawn.
    fresh[0]!.health.set('ranker-v2', 'NOT_SERVING');
    await fresh[2]!.stop();
    await g.probeNow();
    expect(changes).toEqual(['model readiness changed: ranker-v2 ready', 'model readiness changed: ranker-v2 not ready']);
    st = g.state().models.find((m) => m.model === 'ranker-v2')!;
    expect(st.endpoints[2]).toMatchObject({ status: 'ERROR', code: 'READY_PROBE_FAILED' });
    expect(st.endpoints[2]!.error).toMatch(/^UNAVAILABLE/);
    const withdrawn = await g.prepare(rs, { objectives: { Ranking: { defaultModel: 'ranker-v1' } } } as never);
    expect(withdrawn.readiness.unready).toEqual(['ranker-v2']);
    expect(compile(rs, withdrawn).resolverTable.objectives.Ranking!.defaultModel).toBe('ranker-v1');
  });

  it('probes on its own interval and asks for a recompile when readiness changes', async () => {
    const old = await backend('old');
    old.health.set('ranker-v1', 'SERVING');
    const fresh = [await backend('new-0')];
    let notify: (reason: string) => void = () => undefined;
    const changed = new Promise<string>((resolve) => (notify = resolve));
    const g = gate({ intervalMs: 20, onChange: (reason) => notify(reason) });
    await g.prepare(rules(old, fresh), previous);
    expect(g.isReady('ranker-v2')).toBe(false);
    g.start();
    fresh[0]!.health.set('ranker-v2', 'SERVING');
    expect(await changed).toBe('model readiness changed: ranker-v2 ready');
    expect(g.isReady('ranker-v2')).toBe(true);
    expect(g.state().lastRoundAt).not.toBeNull();
  });

  it('counts UNIMPLEMENTED as serving only when told to', async () => {
    const checks: Array<[string, string]> = [];
    const unimplemented = async (address: string, service: string) => {
      checks.push([address, service]);
      return { ok: false as const, code: 12, error: 'UNIMPLEMENTED: unknown service grpc.health.v1.Health' };
    };
    const old = await backend('old');
    const rs = rules(old, [old], 'ranker-v1');
    const strict = gate({ check: unimplemented });
    expect((await strict.prepare(rs)).readiness.unready).toEqual(['ranker-v1']);
    const lenient = gate({ check: unimplemented, unimplemented: 'serving' });
    expect((await lenient.prepare(rs)).readiness.unready).toEqual([]);
    expect(checks).toContainEqual([old.address, 'ranker-v1']);
  });

  it('quorum: majority, all, any, fraction', () => {
    expect([1, 2, 3, 4, 5].map((n) => quorumOf('majority', n))).toEqual([1, 2, 2, 3, 3]);
    expect(quorumOf('all', 4)).toBe(4);
    expect(quorumOf('any', 4)).toBe(1);
    expect(quorumOf(0.25, 4)).toBe(1);
    expect(quorumOf(0.3, 10)).toBe(3);
    expect(quorumOf('majority', 0)).toBe(1);
    expect(() => new ReadinessGate({ quorum: 1.5 })).toThrow(RangeError);
  });
});
