// The glue the composition root uses: followRollout keeps the control plane's live version on the
// fleet's last good version; resolverTableOf reads the table a served snapshot carries;
// rolloutCompileOptions merges shift steps, readiness and the rule set's policy.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RolloutProvider, type FleetSource, type FleetStream } from '../../src/rollout/provider.js';
import { rolloutPolicy } from '../../src/rollout/policy.js';
import { followRollout, resolverTableOf, rolloutCompileOptions } from '../../src/rollout/wiring.js';
import { ShiftScheduler } from '../../src/rollout/shifts.js';
import { RolloutLayer } from '../../src/rollout/layer.js';
import { compile } from '../../src/compile/compile.js';
import { createSnapshot } from '../../src/snapshot/snapshot.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { resolverTableToMessage } from '../../src/resolver/table-message.js';
import type { StreamStatus, TypeStatus } from '../../src/xds/stream-status.js';
import { ruleSetFromDocuments } from '../../src/rules/documents.js';
import { fullRules, ruleSet } from '../compile/fixtures.js';
import { fleetSnapshot } from './fleet.js';

const A = fleetSnapshot(['shard-a']);
const AB = fleetSnapshot(['shard-a', 'shard-b']);

/** A stream as the ADS server would report it, with one RDS subscription. */
function fakeStream(id: string, cluster: string): FleetStream & { rds: Partial<TypeStatus> } {
  const s = {
    id,
    closed: false,
    node: { id, cluster, userAgent: 'envoy/1.31' },
    rds: {} as Partial<TypeStatus>,
    status(): StreamStatus {
      const t: TypeStatus = {
        typeUrl: TypeUrl.RouteConfiguration,
        type: 'RDS',
        wildcard: false,
        subscribed: ['model-serving'],
        lastSentVersion: '',
        lastSentNonce: '',
        lastSentAt: null,
        ackedVersion: '',
        ackedAt: null,
        ackedSnapshot: A.version,
        pendingAck: false,
        waitingFor: [],
        lastNack: null,
        ...s.rds,
      };
      return { streamId: id, protocol: 'sotw', peer: '', node: s.node, connectedSince: '', types: [t] };
    },
  };
  return s;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('followRollout', () => {
  it('confirms the target as live when the rollout completes, and reverts to the last good version when it halts', async () => {
    const fleet = new EventEmitter();
    const provider = new RolloutProvider({ initial: A, policy: rolloutPolicy({ canaryClusters: ['canary'], waves: [100] }), fleet: fleet as unknown as FleetSource });
    const calls: string[] = [];
    followRollout(provider, { confirmLive: (v) => void calls.push(`confirm ${v}`), revertLive: (v, why, refused) => void calls.push(`revert ${v}: ${why} (refused ${refused})`) });
    const canary = fakeStream('c', 'canary');
    fleet.emit('open', canary);
    fleet.emit('send', { stream: canary });

    provider.publish(AB);
    expect(provider.state().waves[0]).toMatchObject({ status: 'active', members: 1, acked: 0 });
    fleet.emit('nack', { stream: canary, typeUrl: TypeUrl.RouteConfiguration, version: 'v9', nonce: '1', snapshotVersion: AB.version, latencyMs: 1, message: 'bad route' });
    await flush();
    expect(calls).toEqual([`revert ${A.version}: rollout halted: node c NACKed RDS: bad route (refused ${AB.version})`]);

    // A fixed canary ACKs the next target: the wave completes, the target is confirmed.
    const AC = fleetSnapshot(['shard-a', 'shard-c']);
    provider.publish(AC);
    canary.rds = { ackedSnapshot: AC.version, lastNack: null };
    fleet.emit('ack', { stream: canary, typeUrl: TypeUrl.RouteConfiguration, version: 'v10', nonce: '2', snapshotVersion: AC.version, latencyMs: 1 });
    await flush();
    expect(calls.at(-1)).toBe(`confirm ${AC.version}`);
    expect(provider.lastGood).toBe(AC);
    // An urgent publish is every proxy's at once: confirmed right away.
    provider.publishUrgent(A);
    await flush();
    expect(calls.at(-1)).toBe(`confirm ${A.version}`);
  });
});

describe('resolverTableOf', () => {
  it('reads back the table a compiled snapshot carries', () => {
    const compiled = compile(ruleSet(fullRules()));
    const snapshot = createSnapshot({ ...compiled.resources, [TypeUrl.ResolverTable]: [resolverTableToMessage(compiled.resolverTable)] });
    expect(resolverTableOf(snapshot)).toEqual(compiled.resolverTable);
    expect(resolverTableOf(A)).toBeUndefined();
    expect(resolverTableOf(undefined)).toBeUndefined();
  });
});

describe('rolloutCompileOptions', () => {
  it('merges base options, shift steps and the rule set policy', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-wiring-'));
    try {
      const rs = ruleSetFromDocuments([
        {
          file: 'r.yaml',
          text: `kind: Shard
name: s
endpoints: [{ address: 127.0.0.1, port: 1 }]
---
kind: Model
name: a
shard: s
version: "1"
---
kind: Model
name: b
shard: s
version: "1"
---
kind: Objective
name: O
defaultModel: a
---
kind: TrafficShift
name: move
objective: O
to: b
steps: [{ percent: 20, hold: 60 }]
---
kind: RolloutPolicy
name: fleet
canary: { clusters: [canary] }
waves: [{ percent: 100 }]
`,
        },
      ]);
      const shifts = await ShiftScheduler.open({ dir, onAdvance: async () => undefined });
      const provider = new RolloutProvider();
      const options = await rolloutCompileOptions({ ruleSet: rs, base: { listenerName: 'ranking' }, shifts, rollout: provider });
      expect(options).toEqual({ listenerName: 'ranking', shiftSteps: { move: 0 }, abortedShifts: [] });
      expect(provider.currentPolicy).toMatchObject({ name: 'fleet', source: 'rules', canary: { clusters: ['canary'] } });
      expect(compile(rs, options).resolverTable.objectives.O!.shift).toMatchObject({ percent: 20 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RolloutLayer', () => {
  it('bundles provider, shifts and readiness; recompiles urgently on a shift abort', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-layer-'));
    try {
      const recompiles: Array<[string, boolean]> = [];
      const layer = await RolloutLayer.open({ snapshotDir: dir, recompile: async (reason, o) => void recompiles.push([reason, o.urgent]) });
      const rs = ruleSet(fullRules());
      const options = await layer.compileOptions(rs, undefined, { listenerName: 'ranking' });
      expect(options).toEqual({ listenerName: 'ranking', shiftSteps: { 'search-v4-rollout': 0 }, abortedShifts: [] });
      layer.start();
      await layer.shifts.abort('search-v4-rollout');
      expect(recompiles).toEqual([['traffic shift search-v4-rollout aborted', true]]);
      const st = layer.state();
      expect(st.rollout.status).toBe('idle');
      expect(st.shifts.shifts.map((x) => [x.name, x.state])).toEqual([['search-v4-rollout', 'aborted']]);
      expect(st.readiness).toBeNull();
      layer.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
