// RolloutProvider operations over real ADS streams: pause/resume, abort, force, supersede, urgent
// publishes, proxies joining during a rollout, bake times (manual clock), retry after a halt.
import { afterEach, describe, expect, it } from 'vitest';
import { rolloutPolicy, waveOf } from '../../src/rollout/policy.js';
import { RolloutProvider } from '../../src/rollout/provider.js';
import type { NodeInfo } from '../../src/xds/provider.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import type { SotwResponse } from '../helpers/ads-client.js';
import { fleetSnapshot, nodesHold, routeClustersOf, serverCondition, startFleet, type FleetClient, type FleetHarness, type FleetNode } from './fleet.js';
import { ManualClock } from './manual-clock.js';

let fleet: FleetHarness | undefined;

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
});

const A = fleetSnapshot(['shard-a']);
const AB = fleetSnapshot(['shard-a', 'shard-b']);
const AC = fleetSnapshot(['shard-a', 'shard-c']);
const BAKE_MS = 10_000;
const policy = rolloutPolicy({ canaryClusters: ['canary'], canaryBakeMs: BAKE_MS, waves: [10, 50, 100] });
const info = (n: FleetNode): NodeInfo => ({ id: n.id, cluster: n.cluster ?? 'fleet', userAgent: 'switchyard-test' });
const CANARY: FleetNode = { id: 'canary-0', cluster: 'canary' };
const PROXIES: FleetNode[] = Array.from({ length: 8 }, (_, i) => ({ id: `proxy-${String(i).padStart(2, '0')}`, cluster: 'edge' }));
const ids = (nodes: FleetNode[]): string[] => nodes.map((n) => n.id);
const gotTarget = (c: FleetClient, cluster: string): boolean => c.received.some((r) => r.names.includes(cluster) || (r.typeUrl === TypeUrl.RouteConfiguration && routeClustersOf(r.response).includes(cluster)));
/** The target's CDS (it adds shard-b): a client told to hold it does not ACK it until release(). */
const holdTarget = (r: SotwResponse): boolean => r.type_url === TypeUrl.Cluster && r.resources.some((x) => x.name === 'shard-b');

/** Makes `c` hold the target's CDS and waits until it received it (unACKed). */
async function holdingTarget(c: FleetClient, publish?: () => void): Promise<void> {
  c.hold = holdTarget;
  publish?.();
  await c.until(() => c.received.some((r) => holdTarget(r.response)), 10_000, `${c.node.id} received the target CDS`);
}

async function start(clock?: ManualClock): Promise<{ f: FleetHarness; canary: FleetClient; others: FleetClient[] }> {
  const f = await startFleet(A, policy, clock ? { clock } : {});
  fleet = f;
  const canary = f.add(CANARY);
  const others = PROXIES.map((n) => f.add(n));
  await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), A), 'fleet on A');
  return { f, canary, others };
}

/** Publishes and waits until the canary wave ACKed and bakes (manual clock: the bake never ends by itself). */
async function toCanaryBake(f: FleetHarness, target = AB): Promise<void> {
  f.provider.publish(target);
  await f.rolloutEvent('wave-acked', (e) => e.wave === 0 && e.target === target.version);
  expect(f.provider.state().waves[0]).toMatchObject({ status: 'baking', members: 1, acked: 1 });
}

