// Server configuration: embedded defaults, overridden by environment, overridden by CLI flags.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '../log.js';
import type { AdsTlsConfig } from '../xds/tls.js';
import type { RolloutLayerOptions } from '../rollout/layer.js';

export interface ServeConfig {
  rulesDir: string;
  adsHost: string;
  adsPort: number;
  /**
   * Also serve ADS in plaintext on 127.0.0.1:<port> (0 = any free port), for proxyless gRPC
   * clients on the same host when the main port uses TLS (they cannot; docs/tls.md).
   */
  adsPlaintextLoopbackPort?: number;
  logLevel: LogLevel;
  /** Watch the rules directory and publish changes without restart. */
  watch: boolean;
  quietMs: number;
  maxDelayMs: number;
  /** Where published versions are persisted. */
  snapshotDir: string;
  retention: { maxCount: number; maxAgeMs: number };
  /**
   * The admin HTTP API (JSON, /metrics, rollback and resume). Absent: no admin server (embedding,
   * most tests). `switchyard serve` always sets it, from {@link defaultAdminConfig} and its flags.
   */
  admin?: AdminConfig;
  /** TLS (and mutual TLS) for the ADS port; absent: plaintext. See docs/tls.md. */
  tls?: AdsTlsConfig;
  /**
   * Model-readiness gate (grpc.health.v1 checks of model endpoints, see docs/rollout.md); absent:
   * off (every model is routable). Enable only when model servers implement the health service.
   */
  readiness?: RolloutLayerOptions['readiness'];
}

export interface AdminConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Bearer token for mutating calls; required when `host` is not a loopback address. */
  token?: string;
}

export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const DEFAULT_ADMIN_PORT = 19000;

/** Admin API settings from SWITCHYARD_ADMIN_HOST, SWITCHYARD_ADMIN_PORT and SWITCHYARD_ADMIN_TOKEN. */
export function defaultAdminConfig(env: NodeJS.ProcessEnv = process.env): AdminConfig {
  return {
    host: env.SWITCHYARD_ADMIN_HOST ?? DEFAULT_ADMIN_HOST,
    port: env.SWITCHYARD_ADMIN_PORT ? Number(env.SWITCHYARD_ADMIN_PORT) : DEFAULT_ADMIN_PORT,
    ...(env.SWITCHYARD_ADMIN_TOKEN ? { token: env.SWITCHYARD_ADMIN_TOKEN } : {}),
  };
}

/**
 * TLS settings from SWITCHYARD_TLS_CERT, _KEY, _CLIENT_CA, SWITCHYARD_REQUIRE_NODE_IDENTITY=1 and
 * SWITCHYARD_TLS_TRUST_DOMAIN. Any one set gives a config even if incomplete, so start-up fails
 * with TLS_INCOMPLETE rather than quietly serving plaintext.
 */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<AdsTlsConfig> {
  const out: Partial<AdsTlsConfig> = {};
  if (env.SWITCHYARD_TLS_CERT !== undefined) out.certFile = env.SWITCHYARD_TLS_CERT;
  if (env.SWITCHYARD_TLS_KEY !== undefined) out.keyFile = env.SWITCHYARD_TLS_KEY;
  if (env.SWITCHYARD_TLS_CLIENT_CA !== undefined) out.clientCaFile = env.SWITCHYARD_TLS_CLIENT_CA;
  if (env.SWITCHYARD_REQUIRE_NODE_IDENTITY === '1') out.requireNodeIdentity = true;
  if (env.SWITCHYARD_TLS_TRUST_DOMAIN !== undefined) out.trustDomain = env.SWITCHYARD_TLS_TRUST_DOMAIN;
  return out;
}

/** The rules/ shipped with the package: the default when ./rules does not exist. */
export function packagedRulesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'rules');
}

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const local = path.resolve('rules');
  return {
    rulesDir: env.SWITCHYARD_RULES ?? (existsSync(local) ? local : packagedRulesDir()),
    adsHost: env.SWITCHYARD_ADS_HOST ?? '127.0.0.1',
    adsPort: env.SWITCHYARD_ADS_PORT ? Number(env.SWITCHYARD_ADS_PORT) : 18000,
    ...(env.SWITCHYARD_ADS_PLAINTEXT_PORT ? { adsPlaintextLoopbackPort: Number(env.SWITCHYARD_ADS_PLAINTEXT_PORT) } : {}),
    logLevel: (env.SWITCHYARD_LOG_LEVEL as LogLevel | undefined) ?? 'info',
    watch: env.SWITCHYARD_WATCH !== '0',
    quietMs: env.SWITCHYARD_WATCH_QUIET_MS ? Number(env.SWITCHYARD_WATCH_QUIET_MS) : 150,
    maxDelayMs: env.SWITCHYARD_WATCH_MAX_DELAY_MS ? Number(env.SWITCHYARD_WATCH_MAX_DELAY_MS) : 1000,
    snapshotDir: env.SWITCHYARD_SNAPSHOT_DIR ?? path.resolve('xds-snapshots'),
    retention: {
      maxCount: env.SWITCHYARD_RETAIN_COUNT ? Number(env.SWITCHYARD_RETAIN_COUNT) : 50,
      maxAgeMs: (env.SWITCHYARD_RETAIN_DAYS ? Number(env.SWITCHYARD_RETAIN_DAYS) : 30) * 24 * 3600 * 1000,
    },
  };
}
