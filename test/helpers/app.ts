// Starts the whole control plane (store, pipeline, watcher, ADS) on port 0 for a test.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, type ServeConfig } from '../../src/app/config.js';
import { startSwitchyard, type RunningSwitchyard } from '../../src/app/switchyard.js';
import type { ReloadOutcome } from '../../src/app/pipeline.js';
import { silentLogger } from '../../src/log.js';

export async function testConfig(rulesDir: string, overrides: Partial<ServeConfig> = {}): Promise<ServeConfig> {
  return {
    ...defaultConfig({}),
    rulesDir,
    adsPort: 0,
    logLevel: 'silent',
    snapshotDir: await mkdtemp(path.join(os.tmpdir(), 'switchyard-snapshots-')),
    ...overrides,
  };
}

export async function startTestSwitchyard(rulesDir: string, overrides: Partial<ServeConfig> = {}): Promise<RunningSwitchyard> {
  return startSwitchyard(await testConfig(rulesDir, overrides), silentLogger());
}

/** The outcome of the next watcher-triggered reload. */
export function nextReload(app: RunningSwitchyard): Promise<ReloadOutcome> {
  return new Promise((resolve) => {
    const off = app.onReload((o) => {
      off();
      resolve(o);
    });
  });
}
