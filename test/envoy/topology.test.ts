// Runs without a container runtime: the rule set of the Envoy container suite (topology.ts)
// publishes through the real pipeline, and compiles to the routes that suite asserts through Envoy
// (routing keys, fallbacks, the 70/30 weighted split, the mirror, the rollback). If the rule model
// or the compiler changes under the container suite, this fails here first, on every machine.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { fallbackRouteName, routingKeyRouteName } from '../../src/compile/routes.js';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import { startTestSwitchyard } from '../helpers/app.js';
import { decodeSnapshot, routeByName } from '../compile/decode.js';
import { KEY_A, KEY_B, KEY_MIG, OBJ_A, OBJ_B, OBJ_MIG, SHARDS, writeTopology, type TopologyOptions } from './topology.js';

const base: TopologyOptions = { address: '172.17.0.3', ports: { A: 50101, B: 50102, C: 50103, S: 50104 }, migrationPercent: 30, modelAShard: 'shard-a', shadowPercent: 100 };

let app: RunningSwitchyard | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function start(o: TopologyOptions): Promise<{ app: RunningSwitchyard; dir: string; snapshot: Snapshot }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-topology-'));
  await writeTopology(dir, o);
  app = await startTestSwitchyard(dir, { watch: false });
  if (app.initial.status !== 'published') throw new Error(JSON.stringify(app.initial));
  return { app, dir, snapshot: app.initial.snapshot };
}

describe('the Envoy suite topology', () => {
  it('publishes, with one EDS cluster per shard at the given address', async () => {
    const { snapshot } = await start(base);
    expect(snapshot.type(TypeUrl.Cluster)!.names).toEqual(SHARDS);
    const clas = decodeSnapshot(snapshot)[TypeUrl.ClusterLoadAssignment] as Array<{ cluster_name: string; endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> }>;
    expect(clas.map((c) => [c.cluster_name, c.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address])).toEqual([
      ['shard-a', { address: '172.17.0.3', port_value: 50101 }],
      ['shard-b', { address: '172.17.0.3', port_value: 50102 }],
      ['shard-c', { address: '172.17.0.3', port_value: 50103 }],
      ['shard-shadow', { address: '172.17.0.3', port_value: 50104 }],
    ]);
  });

  it('compiles to the routes the container suite asserts', async () => {
    const { snapshot } = await start(base);
    expect(routeByName(snapshot, routingKeyRouteName(KEY_A)).route.cluster).toBe('shard-a');
    expect(routeByName(snapshot, fallbackRouteName(OBJ_A)).route.cluster).toBe('shard-a');
    const mig = routeByName(snapshot, routingKeyRouteName(KEY_MIG)).route.weighted_clusters!.clusters.map((c) => [c.name, c.weight.value]);
    expect(mig).toEqual([
      ['shard-a', 70],
      ['shard-c', 30],
    ]);
    expect(routeByName(snapshot, fallbackRouteName(OBJ_MIG)).route.weighted_clusters).toBeDefined();
    const b = routeByName(snapshot, routingKeyRouteName(KEY_B));
    expect(b.route.cluster).toBe('shard-b');
    expect(b.route.request_mirror_policies?.map((m) => [m.cluster, m.runtime_fraction.default_value])).toEqual([['shard-shadow', { numerator: 1_000_000, denominator: 'MILLION' }]]);
    expect(routeByName(snapshot, fallbackRouteName(OBJ_B)).route.request_mirror_policies?.[0]?.cluster).toBe('shard-shadow');
    expect(routeByName(snapshot, routingKeyRouteName(KEY_A)).route.request_mirror_policies).toBeUndefined();
  });

  it('moving model-a to shard-b changes only the routes, and a rollback restores the first version', async () => {
    const { app, dir, snapshot: v1 } = await start(base);
    await writeTopology(dir, { ...base, modelAShard: 'shard-b' });
    const outcome = await app.pipeline.reload('test');
    expect(outcome.status).toBe('published');
    const v2 = app.provider.snapshot!;
    expect(v2.type(TypeUrl.RouteConfiguration)!.version).not.toBe(v1.type(TypeUrl.RouteConfiguration)!.version);
    expect(v2.type(TypeUrl.Cluster)!.version).toBe(v1.type(TypeUrl.Cluster)!.version);
    expect(v2.type(TypeUrl.ClusterLoadAssignment)!.version).toBe(v1.type(TypeUrl.ClusterLoadAssignment)!.version);
    await app.controlPlane.rollback(v1.version);
    expect(app.provider.snapshot!.version).toBe(v1.version);
    expect(app.controlPlane.pinnedVersion).toBe(v1.version);
  });
});
