// `switchyard serve`: the control plane on its embedded defaults, until SIGINT/SIGTERM.
import { defaultConfig, type ServeConfig } from '../app/config.js';
import { startSwitchyard } from '../app/switchyard.js';
import { formatIssue } from '../app/issues.js';
import { createLogger } from '../log.js';

export async function runServe(overrides: Partial<ServeConfig>): Promise<void> {
  const config = { ...defaultConfig(), ...stripUndefined(overrides) };
  const log = createLogger(config.logLevel);
  log.info({ event: 'starting', config }, 'starting switchyard');
  const app = await startSwitchyard(config, log);
  if (app.initial.status === 'rejected') {
    // Keep running: the first valid edit publishes. Print the errors plainly too, for humans.
    process.stderr.write(`rules in ${config.rulesDir} are invalid; serving nothing until they are fixed:\n${app.initial.issues.map(formatIssue).join('\n')}\n`);
  }
  log.info({ event: 'ready', ads: `${config.adsHost}:${app.adsPort}`, version: app.provider.snapshot?.version ?? null }, 'switchyard ready');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdown', signal }, 'shutting down');
    void app.stop().then(() => {
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
