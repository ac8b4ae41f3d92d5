// A real Envoy (the pinned envoyproxy/envoy image, in a container) runs the shipped bootstrap
// against Switchyard running in this process, and real gRPC calls go through Envoy's listener to
// echo backends: routing by x-routing-key, fallback by x-objective, a migration's weighted split,
// a shadow's mirrored requests, a rollback, and Envoy's own view of what it holds (/config_dump,
// /stats). Once with state-of-the-world ADS, once with delta, and once over mutual TLS with node
// identity checks (envoy-bootstrap-tls.yaml).
//
// Needs a container runtime (Docker or compatible, as testcontainers finds it). Without one, the
// whole suite is skipped with one line saying why, and `vitest run --config vitest.envoy.config.ts`
// exits 0. Run: `npx vitest run --config vitest.envoy.config.ts` (see docs/envoy.md).
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { DEFAULT_LISTENER_NAME, OBJECTIVE_HEADER, ROUTING_KEY_HEADER } from '../../src/compile/constants.js';
import type { SnapshotView } from '../../src/snapshot/types.js';
import type { StreamStatus } from '../../src/xds/stream-status.js';
import type { AdsStream } from '../../src/xds/stream.js';
import { spiffeNodeId } from '../../src/xds/identity.js';
import { waitForEvent } from '../helpers/wait.js';
import { containerRuntime } from './runtime.js';
import { Scenario } from './scenario.js';
import { TestCa } from '../helpers/certs.js';
import { containerBootstrap, dumpOf, ENVOY_IMAGE, ENVOY_TYPES, EnvoyContainer, envoyConverged, eventually, HOST_FROM_CONTAINER, pathsOfKey, streamOfNode } from './envoy-harness.js';
import { KEY_A, KEY_B, KEY_MIG, OBJ_A, OBJ_MIG, SHARD_OF_BACKEND, SHARDS } from './topology.js';

const runtime = await containerRuntime();
if (!runtime.available) console.log(`envoy suite skipped: no container runtime (${runtime.reason})`);

/** The first run pulls the Envoy and testcontainers helper images. */
const SETUP_TIMEOUT_MS = 600_000;

type Json = Record<string, unknown>;

/** Versions Envoy may report for a resource that holds this snapshot's content: the type version
 * (state of the world), the resource version (delta), or the version Switchyard saw it ACK. */
function acceptableVersions(snapshot: SnapshotView, st: StreamStatus, typeUrl: string, name: string): string[] {
  const set = snapshot.type(typeUrl)!;
  const ts = st.types.find((t) => t.typeUrl === typeUrl);
  return [set.version, set.resources.get(name)?.version, ts?.ackedVersion].filter((v): v is string => Boolean(v));
}

function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** What Envoy's /config_dump and /stats say it holds, checked against what Switchyard served. */
async function expectEnvoyHolds(s: Scenario, snapshot: SnapshotView): Promise<void> {
  const nodeId = s.options.nodeId;
  const st = streamOfNode(s.ads, nodeId)!;
  const dump = await s.envoy.configDump();
  expect(pathsOfKey(dump, 'error_state'), 'a resource Envoy failed to apply').toEqual([]);

  const clusters = dumpOf(dump, 'ClustersConfigDump');
  const active = (clusters.dynamic_active_clusters as Json[] | undefined) ?? [];
  expect(active.map((c) => (c.cluster as Json).name).sort()).toEqual(SHARDS);
  expect(clusters.dynamic_warming_clusters ?? []).toEqual([]);
  for (const c of active) expect(acceptableVersions(snapshot, st, TypeUrl.Cluster, String((c.cluster as Json).name))).toContain(c.version_info);

  const routes = (dumpOf(dump, 'RoutesConfigDump').dynamic_route_configs as Json[] | undefined) ?? [];
  expect(routes.map((r) => (r.route_config as Json).name)).toEqual([DEFAULT_LISTENER_NAME]);
  expect(acceptableVersions(snapshot, st, TypeUrl.RouteConfiguration, DEFAULT_LISTENER_NAME)).toContain(routes[0]!.version_info);

  const endpoints = (dumpOf(dump, 'EndpointsConfigDump').dynamic_endpoint_configs as Json[] | undefined) ?? [];
  expect(endpoints.map((e) => (e.endpoint_config as Json).cluster_name).sort()).toEqual(SHARDS);
  for (const e of endpoints) {
    const cla = e.endpoint_config as { cluster_name: string; endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> };
    const addresses = cla.endpoints.flatMap((l) => l.lb_endpoints.map((x) => ({ address: x.endpoint.address.socket_address.address, port_value: x.endpoint.address.socket_address.port_value })));
    const backend = (Object.entries(SHARD_OF_BACKEND).find(([, shard]) => shard === cla.cluster_name)![0]) as keyof typeof SHARD_OF_BACKEND;
    expect(addresses).toEqual([{ address: s.backendAddress, port_value: s.backends.port(backend) }]);
    expect(acceptableVersions(snapshot, st, TypeUrl.ClusterLoadAssignment, cla.cluster_name)).toContain(e.version_info);
  }

  // Envoy never rejected an update, and the ADS stream never failed once established.
  const updates = await s.xdsUpdateStats();
  expect([...updates.keys()].some((k) => k.startsWith('cluster_manager.cds.')), `update stats: ${[...updates.keys()].join(', ')}`).toBe(true);
  expect([...updates].filter(([k, v]) => k.endsWith('update_rejected') && v !== 0)).toEqual([]);
  expect([...updates].filter(([k, v]) => k.endsWith('update_failure') && v !== (s.updateFailuresAtStart.get(k) ?? 0))).toEqual([]);
  expect((await s.envoy.stats('^control_plane\\.connected_state$')).get('control_plane.connected_state')).toBe(1);
  expect(s.nacks.map((n) => `${n.typeUrl} ${n.version}: ${n.message}`)).toEqual([]);
}

