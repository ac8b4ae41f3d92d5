import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { SotwClient } from '../helpers/ads-client.js';
import { nextEvent, startAds, type Harness } from '../helpers/ads-harness.js';
import { topologySnapshot } from '../helpers/snapshots.js';

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

const s1 = topologySnapshot({ clusters: { a: [1001], b: [1002] }, routes: { 'obj/a': 'a', 'obj/b': 'b' } });
const s2 = topologySnapshot({ clusters: { a: [1001], b: [1002], c: [1003] }, routes: { 'obj/a': 'a', 'obj/b': 'b' } });
const s3 = topologySnapshot({ clusters: { a: [1001], c: [1003] }, routes: { 'obj/a': 'a' } });

let h: Harness;
const clients: SotwClient[] = [];
function client(id: string, userAgent = 'envoy'): SotwClient {
  const c = new SotwClient(h.address, { id, user_agent_name: userAgent });
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
});

function names(r: { resources: Array<{ name: string }> }): string[] {
  return r.resources.map((x) => x.name);
}

describe('state of the world: ACK and NACK', () => {
  it('answers with the snapshot type version and records the ACK', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(CDS);
    const r = await c.next(CDS);
    expect(r.version_info).toBe(s1.type(CDS)!.version);
    expect(names(r)).toEqual(['a', 'b']);
    const acked = nextEvent(h.server, 'ack', (e) => e.typeUrl === CDS);
    c.ack(r, []);
    const e = await acked;
    expect(e.version).toBe(r.version_info);
    const st = h.server.streamStatuses()[0]!;
    expect(st.node.id).toBe('n1');
    const cds = st.types.find((t) => t.typeUrl === CDS)!;
    expect(cds).toMatchObject({ ackedVersion: r.version_info, lastSentNonce: r.nonce, pendingAck: false, wildcard: true, ackedSnapshot: s1.version });
  });

  it('records a NACK, keeps the last accepted version and does not resend the rejected one', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(CDS);
    const first = await c.next(CDS);
    c.ack(first, []);
    await nextEvent(h.server, 'ack');
    h.provider.publish(s2);
    const bad = await c.next(CDS);
    expect(names(bad)).toEqual(['a', 'b', 'c']);
    const nacked = nextEvent(h.server, 'nack');
    c.nack(bad, [], first.version_info, 'cluster c: invalid');
    const e = await nacked;
    expect(e).toMatchObject({ version: bad.version_info, message: 'cluster c: invalid' });
    const cds = h.server.streamStatuses()[0]!.types.find((t) => t.typeUrl === CDS)!;
    expect(cds.ackedVersion).toBe(first.version_info);
    expect(cds.lastNack).toMatchObject({ version: bad.version_info, message: 'cluster c: invalid' });
    // Barrier: a new subscription is answered in push order, so a pending CDS resend would come first.
    c.request(LDS);
    await c.next(LDS);
    expect(c.pending(CDS)).toHaveLength(0);
    // A new snapshot with different content is sent.
    h.provider.publish(s3);
    const next = await c.next(CDS);
    expect(names(next)).toEqual(['a', 'c']);
  });

  it('ignores ACK and NACK semantics of a stale nonce but applies its subscription', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(EDS, ['a']);
    const r1 = await c.next(EDS);
    expect(names(r1)).toEqual(['a']);
    h.provider.publish(s2);
    // Unchanged endpoints of "a" produce no new EDS response; make one by subscribing to "b".
    c.request(EDS, ['a', 'b'], { version: r1.version_info, nonce: r1.nonce });
    const r2 = await c.next(EDS);
    expect(names(r2)).toEqual(['a', 'b']);
    // A NACK naming the stale nonce r1, with a new name: not a NACK of r2, but "c" is subscribed.
    c.request(EDS, ['a', 'b', 'c'], { version: '', nonce: r1.nonce, error: 'late complaint' });
    const r3 = await c.next(EDS);
    expect(names(r3)).toEqual(['a', 'b', 'c']);
    const eds = h.server.streamStatuses()[0]!.types.find((t) => t.typeUrl === EDS)!;
    expect(eds.lastNack).toBeNull();
  });
});

describe('state of the world: subscriptions', () => {
  it('treats empty CDS names as legacy wildcard until the client names something', async () => {
    h = await startAds(s1);
    const w = client('wild');
    const n = client('named');
    w.request(CDS);
    n.request(CDS, ['b']);
    expect(names(await w.next(CDS))).toEqual(['a', 'b']);
    expect(names(await n.next(CDS))).toEqual(['b']);
    const r = w.received[0]!;
    w.request(CDS, ['a'], { version: r.version_info, nonce: r.nonce });
    expect(names(await w.next(CDS))).toEqual(['a']);
    expect(h.server.streamStatuses().find((s) => s.node.id === 'wild')!.types[0]!.wildcard).toBe(false);
  });

  it('never treats a proxyless gRPC client as wildcard', async () => {
    h = await startAds(s1);
    const g = client('grpc', 'gRPC Node Pure JS');
    g.request(CDS);
    const r = await g.next(CDS);
    expect(names(r)).toEqual([]);
  });

  it('answers an explicit "*" with every resource', async () => {
    h = await startAds(s1);
    const c = client('star', 'gRPC Node Pure JS');
    c.request(CDS, ['*']);
    expect(names(await c.next(CDS))).toEqual(['a', 'b']);
  });

  it('answers a subscription to a name that appears later when it appears', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(EDS, ['c']);
    const empty = await c.next(EDS);
    expect(names(empty)).toEqual([]);
    c.ack(empty, ['c']);
    await nextEvent(h.server, 'ack');
    h.provider.publish(s2);
    const r = await c.next(EDS);
    expect(names(r)).toEqual(['c']);
    expect(r.version_info).toBe(s2.type(EDS)!.version);
  });

  it('answers newly subscribed names even when the type version is unchanged', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(RDS, ['model-serving']);
    const r1 = await c.next(RDS);
    c.ack(r1, ['model-serving']);
    await nextEvent(h.server, 'ack');
    c.request(EDS, ['a']);
    const e1 = await c.next(EDS);
    c.request(EDS, ['a', 'b'], { version: e1.version_info, nonce: e1.nonce });
    const e2 = await c.next(EDS);
    expect(e2.version_info).toBe(e1.version_info);
    expect(names(e2)).toEqual(['a', 'b']);
  });

  it('responds to a reconnecting client that ACKs a nonce this process never sent', async () => {
    h = await startAds(s1);
    const c = client('n1');
    c.request(CDS, [], { version: 'version-from-a-previous-process', nonce: '987654' });
    const r = await c.next(CDS);
    expect(names(r)).toEqual(['a', 'b']);
    expect(r.nonce).not.toBe('987654');
  });

  it('sends nothing before the first snapshot and everything once one is published', async () => {
    h = await startAds();
    const c = client('n1');
    c.request(CDS);
    c.request(LDS, ['model-serving']);
    h.provider.publish(s1);
    expect(names(await c.next(CDS))).toEqual(['a', 'b']);
    expect(names(await c.next(LDS))).toEqual(['model-serving']);
  });
});
