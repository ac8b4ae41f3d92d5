// The composition root: wires the snapshot store, the control plane, the rules pipeline, the
// watcher and the ADS server together.
import type { Logger } from 'pino';
import { AdsServer } from '../xds/server.js';
import { SingleSnapshotProvider } from '../xds/provider.js';
import { RuleDirWatcher } from '../rules/watch.js';
import { SnapshotStore } from '../snapshot/store.js';
import { RulesPipeline, type ReloadOutcome } from './pipeline.js';
import { ControlPlane } from './control-plane.js';
import type { ServeConfig } from './config.js';

export interface RunningSwitchyard {
  readonly ads: AdsServer;
  readonly adsPort: number;
  readonly provider: SingleSnapshotProvider;
  readonly controlPlane: ControlPlane;
  readonly pipeline: RulesPipeline;
  /** The outcome of the initial load. */
  readonly initial: ReloadOutcome;
  /** Called after each reload triggered by the watcher (tests await it). */
  onReload(listener: (outcome: ReloadOutcome) => void): () => void;
  stop(): Promise<void>;
}

export async function startSwitchyard(config: ServeConfig, logger: Logger): Promise<RunningSwitchyard> {
  const provider = new SingleSnapshotProvider();
  const store = await SnapshotStore.open({ dir: config.snapshotDir, logger, retention: config.retention });
  const controlPlane = new ControlPlane({ publisher: provider, store, logger, retention: config.retention });
  // Serve what was live before the restart first: connected proxies see no version change.
  await controlPlane.restore();
  const ads = new AdsServer({ provider, host: config.adsHost, port: config.adsPort, logger });
  const adsPort = await ads.start();

  const pipeline = new RulesPipeline({ rulesDir: config.rulesDir, target: controlPlane, logger });
  const listeners = new Set<(o: ReloadOutcome) => void>();
  let watcher: RuleDirWatcher | undefined;
  // The watcher starts before the first load, so a save during start-up is not lost; reloads are
  // serialized and coalesced by the pipeline.
  if (config.watch) {
    watcher = new RuleDirWatcher(config.rulesDir, { quietMs: config.quietMs, maxDelayMs: config.maxDelayMs, logger });
    watcher.onChangeSet(async (cs) => {
      const outcome = await pipeline.reload(`change set ${cs.seq}: ${[...cs.added, ...cs.changed, ...cs.removed].slice(0, 5).join(', ')}`);
      for (const l of listeners) l(outcome);
    });
    watcher.onError((err) => logger.error({ event: 'rules_watch_error', err }, 'rules watcher error'));
    await watcher.start();
    logger.info({ event: 'rules_watching', dir: config.rulesDir }, 'watching rules for changes');
  }
  const initial = await pipeline.reload('startup');
  return {
    ads,
    adsPort,
    provider,
    controlPlane,
    pipeline,
    initial,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      await watcher?.close();
      await ads.stop(1000);
    },
  };
}
