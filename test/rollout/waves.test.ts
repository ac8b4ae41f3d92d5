// Fleet waves over real ADS streams: 1 canary + 20 proxies (in-process SotwClients). A canary that
// NACKs stops the rollout before any other proxy sees the new version and goes back to the last
// good one; a clean rollout walks the waves in order, each opening only after the previous one ACKed.
import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { rolloutPolicy, waveOf } from '../../src/rollout/policy.js';
import { streamHolds } from '../../src/rollout/provider.js';
import { proxyViews } from '../../src/admin/proxies.js';
import type { NodeInfo } from '../../src/xds/provider.js';
import { fleetSnapshot, nodesHold, routeClustersOf, serverCondition, startFleet, type FleetClient, type FleetHarness, type FleetNode } from './fleet.js';

let fleet: FleetHarness | undefined;

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
});

const LAST_GOOD = fleetSnapshot(['shard-a']);
const TARGET = fleetSnapshot(['shard-a', 'shard-b']);
const PROXIES: FleetNode[] = Array.from({ length: 20 }, (_, i) => ({ id: `proxy-${String(i).padStart(2, '0')}`, cluster: 'edge' }));

const info = (n: FleetNode): NodeInfo => ({ id: n.id, cluster: n.cluster ?? 'fleet', userAgent: 'switchyard-test', ...(n.metadata ? { metadata: n.metadata } : {}) });

/** The client holds `clusters` in CDS and routes to exactly `clusters`. */
const holds = (c: FleetClient, clusters: string[]): boolean => c.clusters().join(',') === clusters.join(',') && c.routeClusters().join(',') === clusters.join(',');

/** Every stream of the server ACKed `version` for every type it subscribes to. */
function allHold(f: FleetHarness, version: string): boolean {
  const snapshot = version === LAST_GOOD.version ? LAST_GOOD : TARGET;
  const statuses = f.server.streamStatuses();
  return statuses.length === f.clients.length && statuses.every((s) => s.types.every((t) => (!t.wildcard && t.subscribed.length === 0) || !snapshot.type(t.typeUrl) || (t.ackedSnapshot === version && !t.pendingAck)));
}

async function connectAll(f: FleetHarness): Promise<void> {
  await Promise.all(f.clients.map((c) => c.until(() => holds(c, ['shard-a']), 10_000, 'last good')));
  // Converged at the ACK (design rule 10): the server saw every ACK.
  await waitFor(() => allHold(f, LAST_GOOD.version), 'every stream holds the last good version');
}

/** Driven by the fleet's own traffic: re-checked after each server event. */
function waitFor(pred: () => boolean, what: string): Promise<void> {
  return serverCondition(fleet!.server, pred, what);
}