describe('RolloutProvider operations', () => {
  it('bakes the canary wave for its bake time before the next wave opens', async () => {
    const clock = new ManualClock();
    const { f, others } = await start(clock);
    await toCanaryBake(f);
    expect(f.provider.state().waves[0]!.bakeUntil).toBe(new Date(clock.now() + BAKE_MS).toISOString());
    clock.advance(BAKE_MS - 1);
    expect(f.provider.state().waves[1]!.status).toBe('pending');
    clock.advance(1);
    await f.rolloutEvent('completed');
    await serverCondition(f.server, () => nodesHold(f.server, ids(PROXIES), AB), 'fleet on AB');
    for (const c of others) expect(gotTarget(c, 'shard-b')).toBe(true);
  });

  it('pause holds the next wave; resume continues; a pause before publishing opens no wave at all', async () => {
    const clock = new ManualClock();
    const { f, canary, others } = await start(clock);
    await toCanaryBake(f);
    f.provider.pause();
    clock.advance(BAKE_MS);
    expect(f.provider.state()).toMatchObject({ status: 'paused', paused: true, currentWave: 0 });
    expect(f.provider.state().waves.map((w) => w.status)).toEqual(['done', 'pending', 'pending', 'pending']);
    expect(others.some((c) => gotTarget(c, 'shard-b'))).toBe(false);
    f.provider.resume();
    await f.rolloutEvent('completed');
    expect(f.provider.state()).toMatchObject({ status: 'completed', paused: false, lastGoodVersion: AB.version });

    // Paused before the publish: the rollout waits with no wave open; nobody gets the target.
    f.provider.pause();
    f.provider.publish(AC);
    expect(f.provider.state()).toMatchObject({ status: 'paused', targetVersion: AC.version, currentWave: null });
    for (const n of [CANARY, ...PROXIES]) expect(f.provider.snapshotFor(info(n))).toBe(AB);
    expect(gotTarget(canary, 'shard-c')).toBe(false);
    f.provider.resume();
    await f.rolloutEvent('wave-acked', (e) => e.target === AC.version && e.wave === 0);
    clock.advance(BAKE_MS);
    await f.rolloutEvent('completed', (e) => e.target === AC.version);
    await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), AC), 'fleet on AC');
  });

  it('abort puts the canary back on the last good version at once; abort without a rollout is an error', async () => {
    const clock = new ManualClock();
    const { f, canary, others } = await start(clock);
    await toCanaryBake(f);
    f.provider.abort();
    await canary.until(() => canary.clusters().join(',') === 'shard-a', 10_000, 'canary back on A');
    await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), A), 'fleet on A');
    expect(f.provider.state()).toMatchObject({ status: 'aborted', lastGoodVersion: A.version, targetVersion: AB.version });
    expect(f.provider.state().waves.map((w) => w.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(others.some((c) => gotTarget(c, 'shard-b'))).toBe(false);
    expect(() => f.provider.abort()).toThrow(expect.objectContaining({ code: 'ROLLOUT_NOT_ACTIVE' }));
    expect(() => f.provider.forceComplete()).toThrow(expect.objectContaining({ code: 'ROLLOUT_NOT_ACTIVE' }));
  });

  it('force sends the target to everyone at once and makes it the last good version', async () => {
    const clock = new ManualClock();
    const { f } = await start(clock);
    await toCanaryBake(f);
    f.provider.forceComplete();
    await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), AB), 'fleet on AB');
    expect(f.provider.state()).toMatchObject({ status: 'forced', lastGoodVersion: AB.version });
    expect(f.rolloutEvents.filter((e) => e.type === 'wave-opened')).toHaveLength(1);
  });

  it('a publish during a rollout supersedes it: the new one starts over from the last good version', async () => {
    const clock = new ManualClock();
    const { f, canary, others } = await start(clock);
    await toCanaryBake(f, AB);
    f.provider.publish(AC);
    expect(f.provider.state()).toMatchObject({ status: 'rolling', targetVersion: AC.version, lastGoodVersion: A.version, currentWave: 0 });
    expect(f.provider.state().history.map((h) => [h.status, h.targetVersion])).toEqual([
      ['rolling', AC.version],
      ['superseded', AB.version],
    ]);
    await f.rolloutEvent('wave-acked', (e) => e.target === AC.version && e.wave === 0);
    await canary.until(() => canary.clusters().join(',') === 'shard-a,shard-c', 10_000, 'canary on AC');
    clock.advance(BAKE_MS);
    await f.rolloutEvent('completed', (e) => e.target === AC.version);
    await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), AC), 'fleet on AC');
    expect(others.some((c) => gotTarget(c, 'shard-b'))).toBe(false);
  });

  it('an urgent publish skips the waves', async () => {
    const clock = new ManualClock();
    const { f } = await start(clock);
    await toCanaryBake(f, AB);
    f.provider.publishUrgent(AC);
    await serverCondition(f.server, () => nodesHold(f.server, ids([CANARY, ...PROXIES]), AC), 'fleet on AC');
    expect(f.provider.state()).toMatchObject({ status: 'superseded', lastGoodVersion: AC.version });
    expect(f.rolloutEvents.at(-1)).toMatchObject({ type: 'installed', version: AC.version, urgent: true });
  });

  it('proxies connecting during a rollout get the version their wave is entitled to, and gate an open wave', async () => {
    const clock = new ManualClock();
    const { f } = await start(clock);
    await toCanaryBake(f, AB);
    // A second canary joins while the canary wave bakes: its wave is open, it gets the target.
    const late = f.add({ id: 'canary-1', cluster: 'canary' });
    await late.until(() => late.clusters().join(',') === 'shard-a,shard-b', 10_000, 'late canary on AB');
    // A proxy of a later wave joining now gets the last good version.
    const node: FleetNode = { id: 'proxy-late', cluster: 'edge' };
    expect(waveOf(info(node), policy)).toBeGreaterThan(0);
    const later = f.add(node);
    await serverCondition(f.server, () => nodesHold(f.server, ['proxy-late', 'canary-1'], A) || (nodesHold(f.server, ['proxy-late'], A) && nodesHold(f.server, ['canary-1'], AB)), 'joiners settled');
    expect(gotTarget(later, 'shard-b')).toBe(false);
    expect(f.provider.state().waves[0]).toMatchObject({ members: 2, acked: 2 });
    clock.advance(BAKE_MS);
    await f.rolloutEvent('completed');
    await later.until(() => later.clusters().join(',') === 'shard-a,shard-b', 10_000, 'late proxy on AB');
  });

  it('the open wave waits for every member, joiners included, until each ACKed', async () => {
    const noBake = rolloutPolicy({ canaryClusters: ['canary'], waves: [100] });
    const f = await startFleet(A, noBake);
    fleet = f;
    const first = f.add({ id: 'canary-0', cluster: 'canary' });
    const other = f.add({ id: 'proxy-00', cluster: 'edge' });
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], A), 'fleet on A');
    await holdingTarget(first, () => f.provider.publish(AB));
    // A second canary joins the open wave and also sits on the target.
    const joiner = f.add({ id: 'canary-1', cluster: 'canary' });
    await holdingTarget(joiner);
    expect(f.provider.state().waves[0]).toMatchObject({ status: 'active', members: 2, acked: 0, waitingFor: ['canary-0', 'canary-1'] });
    first.release();
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0'], AB), 'canary-0 on AB');
    expect(f.provider.state().waves[0]).toMatchObject({ status: 'active', members: 2, acked: 1, waitingFor: ['canary-1'] });
    expect(gotTarget(other, 'shard-b')).toBe(false);
    joiner.release();
    await f.rolloutEvent('completed');
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'canary-1', 'proxy-00'], AB), 'fleet on AB');
  });

  it('pauses as stalled when an open wave does not ACK within the ACK timeout; nothing rolls back; resume waits again', async () => {
    const clock = new ManualClock();
    const ACK_TIMEOUT = 5_000;
    const f = await startFleet(A, rolloutPolicy({ canaryClusters: ['canary'], waves: [100], ackTimeoutMs: ACK_TIMEOUT }), { clock });
    fleet = f;
    const canary = f.add({ id: 'canary-0', cluster: 'canary' });
    const other = f.add({ id: 'proxy-00', cluster: 'edge' });
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], A), 'fleet on A');
    await holdingTarget(canary, () => f.provider.publish(AB));
    clock.advance(ACK_TIMEOUT - 1);
    expect(f.provider.state()).toMatchObject({ status: 'rolling', stall: null });
    clock.advance(1);
    const stalled = await f.rolloutEvent('stalled');
    expect(stalled.reason).toMatchObject({ wave: 0, name: 'canary', waitingFor: ['canary-0'], waiting: 1, ackTimeoutMs: ACK_TIMEOUT });
    expect(f.provider.state()).toMatchObject({ status: 'paused', paused: true, stall: { wave: 0, waitingFor: ['canary-0'] } });
    // Not a rejection: the canary keeps the target, nobody goes back, the next wave stays closed.
    expect(f.provider.snapshotFor({ id: 'canary-0', cluster: 'canary', userAgent: 'switchyard-test' })?.version).toBe(AB.version);
    expect(gotTarget(other, 'shard-b')).toBe(false);
    // The late ACK completes the wave, but a stalled rollout waits for an operator.
    canary.release();
    await f.rolloutEvent('wave-acked', (e) => e.wave === 0);
    expect(f.provider.state().waves[1]!.status).toBe('pending');
    f.provider.resume();
    await f.rolloutEvent('completed');
    expect(f.provider.state().stall).toBeNull();
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], AB), 'fleet on AB');
  });

  it('an operator pause outlasting the ACK timeout stalls nothing; resume gives the open wave a fresh deadline', async () => {
    const clock = new ManualClock();
    const ACK_TIMEOUT = 5_000;
    const f = await startFleet(A, rolloutPolicy({ canaryClusters: ['canary'], waves: [100], ackTimeoutMs: ACK_TIMEOUT }), { clock });
    fleet = f;
    const canary = f.add({ id: 'canary-0', cluster: 'canary' });
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0'], A), 'canary on A');
    await holdingTarget(canary, () => f.provider.publish(AB));
    f.provider.pause();
    clock.advance(2 * ACK_TIMEOUT);
    expect(f.provider.state()).toMatchObject({ status: 'paused', stall: null });
    f.provider.resume();
    clock.advance(ACK_TIMEOUT - 1);
    expect(f.provider.state()).toMatchObject({ status: 'rolling', stall: null });
    clock.advance(1);
    expect((await f.rolloutEvent('stalled')).reason.waitingFor).toEqual(['canary-0']);
    canary.release();
  });

  it('resume retries a halted rollout from the canary; a stream that already rejected that content halts it again at once', async () => {
    let refuse = true;
    const noBake = rolloutPolicy({ canaryClusters: ['canary'], waves: [100] });
    const f = await startFleet(A, noBake);
    fleet = f;
    const refusing = (r: SotwResponse): string | undefined => (refuse && r.type_url === TypeUrl.RouteConfiguration && routeClustersOf(r).includes('shard-b') ? 'not yet' : undefined);
    const canary = f.add({ id: 'canary-0', cluster: 'canary' }, refusing);
    const other = f.add({ id: 'proxy-00', cluster: 'edge' });
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], A), 'fleet on A');
    f.provider.publish(AB);
    await f.rolloutEvent('halted');
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], A), 'fleet back on A');
    f.provider.abort(); // a halted rollout can be aborted (everyone is on A already)
    expect(f.provider.state().status).toBe('aborted');

    // The same content again: the server never resends rejected content to that stream (design
    // rule 3), so the canary would neither ACK nor NACK: the rollout halts at once instead of waiting.
    f.provider.publish(AB);
    const again = await f.rolloutEvent('halted', (e) => e.rollout === 2);
    expect(again.reason).toMatchObject({ node: 'canary-0', type: 'RDS' });
    expect(again.reason.message).toMatch(/^already rejected this content on this stream at .*: not yet$/);
    expect(canary.received.filter((r) => r.nacked)).toHaveLength(1);

    // The canary is fixed and reconnects (a new stream); resume retries from the canary.
    refuse = false;
    await canary.close();
    f.clients.splice(f.clients.indexOf(canary), 1);
    const fixed = f.add({ id: 'canary-0', cluster: 'canary' });
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], A), 'fixed canary on A');
    f.provider.resume();
    await f.rolloutEvent('completed');
    await serverCondition(f.server, () => nodesHold(f.server, ['canary-0', 'proxy-00'], AB), 'fleet on AB');
    expect(gotTarget(other, 'shard-b')).toBe(true);
    expect(gotTarget(fixed, 'shard-b')).toBe(true);
    expect(f.provider.state().history.map((h) => h.status)).toEqual(['completed', 'superseded', 'aborted']);
  });
});

describe('RolloutProvider without streams', () => {
  it('installs the first snapshot at once and ignores publishing the same version', () => {
    const p = new RolloutProvider();
    let changes = 0;
    p.onChange(() => changes++);
    expect(p.snapshotFor(info(CANARY))).toBeUndefined();
    p.publish(A);
    expect(p.snapshotFor(info(CANARY))).toBe(A);
    expect(p.state()).toMatchObject({ status: 'idle', lastGoodVersion: A.version, targetVersion: null });
    p.publish(A);
    expect(changes).toBe(1);
    // No proxy connected: every wave is empty, the rollout completes at once.
    p.publish(AB);
    expect(p.state()).toMatchObject({ status: 'completed', lastGoodVersion: AB.version });
    expect(p.snapshot).toBe(AB);
  });
});
