import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { SotwClient, DeltaClient } from '../helpers/ads-client.js';
import { nextEvent, startAds, type Harness } from '../helpers/ads-harness.js';
import { topologySnapshot, wideSnapshot } from '../helpers/snapshots.js';

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

const before = topologySnapshot({ clusters: { a: [1001], b: [1002] }, routes: { 'obj/a': 'a', 'obj/b': 'b' } });
const withNewCluster = topologySnapshot({ clusters: { a: [1001], b: [1002], x: [1009] }, routes: { 'obj/a': 'a', 'obj/b': 'b', 'obj/x': 'x' } });
const withoutB = topologySnapshot({ clusters: { a: [1001] }, routes: { 'obj/a': 'a', 'obj/b': 'a' } });

let h: Harness;
const clients: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
});

function names(r: { resources: Array<{ name: string }> }): string[] {
  return r.resources.map((x) => x.name);
}

function routeClusters(r: { resources: Array<{ message: Record<string, unknown> }> }): string[] {
  const rc = r.resources[0]!.message as { virtual_hosts: Array<{ routes: Array<{ route: { cluster: string } }> }> };
  return [...new Set(rc.virtual_hosts.flatMap((vh) => vh.routes.map((x) => x.route.cluster)))].sort();
}

/** An Envoy-like client: CDS wildcard, EDS for every cluster, RDS by name; everything ACKed. */
async function envoyLike(id: string): Promise<SotwClient> {
  const c = new SotwClient(h.address, { id });
  clients.push(c);
  c.request(CDS);
  const cds = await c.next(CDS);
  c.ack(cds, []);
  c.request(EDS, names(cds));
  c.ack(await c.next(EDS), names(cds));
  c.request(RDS, ['model-serving']);
  const rds = await c.next(RDS);
  const acked = nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS && e.stream.node?.id === id);
  c.ack(rds, ['model-serving']);
  await acked;
  return c;
}

describe('push order and ACK gating', () => {
  it('holds routes naming a new cluster until the stream ACKed that cluster', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    h.provider.publish(withNewCluster);
    const cds = await c.next(CDS);
    expect(names(cds)).toEqual(['a', 'b', 'x']);
    // Barrier: a new LDS subscription is answered after the server planned (and gated) RDS.
    c.request(LDS, ['model-serving']);
    await c.next(LDS);
    expect(c.pending(RDS)).toHaveLength(0);
    const rdsStatus = h.server.streamStatuses()[0]!.types.find((t) => t.typeUrl === RDS)!;
    expect(rdsStatus.waitingFor).toEqual(['x']);
    // The ACK of the cluster releases the routes.
    c.ack(cds, []);
    const rds = await c.next(RDS);
    expect(routeClusters(rds)).toEqual(['a', 'b', 'x']);
    const order = c.received.map((r) => r.type_url);
    expect(order.lastIndexOf(CDS)).toBeLessThan(order.lastIndexOf(RDS));
  });

  it('counts an ACK of an unchanged type for the newer snapshot published while it was in flight', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    h.provider.publish(withNewCluster);
    const cds = await c.next(CDS);
    // Only the routes change next; the CDS response above is still unACKed.
    const reRouted = topologySnapshot({ clusters: { a: [1001], b: [1002], x: [1009] }, routes: { 'obj/a': 'a', 'obj/b': 'x', 'obj/x': 'x' } });
    expect(reRouted.type(CDS)!.version).toBe(withNewCluster.type(CDS)!.version);
    h.provider.publish(reRouted);
    c.ack(cds, []);
    const rds = await c.next(RDS);
    expect(routeClusters(rds)).toEqual(['a', 'x']);
    const acked = nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS && e.version === reRouted.type(RDS)!.version);
    c.ack(rds, ['model-serving']);
    await acked;
    const types = h.server.streamStatuses()[0]!.types;
    expect(Object.fromEntries(types.map((t) => [t.typeUrl, t.ackedSnapshot]))).toEqual({ [CDS]: reRouted.version, [EDS]: reRouted.version, [RDS]: reRouted.version });
  });

  it('sends only the changed type on a route change; the unchanged ones move to the new snapshot as they are', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    const sent: string[] = [];
    h.server.on('send', (e) => sent.push(e.typeUrl));
    const reRouted = topologySnapshot({ clusters: { a: [1001], b: [1002] }, routes: { 'obj/a': 'b', 'obj/b': 'a' } });
    expect(reRouted.type(CDS)!.version).toBe(before.type(CDS)!.version);
    h.provider.publish(reRouted);
    const rds = await c.next(RDS);
    const acked = nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS && e.version === reRouted.type(RDS)!.version);
    c.ack(rds, ['model-serving']);
    await acked;
    expect(sent).toEqual([RDS]);
    expect(c.pending(CDS)).toHaveLength(0);
    expect(c.pending(EDS)).toHaveLength(0);
    const types = h.server.streamStatuses()[0]!.types;
    expect(Object.fromEntries(types.map((t) => [t.typeUrl, t.ackedSnapshot]))).toEqual({ [CDS]: reRouted.version, [EDS]: reRouted.version, [RDS]: reRouted.version });
  });

  it('keeps a NACKed cluster from ever being named by routes sent to that stream', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    h.provider.publish(withNewCluster);
    const cds = await c.next(CDS);
    c.nack(cds, [], before.type(CDS)!.version, 'x: bad cluster');
    await nextEvent(h.server, 'nack');
    c.request(LDS, ['model-serving']);
    await c.next(LDS);
    expect(c.pending(RDS)).toHaveLength(0);
  });

  it('removes a cluster only after the stream ACKed routes that no longer name it', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    h.provider.publish(withoutB);
    // b is still named by the routes the client holds: CDS keeps it, so routes go first.
    const rds = await c.next(RDS);
    expect(routeClusters(rds)).toEqual(['a']);
    expect(c.pending(CDS)).toHaveLength(0);
    expect(h.server.streamStatuses()[0]!.types.find((t) => t.typeUrl === CDS)!.ackedVersion).toBe(before.type(CDS)!.version);
    c.ack(rds, ['model-serving']);
    const cds2 = await c.next(CDS);
    expect(names(cds2)).toEqual(['a']);
    expect(cds2.version_info).toBe(withoutB.type(CDS)!.version);
  });

  it('resends EDS for a changed cluster even when its endpoints did not change', async () => {
    h = await startAds(before);
    const c = await envoyLike('envoy-1');
    const changedCluster = topologySnapshot({ clusters: { a: [1001], b: [1002] }, routes: { 'obj/a': 'a', 'obj/b': 'b' }, routeExtras: {} });
    // Same topology but cluster "a" gets a different connect timeout: build it by hand.
    const { buildEdsCluster } = await import('../../src/proto/builders.js');
    const { createSnapshot } = await import('../../src/snapshot/snapshot.js');
    const input: Record<string, object[]> = {};
    for (const t of changedCluster.typeUrls()) input[t] = [];
    const s = createSnapshot({
      [CDS]: [buildEdsCluster({ name: 'a', connectTimeoutMs: 2500 }), buildEdsCluster({ name: 'b' })],
      [EDS]: [...before.type(EDS)!.resources.values()].map((r) => decode(EDS, r.bytes)),
      [LDS]: [...before.type(LDS)!.resources.values()].map((r) => decode(LDS, r.bytes)),
      [RDS]: [...before.type(RDS)!.resources.values()].map((r) => decode(RDS, r.bytes)),
    });
    expect(s.type(EDS)!.version).toBe(before.type(EDS)!.version);
    h.provider.publish(s);
    const cds = await c.next(CDS);
    c.ack(cds, []);
    const eds = await c.next(EDS);
    expect(names(eds)).toContain('a');
    expect(eds.version_info).toBe(before.type(EDS)!.version);
  });
});

