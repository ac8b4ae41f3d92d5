// End to end against a real, independent xDS client: @grpc/grpc-js-xds dials xds:///model-serving,
// takes LDS/RDS/CDS/EDS from our ADS server, and sends real gRPC calls to real backends chosen by
// the x-routing-key header.
//
// Isolation: every test starts its own ADS server (port 0), its own backends and its own client
// with a distinct node id. Each client passes its bootstrap per channel, so grpc-js-xds gives it a
// private XdsClient (see test/helpers/xds-client.ts): no xDS state is shared between tests.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { SingleSnapshotProvider } from '../../src/xds/provider.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { topologySnapshot, type TestTopology } from '../helpers/snapshots.js';
import { GRPC_XDS_USER_AGENT_NAME, GRPC_XDS_VERSION } from '../helpers/xds-client.js';
import type { EchoBackends } from '../helpers/grpc-backends.js';
import { withTimeout } from '../helpers/wait.js';
import { ackOf, converged, CONVERGE_TIMEOUT_MS, describeStream, E2eHarness, PROXYLESS_TYPES, recordAckedTypes, streamOf } from './harness.js';

const CALLS_PER_KEY = 8;
const h = new E2eHarness();

afterEach(async () => {
  await h.cleanup();
  // A NACK means a real independent client rejected one of our resources.
  expect(h.nacks.map((n) => `${n.typeUrl} ${n.version}: ${n.message}`)).toEqual([]);
});

afterAll(() => {
  expect(h.nacks).toHaveLength(0);
});

/** Clusters the routes of a topology name (what a proxyless client subscribes CDS/EDS to). */
function routed(t: TestTopology): string[] {
  return [...new Set(Object.values(t.routes))].sort();
}

function topology(backends: EchoBackends, clusters: Record<string, string[]>, routes: Record<string, string>): TestTopology {
  return { clusters: Object.fromEntries(Object.entries(clusters).map(([c, names]) => [c, names.map((n) => backends.port(n))])), routes };
}

/** Every call with each key lands on the expected backend (and the backend saw that key). */
async function expectRouting(client: { backendsFor(key: string, n: number): Promise<string[]> }, expected: Record<string, string>): Promise<void> {
  for (const [key, backend] of Object.entries(expected)) {
    expect(await client.backendsFor(key, CALLS_PER_KEY), `calls with x-routing-key=${key}`).toEqual(Array(CALLS_PER_KEY).fill(backend));
  }
}

