import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { DeltaClient } from '../helpers/ads-client.js';
import { nextEvent, startAds, type Harness } from '../helpers/ads-harness.js';
import { topologySnapshot } from '../helpers/snapshots.js';

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;

const s1 = topologySnapshot({ clusters: { a: [1001], b: [1002] }, routes: { 'obj/a': 'a' } });
const s2 = topologySnapshot({ clusters: { a: [1001], b: [1005] }, routes: { 'obj/a': 'a' } });
const s3 = topologySnapshot({ clusters: { a: [1001] }, routes: { 'obj/a': 'a' } });

let h: Harness;
const clients: DeltaClient[] = [];
function client(id: string): DeltaClient {
  const c = new DeltaClient(h.address, { id });
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

describe('delta xDS', () => {
  it('subscribes, sends per-resource versions and answers unknown names with removed_resources', async () => {
    h = await startAds(s1);
    const c = client('d1');
    c.request(EDS, { subscribe: ['a'] });
    const r1 = await c.next(EDS);
    expect(names(r1)).toEqual(['a']);
    expect(r1.resources[0]!.version).toBe(s1.resource(EDS, 'a')!.version);
    expect(r1.system_version_info).toBe(s1.type(EDS)!.version);
    c.ack(r1);
    c.request(EDS, { subscribe: ['nope'] });
    const r2 = await c.next(EDS);
    expect(r2.resources).toEqual([]);
    expect(r2.removed_resources).toEqual(['nope']);
  });

  it('sends only what changed and removes what disappeared', async () => {
    h = await startAds(s1);
    const c = client('d1');
    c.request(EDS, { subscribe: ['a', 'b'] });
    const r1 = await c.next(EDS);
    expect(names(r1)).toEqual(['a', 'b']);
    c.ack(r1);
    await nextEvent(h.server, 'ack');
    h.provider.publish(s2);
    const r2 = await c.next(EDS);
    expect(names(r2)).toEqual(['b']);
    c.ack(r2);
    await nextEvent(h.server, 'ack');
    h.provider.publish(s3);
    const r3 = await c.next(EDS);
    expect(r3.resources).toEqual([]);
    expect(r3.removed_resources).toEqual(['b']);
  });

  it('stops sending unsubscribed resources', async () => {
    h = await startAds(s1);
    const c = client('d1');
    c.request(EDS, { subscribe: ['a', 'b'] });
    const r1 = await c.next(EDS);
    const acked = nextEvent(h.server, 'ack');
    c.request(EDS, { nonce: r1.nonce, unsubscribe: ['b'] });
    await acked;
    h.provider.publish(s2); // only b changed: nothing to send to this client
    c.request(LDS, { subscribe: ['model-serving'] }); // barrier: answered after any due EDS
    await c.next(LDS);
    expect(c.pending(EDS)).toHaveLength(0);
    const eds = h.server.streamStatuses()[0]!.types.find((t) => t.typeUrl === EDS)!;
    expect(eds.subscribed).toEqual(['a']);
  });

  it('sends only differences after a reconnect with initial_resource_versions', async () => {
    h = await startAds(s2);
    const c = client('d1');
    c.request(EDS, {
      subscribe: ['a', 'b', 'gone'],
      initial: { a: s2.resource(EDS, 'a')!.version, b: s1.resource(EDS, 'b')!.version, gone: 'v-old' },
    });
    const r = await c.next(EDS);
    expect(names(r)).toEqual(['b']);
    expect(r.removed_resources).toEqual(['gone']);
  });

  it('applies subscription changes carried by a request with a stale nonce', async () => {
    h = await startAds(s1);
    const c = client('d1');
    c.request(EDS, { subscribe: ['a'] });
    const r1 = await c.next(EDS);
    c.ack(r1);
    await nextEvent(h.server, 'ack');
    c.request(EDS, { subscribe: ['b'], nonce: 'stale-nonce-42' });
    const r2 = await c.next(EDS);
    expect(names(r2)).toEqual(['b']);
  });

  it('treats an empty first CDS subscription as wildcard and records a NACK without resending', async () => {
    h = await startAds(s1);
    const c = client('d1');
    c.request(CDS);
    const r1 = await c.next(CDS);
    expect(names(r1)).toEqual(['a', 'b']);
    c.ack(r1);
    await nextEvent(h.server, 'ack');
    const changed = topologySnapshot({ clusters: { a: [1001], b: [1002], c: [1003] }, routes: { 'obj/a': 'a' } });
    h.provider.publish(changed);
    const r2 = await c.next(CDS);
    expect(names(r2)).toEqual(['c']);
    const nack = nextEvent(h.server, 'nack');
    c.nack(r2, 'c is bad');
    expect((await nack).message).toBe('c is bad');
    c.request(LDS, { subscribe: ['model-serving'] });
    await c.next(LDS);
    expect(c.pending(CDS)).toHaveLength(0);
  });
});