import { messageType } from '../../src/proto/messages.js';
function decode(typeUrl: string, bytes: Uint8Array): object {
  const t = messageType(typeUrl);
  return t.toObject(t.decode(bytes), { longs: Number, enums: String, defaults: false });
}

describe('delta ordering', () => {
  it('gates routes on cluster ACKs and keeps removed clusters until routes move', async () => {
    h = await startAds(before);
    const c = new DeltaClient(h.address, { id: 'delta-envoy' });
    clients.push(c);
    c.request(CDS);
    const cds = await c.next(CDS);
    expect(names(cds)).toEqual(['a', 'b']);
    c.ack(cds);
    c.request(RDS, { subscribe: ['model-serving'] });
    const rds = await c.next(RDS);
    c.ack(rds);
    await nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS);
    h.provider.publish(withoutB);
    const rds2 = await c.next(RDS);
    expect(routeClusters(rds2)).toEqual(['a']);
    expect(c.pending(CDS)).toHaveLength(0); // b may not be removed before the routes are ACKed
    c.ack(rds2);
    const cds2 = await c.next(CDS);
    expect(cds2.removed_resources).toEqual(['b']);
  });
});

describe('delta: ACKed snapshot', () => {
  it('counts an ACK of an unchanged type for the newer snapshot published while it was in flight', async () => {
    h = await startAds(before);
    const c = new DeltaClient(h.address, { id: 'delta-envoy' });
    clients.push(c);
    c.request(CDS);
    c.ack(await c.next(CDS));
    c.request(RDS, { subscribe: ['model-serving'] });
    const rds = await c.next(RDS);
    const first = nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS);
    c.ack(rds);
    await first;
    h.provider.publish(withNewCluster);
    const cds = await c.next(CDS);
    const reRouted = topologySnapshot({ clusters: { a: [1001], b: [1002], x: [1009] }, routes: { 'obj/a': 'a', 'obj/b': 'x', 'obj/x': 'x' } });
    h.provider.publish(reRouted);
    c.ack(cds);
    const rds2 = await c.next(RDS);
    const acked = nextEvent(h.server, 'ack', (e) => e.typeUrl === RDS && e.snapshotVersion === reRouted.version);
    c.ack(rds2);
    await acked;
    const types = h.server.streamStatuses()[0]!.types;
    expect(Object.fromEntries(types.map((t) => [t.typeUrl, t.ackedSnapshot]))).toEqual({ [CDS]: reRouted.version, [RDS]: reRouted.version });
  });
});

describe('a stream that does not read', () => {
  it('keeps at most the latest pending response per type, not a backlog', async () => {
    h = await startAds(wideSnapshot(1500, 'v0'));
    const c = new SotwClient(h.address, { id: 'slow' });
    clients.push(c);
    c.request(RDS, ['model-serving']);
    const first = await c.next(RDS);
    c.ack(first, ['model-serving']);
    await nextEvent(h.server, 'ack');
    // Stop reading: responses pile up in HTTP/2 flow control, then the server stops writing.
    (c as unknown as { call: { pause(): void } }).call.pause();
    let sends = 0;
    h.server.on('send', () => sends++);
    const last = wideSnapshot(1500, 'v20');
    for (let i = 1; i < 20; i++) h.provider.publish(wideSnapshot(1500, `v${i}`));
    h.provider.publish(last);
    expect(sends).toBeLessThan(20);
    (c as unknown as { call: { resume(): void } }).call.resume();
    // Everything written arrives; the newest version arrives last.
    let r = await c.next(RDS);
    while (r.version_info !== last.type(RDS)!.version) r = await c.next(RDS);
    expect(c.received.filter((x) => x.type_url === RDS).length).toBeLessThan(20);
  });
});