describe('fleet waves', () => {
  it('a canary NACK halts the rollout before any other proxy receives the target, and the canary returns to the last good version', async () => {
    const policy = rolloutPolicy({ canaryMetadata: { canary: 'true' }, canaryClusters: ['canary-*'], waves: [10, 50, 100] });
    fleet = await startFleet(LAST_GOOD, policy);
    // The canary refuses any route configuration naming shard-b (as a proxy rejects a bad config).
    // It is selected by its cluster here (by metadata in the test below).
    const canary = fleet.add({ id: 'canary-0', cluster: 'canary-eu', metadata: { canary: true } }, (r) =>
      r.type_url === TypeUrl.RouteConfiguration && routeClustersOf(r).includes('shard-b') ? 'route to unknown cluster shard-b (test)' : undefined,
    );
    const others = PROXIES.map((n) => fleet!.add(n));
    await connectAll(fleet);
    expect(waveOf(info(canary.node), policy)).toBe(0);
    for (const c of others) expect(waveOf(info(c.node), policy)).toBeGreaterThan(0);

    const startSeq = fleet.seq.next();
    fleet.provider.publish(TARGET);
    const halted = await fleet.rolloutEvent('halted');
    expect(halted.reason).toMatchObject({ node: 'canary-0', type: 'RDS', wave: 0, message: 'route to unknown cluster shard-b (test)' });

    // The canary goes back: it receives the last good CDS again (without shard-b) and ACKs it.
    await canary.until(() => holds(canary, ['shard-a']), 10_000, 'canary back on the last good version');
    await waitFor(() => allHold(fleet!, LAST_GOOD.version), 'every stream holds the last good version again');
    const canaryCds = canary.received.filter((r) => r.seq > startSeq && r.typeUrl === TypeUrl.Cluster);
    expect(canaryCds.map((r) => r.names.join(','))).toEqual(['shard-a,shard-b', 'shard-a']);
    expect(canary.received.filter((r) => r.seq > startSeq && r.nacked).map((r) => r.typeUrl)).toEqual([TypeUrl.RouteConfiguration]);

    // No other proxy ever received the target's CDS or RDS (nor anything at all after the start).
    for (const c of others) {
      expect(c.received.filter((r) => r.seq > startSeq)).toEqual([]);
      expect(c.received.some((r) => r.names.includes('shard-b') || (r.typeUrl === TypeUrl.RouteConfiguration && routeClustersOf(r.response).includes('shard-b')))).toBe(false);
    }
    // The server never planned a response from the target for any other stream.
    const targetSends = fleet.serverEvents.filter((e) => e.kind === 'send' && e.e.snapshotVersion === TARGET.version);
    expect(new Set(targetSends.map((e) => (e.kind === 'send' ? e.e.stream.node?.id : '')))).toEqual(new Set(['canary-0']));

    const state = fleet.provider.state();
    expect(state).toMatchObject({ status: 'halted', lastGoodVersion: LAST_GOOD.version, targetVersion: TARGET.version, currentWave: 0 });
    expect(state.waves.map((w) => w.status)).toEqual(['halted', 'skipped', 'skipped', 'skipped']);
    expect(state.haltReason?.node).toBe('canary-0');
    for (const n of [canary.node, ...PROXIES]) expect(fleet.provider.snapshotFor(info(n))?.version).toBe(LAST_GOOD.version);

    // Publishing the same broken version again does not restart it.
    fleet.provider.publish(TARGET);
    expect(fleet.provider.state().status).toBe('halted');
  });

  it('a clean rollout walks every wave in order; wave N+1 opens only after every member of wave N ACKed', async () => {
    const policy = rolloutPolicy({ canaryClusters: ['canary-*'], waves: [10, 50, 100] });
    fleet = await startFleet(LAST_GOOD, policy);
    const canary = fleet.add({ id: 'canary-0', cluster: 'canary-eu' });
    const others = PROXIES.map((n) => fleet!.add(n));
    const all = [canary, ...others];
    await connectAll(fleet);
    const waveOfClient = new Map(all.map((c) => [c.node.id, waveOf(info(c.node), policy)]));
    expect(waveOfClient.get('canary-0')).toBe(0);
    for (let w = 0; w < 4; w++) expect([...waveOfClient.values()].filter((x) => x === w).length).toBeGreaterThan(0);

    const startSeq = fleet.seq.next();
    fleet.provider.publish(TARGET);
    const completed = await fleet.rolloutEvent('completed');
    await Promise.all(all.map((c) => c.until(() => holds(c, ['shard-a', 'shard-b']), 10_000, 'target')));

    const opened = fleet.rolloutEvents.filter((e) => e.type === 'wave-opened');
    expect(opened.map((e) => (e.type === 'wave-opened' ? e.wave : -1))).toEqual([0, 1, 2, 3]);
    const openSeq = opened.map((e) => e.seq);

    // The order in which proxies first received the target RDS follows the waves.
    const firstTarget = new Map<string, number>();
    for (const c of all) {
      const r = c.received.find((x) => x.seq > startSeq && x.typeUrl === TypeUrl.RouteConfiguration && routeClustersOf(x.response).includes('shard-b'));
      expect(r, `${c.node.id} received the target routes`).toBeDefined();
      firstTarget.set(c.node.id, r!.seq);
    }
    const order = [...firstTarget.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => waveOfClient.get(id)!);
    expect(order).toEqual([...order].sort((a, b) => a - b));

    // The server sent nothing of the target to a proxy before its wave opened ...
    for (const ev of fleet.serverEvents) {
      if (ev.kind !== 'send' || ev.e.snapshotVersion !== TARGET.version) continue;
      const w = waveOfClient.get(ev.e.stream.node!.id)!;
      expect(ev.seq, `send to ${ev.e.stream.node!.id} (wave ${w})`).toBeGreaterThan(openSeq[w]!);
    }
    // ... and opened wave N+1 only after every member of wave N ACKed the target for every type.
    const lastTargetAck = new Map<string, number>();
    for (const ev of fleet.serverEvents) if (ev.kind === 'ack' && ev.e.snapshotVersion === TARGET.version) lastTargetAck.set(ev.e.stream.node!.id, ev.seq);
    for (let w = 1; w < 4; w++) {
      const members = all.filter((c) => waveOfClient.get(c.node.id) === w - 1);
      for (const m of members) expect(lastTargetAck.get(m.node.id)!, `${m.node.id} ACKed before wave ${w} opened`).toBeLessThan(openSeq[w]!);
    }
    expect(completed.seq).toBeGreaterThan(Math.max(...lastTargetAck.values()));
    expect(fleet.serverEvents.some((e) => e.kind === 'nack')).toBe(false);

    const state = fleet.provider.state();
    expect(state).toMatchObject({ status: 'completed', lastGoodVersion: TARGET.version, targetVersion: TARGET.version });
    expect(state.waves.map((w) => [w.name, w.status, w.members, w.acked])).toEqual(
      [0, 1, 2, 3].map((w) => [w === 0 ? 'canary' : `wave ${w}`, 'done', all.filter((c) => waveOfClient.get(c.node.id) === w).length, all.filter((c) => waveOfClient.get(c.node.id) === w).length]),
    );
    for (const s of fleet.server.streamStatuses()) expect(streamHolds({ id: s.streamId, node: s.node, closed: false, status: () => s }, TARGET)).toBe(true);
  });
});