describe('proxyless gRPC client (@grpc/grpc-js-xds) against the ADS server', () => {
  it('routes each call to the backend chosen by the x-routing-key header', async () => {
    const backends = await h.backends(['A', 'B']);
    const t = topology(backends, { 'cluster-a': ['A'], 'cluster-b': ['B'] }, { 'key-a': 'cluster-a', 'key-b': 'cluster-b' });
    const snapshot = topologySnapshot(t);
    const { server, port } = await h.startServer(new SingleSnapshotProvider(snapshot));
    const client = h.client({ adsPort: port, nodeId: 'e2e-routing' });

    await expectRouting(client, { 'key-a': 'A', 'key-b': 'B' });
    // Interleaved keys on one channel: the route is chosen per call, not per channel.
    for (let i = 0; i < CALLS_PER_KEY; i++) {
      expect((await client.call('key-b')).backend).toBe('B');
      expect((await client.call('key-a')).backend).toBe('A');
    }
    expect(backends.get('A').callsByKey).toEqual(new Map([['key-a', 2 * CALLS_PER_KEY]]));
    expect(backends.get('B').callsByKey).toEqual(new Map([['key-b', 2 * CALLS_PER_KEY]]));

    // No route matches a call without the header, or with a key nobody routes: the client fails
    // the call (UNAVAILABLE) instead of sending it anywhere.
    for (const key of [undefined, 'key-unknown']) {
      await expect(client.call(key, { deadlineMs: 5_000 }), `x-routing-key=${key}`).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/Failed to route/) });
    }
    expect(backends.all().reduce((n, b) => n + b.calls, 0)).toBe(4 * CALLS_PER_KEY);
    await converged(server, 'e2e-routing', snapshot, routed(t));
  });

  it('follows a newly published snapshot without any restart', async () => {
    const backends = await h.backends(['A', 'B', 'C']);
    const clusters = { 'cluster-a': ['A'], 'cluster-b': ['B'] };
    const t1 = topology(backends, clusters, { 'key-a': 'cluster-a', 'key-b': 'cluster-b' });
    const s1 = topologySnapshot(t1);
    const provider = new SingleSnapshotProvider(s1);
    const { server, port } = await h.startServer(provider);
    const nodeId = 'e2e-publish';
    const client = h.client({ adsPort: port, nodeId });
    await expectRouting(client, { 'key-a': 'A', 'key-b': 'B' });
    await converged(server, nodeId, s1, routed(t1));

    // 1. Swap the routes: only RDS changes. The RDS ACK tells us the client took it.
    const t2 = topology(backends, clusters, { 'key-a': 'cluster-b', 'key-b': 'cluster-a' });
    const s2 = topologySnapshot(t2);
    const rdsAck = ackOf(server, nodeId, TypeUrl.RouteConfiguration, s2.version);
    provider.publish(s2);
    await rdsAck;
    await expectRouting(client, { 'key-a': 'B', 'key-b': 'A' });

    // 2. Route key-a to a new cluster on a third backend: the client learns of cluster-c from RDS,
    // then asks CDS and EDS for it; it switches once it holds all of them.
    const t3 = topology(backends, { ...clusters, 'cluster-c': ['C'] }, { 'key-a': 'cluster-c', 'key-b': 'cluster-b' });
    const s3 = topologySnapshot(t3);
    const done = converged(server, nodeId, s3, routed(t3));
    provider.publish(s3);
    await done;
    await expectRouting(client, { 'key-a': 'C', 'key-b': 'B' });
    expect(backends.get('C').callsByKey).toEqual(new Map([['key-a', CALLS_PER_KEY]]));
  });

  it('keeps routing on cached configuration while the server is down, resubscribes to a restarted server and takes later snapshots', async () => {
    const backends = await h.backends(['A', 'B', 'C']);
    const clusters = { 'cluster-a': ['A'], 'cluster-b': ['B'] };
    const t1 = topology(backends, clusters, { 'key-a': 'cluster-a', 'key-b': 'cluster-b' });
    const s1 = topologySnapshot(t1);
    const provider = new SingleSnapshotProvider(s1);
    const first = await h.startServer(provider);
    const nodeId = 'e2e-restart';
    // The client keeps this port in its bootstrap: the restarted server must bind the same port.
    const client = h.client({ adsPort: first.port, nodeId });
    await expectRouting(client, { 'key-a': 'A', 'key-b': 'B' });
    await converged(first.server, nodeId, s1, routed(t1));

    // Crash the control plane. A placeholder takes the port at once (the kill released it
    // synchronously) and drops every connection: its first connection attempt is the event that
    // proves the client noticed the outage and is redialing.
    h.kill(first.server);
    const placeholder = await h.placeholder(first.port);
    await withTimeout(placeholder.firstAttempt(), { timeoutMs: CONVERGE_TIMEOUT_MS, describe: () => 'the client never redialed the control plane' });

    // A rule change lands while the control plane is down: the client cannot know, and keeps
    // routing on its cached configuration.
    const t2 = topology(backends, clusters, { 'key-a': 'cluster-b', 'key-b': 'cluster-a' });
    const s2 = topologySnapshot(t2);
    provider.publish(s2);
    await expectRouting(client, { 'key-a': 'A', 'key-b': 'B' });

    // Restart on the same port with the same provider. Record ACKs before anything can connect.
    await h.releasePlaceholder(placeholder);
    let acked = new Set<string>();
    const second = await h.startServer(provider, first.port, (s) => (acked = recordAckedTypes(s, nodeId)));
    expect(second.port).toBe(first.port);
    await converged(second.server, nodeId, s2, routed(t2));
    // The client resubscribed every type on the new stream and ACKed each one.
    expect([...acked].sort()).toEqual([...PROXYLESS_TYPES].sort());
    expect(placeholder.attempts).toBeGreaterThanOrEqual(1);
    await expectRouting(client, { 'key-a': 'B', 'key-b': 'A' });

    // A snapshot published after the restart takes effect too (new cluster on a third backend).
    const t3 = topology(backends, { ...clusters, 'cluster-c': ['C'] }, { 'key-a': 'cluster-c', 'key-b': 'cluster-b' });
    const s3 = topologySnapshot(t3);
    const done = converged(second.server, nodeId, s3, routed(t3));
    provider.publish(s3);
    await done;
    await expectRouting(client, { 'key-a': 'C', 'key-b': 'B' });
  });

  it("reports the client's node, user agent, subscriptions and ACKed versions in the stream status", async () => {
    const backends = await h.backends(['A', 'B']);
    const t = topology(backends, { 'cluster-a': ['A'], 'cluster-b': ['B'] }, { 'key-a': 'cluster-a', 'key-b': 'cluster-b' });
    const snapshot = topologySnapshot(t);
    const { server, port } = await h.startServer(new SingleSnapshotProvider(snapshot));
    const nodeId = 'e2e-status';
    const client = h.client({ adsPort: port, nodeId, cluster: 'status-cluster', zone: 'local' });
    await expectRouting(client, { 'key-a': 'A', 'key-b': 'B' });
    await converged(server, nodeId, snapshot, routed(t));

    const st = streamOf(server, nodeId);
    expect(st, describeStream(server, nodeId)).toBeDefined();
    expect(server.streamStatuses()).toHaveLength(1);
    expect(st!.protocol).toBe('sotw');
    expect(st!.node).toMatchObject({ id: nodeId, cluster: 'status-cluster', locality: { zone: 'local' }, userAgent: `${GRPC_XDS_USER_AGENT_NAME}/${GRPC_XDS_VERSION}` });

    const versions = snapshot.typeVersions();
    const byType = Object.fromEntries(st!.types.map((ts) => [ts.typeUrl, ts]));
    expect(Object.keys(byType).sort()).toEqual([...PROXYLESS_TYPES].sort());
    const expectedNames: Record<string, string[]> = {
      [TypeUrl.Listener]: ['model-serving'],
      [TypeUrl.RouteConfiguration]: ['model-serving'],
      [TypeUrl.Cluster]: ['cluster-a', 'cluster-b'],
      [TypeUrl.ClusterLoadAssignment]: ['cluster-a', 'cluster-b'],
    };
    for (const typeUrl of PROXYLESS_TYPES) {
      const ts = byType[typeUrl]!;
      expect(ts, ts.type).toMatchObject({
        wildcard: false,
        subscribed: expectedNames[typeUrl],
        ackedVersion: versions[typeUrl],
        lastSentVersion: versions[typeUrl],
        ackedSnapshot: snapshot.version,
        pendingAck: false,
        waitingFor: [],
        lastNack: null,
      });
    }
  });
});
