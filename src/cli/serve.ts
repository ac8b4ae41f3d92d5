// `switchyard serve`: the control plane on its embedded defaults, until SIGINT/SIGTERM.
import { defaultAdminConfig, defaultConfig, tlsFromEnv, type AdminConfig, type ServeConfig } from '../app/config.js';
import type { AdsTlsConfig } from '../xds/tls.js';
import { startSwitchyard } from '../app/switchyard.js';
import { formatIssue } from '../app/issues.js';
import { SwitchyardError } from '../errors/catalog.js';
import { createLogger } from '../log.js';

export interface ServeOverrides extends Partial<Omit<ServeConfig, 'admin' | 'tls'>> {
  /** Admin API flags over SWITCHYARD_ADMIN_* and the defaults; false: no admin API. */
  admin?: Partial<AdminConfig> | false;
  /** TLS flags over SWITCHYARD_TLS_*. */
  tls?: Partial<AdsTlsConfig>;
}

/** Embedded defaults < environment < flags; the admin API is on unless `admin` is false. */
export function serveConfig(overrides: ServeOverrides, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { admin, tls, ...rest } = overrides;
  const config: ServeConfig = { ...defaultConfig(env), ...stripUndefined(rest) };
  if (admin !== false) config.admin = { ...defaultAdminConfig(env), ...stripUndefined(admin ?? {}) };
  const tlsSettings = { ...tlsFromEnv(env), ...stripUndefined(tls ?? {}) };
  if (Object.keys(tlsSettings).length > 0) config.tls = { certFile: '', keyFile: '', ...tlsSettings };
  return config;
}

/** Starts serving; resolves with 0 once running (the process stays up), or 1 when start-up was refused. */
export async function runServe(overrides: ServeOverrides): Promise<number> {
  const config = serveConfig(overrides);
  const log = createLogger(config.logLevel);
  log.info({ event: 'starting', config: { ...config, admin: config.admin && { ...config.admin, token: config.admin.token ? '(set)' : undefined } } }, 'starting switchyard');
  let app;
  try {
    app = await startSwitchyard(config, log);
  } catch (err) {
    if (err instanceof SwitchyardError) {
      // Refusals with a code (an exposed admin API without a token, a port in use): one line, exit 1.
      log.fatal({ event: 'start_failed', code: err.code, error: err.message }, 'switchyard did not start');
      log.flush();
      process.stderr.write(`switchyard: ${err.code} ${err.message}. Hint: ${err.hint}\n`);
      return 1;
    }
    throw err;
  }
  if (app.initial.status === 'rejected') {
    // Keep running: the first valid edit publishes. Print the errors plainly too, for humans.
    process.stderr.write(`rules in ${config.rulesDir} are invalid; serving nothing until they are fixed:\n${app.initial.issues.map(formatIssue).join('\n')}\n`);
  }
  log.info(
    {
      event: 'ready',
      ads: `${config.adsHost}:${app.adsPort}`,
      ...(app.adsPlaintextPort !== undefined ? { adsPlaintextLoopback: `127.0.0.1:${app.adsPlaintextPort}` } : {}),
      admin: app.admin?.address ?? null,
      version: app.provider.snapshot?.version ?? null,
    },
    'switchyard ready',
  );
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
  process.on('SIGHUP', () => void app.tls?.files.reload('SIGHUP'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return 0;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
