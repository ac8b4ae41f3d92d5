// The composition root: wires the snapshot store, the control plane, the rules pipeline, the
// watcher and the ADS server together.
import type { Logger } from 'pino';
import { AdsServer } from '../xds/server.js';
import { RolloutLayer } from '../rollout/layer.js';
import type { RolloutProvider } from '../rollout/provider.js';
import { followRollout, resolverTableOf } from '../rollout/wiring.js';
import { RuleDirWatcher } from '../rules/watch.js';
import { SnapshotStore } from '../snapshot/store.js';
import { RulesPipeline, type ReloadOutcome } from './pipeline.js';
import { ControlPlane } from './control-plane.js';
import type { ServeConfig } from './config.js';
import { AdminServer, assertAdminBindable } from '../admin/server.js';
import { LiveResolver } from '../resolver/live.js';
import { resolverServiceDefinition, resolverServiceImplementation } from '../resolver/grpc-service.js';
import type { Resolver } from '../resolver/types.js';
import { adsCredentialsFromConfig, type AdsTls } from '../xds/tls.js';

export interface RunningSwitchyard {
  readonly ads: AdsServer;
  readonly adsPort: number;
  /** The plaintext loopback ADS port for local proxyless clients, when configured. */
  readonly adsPlaintextPort: number | undefined;
  /** Ordered, ACK-gated delivery: `provider.snapshot` is the newest published, `lastGood` the fully rolled out one. */
  readonly provider: RolloutProvider;
  /** Waves, self-advancing traffic shifts, model readiness (see docs/rollout.md). */
  readonly rollout: RolloutLayer;
  readonly controlPlane: ControlPlane;
  readonly pipeline: RulesPipeline;
  /** The admin HTTP API, when `config.admin` is set (its `port` is the bound one). */
  readonly admin: AdminServer | undefined;
  /** The resolver for the served snapshot's table (also behind Resolver/Resolve and POST /v1/resolve). */
  readonly resolver: () => Resolver | undefined;
  /** TLS of the ADS port, when configured (its `files` reload on change, or on demand). */
  readonly tls: AdsTls | undefined;
  /** The outcome of the initial load. */
  readonly initial: ReloadOutcome;
  /** Called after each reload triggered by the watcher (tests await it). */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void;
  stop(): Promise<void>;
}

export async function startSwitchyard(config: ServeConfig, logger: Logger): Promise<RunningSwitchyard> {
  // An admin API open to the network without a token is refused before anything starts.
  if (config.admin) assertAdminBindable(config.admin.host, config.admin.token);
  const tls = config.tls ? await adsCredentialsFromConfig(config.tls, logger) : undefined;
  try {
    return await startWith(config, logger, tls);
  } catch (err) {
    await tls?.close();
    throw err;
  }
}

async function startWith(config: ServeConfig, logger: Logger, tls: AdsTls | undefined): Promise<RunningSwitchyard> {
  const store = await SnapshotStore.open({ dir: config.snapshotDir, logger, retention: config.retention });
  // Shift advances and readiness changes recompile through the pipeline (created below; the layer
  // calls it only after start()).
  const rollout = await RolloutLayer.open({
    snapshotDir: config.snapshotDir,
    logger,
    ...(config.readiness ? { readiness: config.readiness } : {}),
    recompile: async (reason, { urgent }) => {
      emit(await pipeline.reload(reason, undefined, { urgent }));
    },
  });
  const provider = rollout.provider;
  const controlPlane = new ControlPlane({ publisher: provider, store, logger, retention: config.retention, deferLive: true });
  // The stored live version moves when the fleet took a version (deferLive), and a halted or
  // aborted rollout puts it back on the last good one: a restart mid-rollout restores the last good
  // version and rolls the target out again from the canary; it never restores a refused version
  // (docs/rollout.md).
  followRollout(provider, controlPlane, (err) => logger.error({ event: 'live_version_update_failed', err }, 'could not record the fleet\'s live version'));
  // Serve what was live before the restart first: connected proxies see no version change.
  await controlPlane.restore();
  // The resolve service (for clients in other languages) shares the ADS port and answers from the
  // table of the fully rolled out snapshot (rollbacks included): its routing keys exist on every proxy.
  const liveResolver = new LiveResolver({
    get snapshot() {
      return provider.lastGood;
    },
  });
  const getResolver = (): Resolver | undefined => liveResolver.current();
  const ads = new AdsServer({
    provider,
    host: config.adsHost,
    port: config.adsPort,
    ...(config.adsPlaintextLoopbackPort !== undefined ? { plaintextLoopbackPort: config.adsPlaintextLoopbackPort } : {}),
    logger,
    extraServices: [{ definition: resolverServiceDefinition(), implementation: resolverServiceImplementation(getResolver) }],
    ...(tls ? { credentials: tls.credentials, authorizeNode: tls.authorizeNode } : {}),
  });
  // Before the server starts: the provider gates waves on the server's ACK/NACK events.
  provider.attach(ads);
  const pipeline = new RulesPipeline({
    rulesDir: config.rulesDir,
    target: controlPlane,
    logger,
    // After a restart the previous resolver table is the one the restored snapshot carries.
    compileOptionsFor: (ruleSet, previous) => rollout.compileOptions(ruleSet, previous ?? resolverTableOf(controlPlane.liveSnapshot)),
  });
  // The admin server (and its metrics) subscribes to the ADS events before the first stream opens.
  const admin = config.admin
    ? new AdminServer({ host: config.admin.host, port: config.admin.port, token: config.admin.token, ads, controlPlane, pipeline, logger, rulesDir: config.rulesDir, resolver: getResolver, rollout })
    : undefined;
  const adsPort = await ads.start();
  try {
    await admin?.start();
  } catch (err) {
    await ads.stop(0);
    throw err;
  }

  const listeners = new Set<(o: ReloadOutcome) => void>();
  /** Every reload outcome, the initial one included, goes to the admin metrics, then to listeners. */
  const emit = (outcome: ReloadOutcome): void => {
    admin?.recordReload(outcome);
    for (const l of listeners) l(outcome);
  };
  let watcher: RuleDirWatcher | undefined;
  // The watcher starts before the first load, so a save during start-up is not lost; reloads are
  // serialized and coalesced by the pipeline.
  if (config.watch) {
    watcher = new RuleDirWatcher(config.rulesDir, { quietMs: config.quietMs, maxDelayMs: config.maxDelayMs, logger });
    watcher.onChangeSet(async (cs) => {
      // The change set is a hint: only those files are re-read (the pipeline re-checks the rest).
      const outcome = await pipeline.reload(`change set ${cs.seq}: ${[...cs.added, ...cs.changed, ...cs.removed].slice(0, 5).join(', ')}`, cs);
      emit(outcome);
    });
    watcher.onError((err) => logger.error({ event: 'rules_watch_error', err }, 'rules watcher error'));
    await watcher.start();
    logger.info({ event: 'rules_watching', dir: config.rulesDir }, 'watching rules for changes');
  }
  const initial = await pipeline.reload('startup');
  emit(initial);
  // Shift holds and readiness rounds run from here on.
  rollout.start();
  return {
    ads,
    adsPort,
    adsPlaintextPort: ads.plaintextPort,
    provider,
    rollout,
    controlPlane,
    pipeline,
    admin,
    resolver: getResolver,
    tls,
    initial,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      rollout.stop();
      await admin?.stop();
      await watcher?.close();
      await ads.stop(1000);
      await tls?.close();
    },
  };
}