describe('proxy status during a rollout', () => {
  it('compares each proxy with the snapshot its wave gives it: unopened waves are SYNCED on the last good version, not STALE', async () => {
    const policy = rolloutPolicy({ canaryClusters: ['canary-*'], canaryBakeMs: 60_000, waves: [100] });
    fleet = await startFleet(LAST_GOOD, policy);
    const canary = fleet.add({ id: 'canary-0', cluster: 'canary-eu' });
    PROXIES.slice(0, 4).forEach((n) => fleet!.add(n));
    await connectAll(fleet);
    fleet.provider.publish(TARGET);
    // The canary wave ACKs, then bakes for a minute: the other proxies stay on the last good version.
    await fleet.rolloutEvent('wave-acked', (e) => e.wave === 0);
    await canary.until(() => holds(canary, ['shard-a', 'shard-b']), 10_000, 'canary on the target');
    const provider = fleet.provider;
    const views = proxyViews(fleet.server.streamStatuses(), TARGET, (node) => provider.snapshotFor(node));
    const byNode = Object.fromEntries(views.map((v) => [v.nodeId, v]));
    expect(byNode['canary-0']).toMatchObject({ target: TARGET.version, version: TARGET.version, converged: true });
    for (const n of PROXIES.slice(0, 4)) {
      expect(byNode[n.id]).toMatchObject({ target: LAST_GOOD.version, version: LAST_GOOD.version, converged: true });
      expect(byNode[n.id]!.types.filter((t) => t.status !== 'NOT SUBSCRIBED').every((t) => t.status === 'SYNCED')).toBe(true);
    }
    // Without the rollout's view every one of them would read as behind the live version.
    expect(proxyViews(fleet.server.streamStatuses(), TARGET).filter((v) => !v.converged).map((v) => v.nodeId).sort()).toEqual(PROXIES.slice(0, 4).map((n) => n.id));
    provider.abort();
  });
});

describe('canary by node metadata', () => {
  it('selects the canary by metadata canary: true over a real stream', async () => {
    const policy = rolloutPolicy({ canaryMetadata: { canary: 'true' }, waves: [100] });
    fleet = await startFleet(LAST_GOOD, policy);
    const canary = fleet.add({ id: 'meta-canary', cluster: 'edge', metadata: { canary: true } }, (r) =>
      r.type_url === TypeUrl.RouteConfiguration && routeClustersOf(r).includes('shard-b') ? 'refused (test)' : undefined,
    );
    const other = fleet.add({ id: 'proxy-00', cluster: 'edge' });
    await serverCondition(fleet.server, () => nodesHold(fleet!.server, ['meta-canary', 'proxy-00'], LAST_GOOD), 'fleet on the last good version');
    fleet.provider.publish(TARGET);
    const halted = await fleet.rolloutEvent('halted');
    expect(halted.reason).toMatchObject({ node: 'meta-canary', wave: 0 });
    expect(other.received.some((r) => r.names.includes('shard-b'))).toBe(false);
    expect(canary.received.some((r) => r.nacked)).toBe(true);
  });
});