describe.skipIf(!runtime.available)(`Envoy (${ENVOY_IMAGE}, in a container) against Switchyard`, () => {
  for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
    const protocol = apiType === 'GRPC' ? 'sotw' : 'delta';
    describe(`${protocol === 'sotw' ? 'state of the world' : 'delta'} ADS (api_type: ${apiType})`, () => {
      const nodeId = `edge-${protocol}`;
      let s: Scenario;

      beforeAll(async () => {
        s = await Scenario.start({ nodeId, apiType });
      }, SETUP_TIMEOUT_MS);
      afterAll(async () => s?.stop());

      it('holds CDS, EDS and RDS of the live snapshot over one ADS stream (no LDS), with no NACK', () => {
        const st = streamOfNode(s.ads, nodeId);
        expect(st).toBeDefined();
        expect(st!.protocol).toBe(protocol);
        expect(st!.node).toMatchObject({ id: nodeId, cluster: 'edge' });
        expect(st!.node.userAgent).toMatch(/^envoy/);
        expect(st!.types.map((t) => t.typeUrl).sort()).toEqual([...ENVOY_TYPES].sort());
        expect(s.nacks).toEqual([]);
      });

      it('routes each call by x-routing-key to the shard of its model, and tags the response with the model', async () => {
        // Envoy applies an ACKed route table on its workers a moment after the ACK.
        const first = await eventually(async () => {
          const r = await s.client.call({ [ROUTING_KEY_HEADER]: KEY_A });
          expect(r.backend).toBe('A');
          return r;
        });
        expect(first).toMatchObject({ routingKey: KEY_A, model: 'model-a' });
        expect(await s.client.backendsFor(KEY_A, 10)).toEqual(Array(10).fill('A'));
        expect(await s.client.backendsFor(KEY_B, 10)).toEqual(Array(10).fill('B'));
      });

      it('answers a routing key no route matches with UNIMPLEMENTED (Envoy 404) and reaches no backend', async () => {
        const primaries = (): number => s.backend('A').calls + s.backend('B').calls + s.backend('C').calls;
        const before = primaries();
        await expect(s.client.call({ [ROUTING_KEY_HEADER]: 'NoSuchObjective/no-model' })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
        expect(primaries()).toBe(before);
      });

      it("falls back on x-objective to the objective's default model when the caller did not resolve", async () => {
        const r = await s.client.call({ [OBJECTIVE_HEADER]: OBJ_A });
        expect(r).toMatchObject({ backend: 'A', routingKey: '', model: 'model-a' });
        const m = await s.client.call({ [OBJECTIVE_HEADER]: OBJ_MIG });
        expect(['A', 'C']).toContain(m.backend);
        expect(m.model).toBe('model-mig');
      });

      it("splits a migrating model's calls between its two shards by the migration's percent", async () => {
        const n = 400;
        const counts = tally(await s.client.backendsFor(KEY_MIG, n));
        expect(Object.keys(counts).sort()).toEqual(['A', 'C']);
        // 30% to shard-c: binomial, accept within 5 standard deviations (false failure odds < 1e-6).
        const p = s.topology.migrationPercent / 100;
        const sd = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(counts.C! - n * p), `${counts.C} of ${n} calls reached shard-c`).toBeLessThan(5 * sd);
      });

      it('mirrors a shadowed objective to the shadow backend; the caller gets only the primary answer', async () => {
        for (let i = 0; i < 20; i++) expect((await s.client.call({ [ROUTING_KEY_HEADER]: KEY_B })).backend).toBe('B');
        const sent = s.client.sent.get(KEY_B)!;
        expect(s.backend('B').callsByKey.get(KEY_B)).toBe(sent);
        // Every call with KEY_B so far (shadow percent 100) reaches the shadow backend, after its response.
        await eventually(() => expect(s.backend('S').callsByKey.get(KEY_B) ?? 0).toBe(sent), 15_000);
        expect(s.backend('S').callsByKey.get(KEY_A)).toBeUndefined();
      });

      it('holds exactly what Switchyard served: /config_dump versions and addresses, nothing warming, no error_state, no rejected update', async () => {
        await expectEnvoyHolds(s, s.app.provider.snapshot!);
      });

      it('follows a rule change and a rollback (control plane rollback) without restarting', async () => {
        const v1 = s.app.provider.snapshot!;
        // model-a moves to shard-b: only the routes change.
        const v2 = await s.publish({ modelAShard: 'shard-b' });
        expect(v2.version).not.toBe(v1.version);
        await eventually(async () => expect((await s.client.call({ [ROUTING_KEY_HEADER]: KEY_A })).backend).toBe('B'));
        await expectEnvoyHolds(s, v2);

        const back = envoyConverged(s.ads, nodeId, v1, s.envoy);
        const entry = await s.app.controlPlane.rollback(v1.version);
        expect(entry.version).toBe(v1.version);
        await back;
        expect(s.app.provider.snapshot!.version).toBe(v1.version);
        await eventually(async () => expect((await s.client.call({ [ROUTING_KEY_HEADER]: KEY_A })).backend).toBe('A'));
        expect(await s.client.backendsFor(KEY_A, 5)).toEqual(Array(5).fill('A'));
        await expectEnvoyHolds(s, v1);
      });
    });
  }

  describe('mutual TLS with node identity (envoy-bootstrap-tls.yaml)', () => {
    const trustDomain = 'switchyard.test';
    const nodeId = 'edge-tls';
    let s: Scenario;
    let ca: TestCa;
    let envoyFiles: Array<{ content: string; target: string; mode: number }>;

    beforeAll(async () => {
      ca = await TestCa.create('Switchyard Envoy suite CA');
      // The names envoy-bootstrap-tls.yaml expects: SNI and SAN switchyard.internal, the node's SPIFFE ID.
      const server = await ca.issue({ cn: 'switchyard', sans: ['DNS:switchyard.internal'] });
      const node = await ca.issue({ cn: nodeId, sans: [`URI:${spiffeNodeId(trustDomain, nodeId)}`] });
      const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-envoy-tls-'));
      const certFile = path.join(dir, 'server.crt');
      const keyFile = path.join(dir, 'server.key');
      const clientCaFile = path.join(dir, 'clients-ca.crt');
      await Promise.all([writeFile(certFile, server.cert), writeFile(keyFile, server.key), writeFile(clientCaFile, ca.cert)]);
      envoyFiles = [
        { content: ca.cert, target: '/etc/switchyard/tls/ca.crt', mode: 0o644 },
        { content: node.cert, target: '/etc/switchyard/tls/node.crt', mode: 0o644 },
        { content: node.key, target: '/etc/switchyard/tls/node.key', mode: 0o644 },
      ];
      s = await Scenario.start({ nodeId, apiType: 'GRPC', tls: { certFile, keyFile, clientCaFile, trustDomain, envoyFiles } });
    }, SETUP_TIMEOUT_MS);
    afterAll(async () => s?.stop());

    it('connects over mutual TLS, converges and routes', async () => {
      expect(streamOfNode(s.ads, nodeId)?.node.id).toBe(nodeId);
      await eventually(async () => expect((await s.client.call({ [ROUTING_KEY_HEADER]: KEY_A })).backend).toBe('A'));
      await expectEnvoyHolds(s, s.app.provider.snapshot!);
    });

    it('refuses (PERMISSION_DENIED) an Envoy whose node id its certificate does not name; it never gets configuration', async () => {
      const impostorId = 'edge-impostor';
      const acks: string[] = [];
      const recordAck = (e: { stream: AdsStream; typeUrl: string }): void => {
        if (e.stream.node?.id === impostorId) acks.push(e.typeUrl);
      };
      s.ads.on('ack', recordAck);
      const subscribe = (listener: (st: AdsStream) => void): (() => void) => {
        s.ads.on('close', listener);
        return () => s.ads.off('close', listener);
      };
      const refused = waitForEvent(subscribe, (st) => st.node?.id === impostorId, { timeoutMs: 60_000, describe: () => 'the impostor Envoy never opened a stream' });
      // Same certificate (SPIFFE ID of edge-tls), another --service-node.
      const impostor = await EnvoyContainer.start({
        bootstrap: containerBootstrap('envoy-bootstrap-tls.yaml', { adsHost: HOST_FROM_CONTAINER, adsPort: s.ads.port }),
        nodeId: impostorId,
        cluster: 'edge',
        files: envoyFiles,
        waitReady: false,
      });
      try {
        await refused;
        expect(acks).toEqual([]);
        const clusters = dumpOf(await impostor.configDump(), 'ClustersConfigDump');
        expect(clusters.dynamic_active_clusters ?? []).toEqual([]);
        // The legitimate Envoy is unaffected.
        expect(streamOfNode(s.ads, nodeId)).toBeDefined();
      } finally {
        s.ads.off('ack', recordAck);
        await impostor.stop();
      }
    });
  });
});
