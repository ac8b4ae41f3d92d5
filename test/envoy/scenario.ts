// One Envoy-against-Switchyard setup: echo backends, Switchyard serving the topology rules (its
// whole stack: pipeline, control plane, snapshot store, ADS), optionally a mutual-TLS ADS port, and
// an Envoy container running a shipped bootstrap. Everything start() creates, stop() removes.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestContainers } from 'testcontainers';
import { AdsServer } from '../../src/xds/server.js';
import type { NackEvent } from '../../src/xds/stream.js';
import { adsCredentialsFromConfig, type AdsTls } from '../../src/xds/tls.js';
import type { RunningSwitchyard } from '../../src/app/switchyard.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import { silentLogger } from '../../src/log.js';
import { startTestSwitchyard } from '../helpers/app.js';
import { EchoBackends } from '../helpers/grpc-backends.js';
import { containerBootstrap, EnvoyClient, EnvoyContainer, envoyConverged, HOST_FROM_CONTAINER, type ContentToCopy } from './envoy-harness.js';
import { BACKENDS, SHARDS, writeTopology, type BackendName, type TopologyOptions } from './topology.js';

export interface ScenarioTls {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  trustDomain: string;
  /** The CA, client certificate and key at the paths envoy-bootstrap-tls.yaml names. */
  envoyFiles: ContentToCopy[];
}

export interface ScenarioOptions {
  nodeId: string;
  apiType: 'GRPC' | 'DELTA_GRPC';
  /** Envoy runs envoy-bootstrap-tls.yaml against a mutual-TLS ADS port with node identity checks. */
  tls?: ScenarioTls;
}

export class Scenario {
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  /**
   * update_failure counters once Envoy first converged. A failed ADS connection attempt while
   * Envoy starts (its control-plane cluster still resolving) counts there; after that they must not move.
   */
  updateFailuresAtStart = new Map<string, number>();

  private constructor(
    readonly options: ScenarioOptions,
    /** NACKs the ADS server Envoy talks to received (any node), for the whole scenario. */
    readonly nacks: NackEvent[],
    readonly rulesDir: string,
    readonly backends: EchoBackends,
    readonly app: RunningSwitchyard,
    /** The ADS server Envoy talks to (the app's, or the TLS one sharing its snapshots). */
    readonly ads: AdsServer,
    readonly envoy: EnvoyContainer,
    readonly client: EnvoyClient,
    /** The IP at which the container reaches this process's backends. */
    readonly backendAddress: string,
    public topology: TopologyOptions,
  ) {}

  static async start(options: ScenarioOptions): Promise<Scenario> {
    const cleanups: Array<() => Promise<void> | void> = [];
    try {
      return await Scenario.build(options, cleanups);
    } catch (err) {
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
      throw err;
    }
  }

  private static async build(options: ScenarioOptions, cleanups: Array<() => Promise<void> | void>): Promise<Scenario> {
    const backends = await EchoBackends.start(BACKENDS);
    cleanups.push(() => backends.stop());
    const ports = Object.fromEntries(BACKENDS.map((b) => [b, backends.port(b)])) as Record<BackendName, number>;
    const rulesDir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-envoy-rules-'));
    // Until the container exists we do not know the IP it reaches us at: start on a placeholder
    // (a valid rule set, so Envoy becomes ready), then publish the real addresses (below).
    let topology: TopologyOptions = { address: '127.0.0.1', ports, migrationPercent: 30, modelAShard: 'shard-a', shadowPercent: 100 };
    await writeTopology(rulesDir, topology);
    const app = await startTestSwitchyard(rulesDir, { watch: false });
    cleanups.push(() => app.stop());
    if (app.initial.status !== 'published') throw new Error(`the topology rules did not publish: ${JSON.stringify(app.initial)}`);

    let ads = app.ads;
    let tls: AdsTls | undefined;
    if (options.tls) {
      tls = await adsCredentialsFromConfig(
        { certFile: options.tls.certFile, keyFile: options.tls.keyFile, clientCaFile: options.tls.clientCaFile, requireNodeIdentity: true, trustDomain: options.tls.trustDomain },
        silentLogger(),
      );
      const tlsFiles = tls;
      cleanups.push(() => tlsFiles.close());
      // A second ADS port on the same snapshots: TLS, client certificates required, node identity checked.
      ads = new AdsServer({ provider: app.provider, port: 0, credentials: tls.credentials, ...(tls.authorizeNode ? { authorizeNode: tls.authorizeNode } : {}) });
      const tlsAds = ads;
      await tlsAds.start();
      cleanups.push(() => tlsAds.stop(500));
    }
    const nacks: NackEvent[] = [];
    ads.on('nack', (e) => nacks.push(e));

    await TestContainers.exposeHostPorts(ads.port, ...Object.values(ports));
    const envoy = await EnvoyContainer.start({
      bootstrap: containerBootstrap(options.tls ? 'envoy-bootstrap-tls.yaml' : 'envoy-bootstrap.yaml', { adsHost: HOST_FROM_CONTAINER, adsPort: ads.port, apiType: options.apiType }),
      nodeId: options.nodeId,
      cluster: 'edge',
      files: options.tls?.envoyFiles ?? [],
    });
    cleanups.push(() => envoy.stop());

    const backendAddress = await envoy.hostsEntry();
    topology = { ...topology, address: backendAddress };
    const client = new EnvoyClient(envoy.listenerAddress);
    cleanups.push(() => client.close());
    const scenario = new Scenario(options, nacks, rulesDir, backends, app, ads, envoy, client, backendAddress, topology);
    scenario.cleanups.push(...cleanups);
    // The real addresses: from here on Envoy reaches the backends.
    await scenario.publish({});
    scenario.updateFailuresAtStart = await scenario.xdsUpdateStats();
    return scenario;
  }

  /** Rewrites the rules with `change`, reloads, and waits until Envoy ACKed the new snapshot. */
  async publish(change: Partial<TopologyOptions>): Promise<Snapshot> {
    this.topology = { ...this.topology, ...change };
    await writeTopology(this.rulesDir, this.topology);
    const outcome = await this.app.pipeline.reload(`test: ${JSON.stringify(change)}`);
    if (outcome.status === 'rejected') throw new Error(`rules rejected: ${JSON.stringify(outcome.issues)}`);
    await envoyConverged(this.ads, this.options.nodeId, outcome.snapshot, this.envoy);
    return outcome.snapshot;
  }

  /**
   * Envoy's update_rejected / update_failure counters of its xDS subscriptions: CDS, RDS and each
   * shard's EDS (not the switchyard_ads cluster's, which count DNS resolutions).
   */
  async xdsUpdateStats(): Promise<Map<string, number>> {
    const all = await this.envoy.stats('update_(rejected|failure)$');
    return new Map([...all].filter(([k]) => k.startsWith('cluster_manager.cds.') || k.includes('.rds.') || SHARDS.some((s) => k.startsWith(`cluster.${s}.`))));
  }

  backend(name: BackendName): { calls: number; callsByKey: Map<string, number> } {
    return this.backends.get(name);
  }

  async stop(): Promise<void> {
    for (const c of this.cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
}
