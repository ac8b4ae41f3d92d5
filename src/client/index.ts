// switchyard/client: the resolver client library. Subscribes to the resolver table over ADS, keeps
// the last good table in memory and on disk, resolves request contexts in process, sets the
// routing headers on gRPC calls and reports which model served each request. See docs/client.md.
export {
  SwitchyardClient,
  ADS_METHOD_PATH,
  CLIENT_USER_AGENT,
  CLIENT_VERSION,
  DEFAULT_INITIAL_FETCH_TIMEOUT_MS,
  type SwitchyardClientOptions,
  type ClientNode,
  type ClientEventMap,
  type ClientStatus,
  type ConnectionState,
  type PersistedEvent,
  type ReadyInfo,
  type TableEvent,
  type TableSource,
} from './client.js';
export { ClientError, type ClientErrorKind } from './errors.js';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { routingInterceptor, type RoutingInterceptor, type RoutingInterceptorOptions } from './interceptor.js';
export {
  routingHeaders,
  servedRecord,
  ROUTING_KEY_HEADER,
  OBJECTIVE_HEADER,
  SERVED_MODEL_HEADER,
  type RoutingHeaders,
  type ServeOutcome,
  type ServedRecord,
  type ServedCount,
  type ServedCounts,
} from './reporting.js';
export { CACHE_FORMAT, CorruptCacheError, readCache, writeCache, type CachedTable } from './cache.js';
// The resolver vocabulary, so users need one import.
export { ResolveError, isResolveError, type ResolveErrorCode } from '../resolver/errors.js';
export type { ResolveContext } from '../resolver/context.js';
export type { ObjectiveConfig, ResolveResult, DecidedBy, ShiftSide } from '../resolver/types.js';

import { SwitchyardClient, type ReadyInfo, type SwitchyardClientOptions } from './client.js';
import type { ClientError as ClientErrorType } from './errors.js';

/**
 * Creates a client and starts it: the returned promise resolves with the client and its ReadyInfo
 * once a table is available (see SwitchyardClient.ready). `onError` is attached before the start,
 * so no error of the first connection attempt is missed.
 */
export async function createResolverClient(
  options: SwitchyardClientOptions & { onError?: (err: ClientErrorType) => void; readyTimeoutMs?: number },
): Promise<{ client: SwitchyardClient; ready: ReadyInfo }> {
  const { onError, readyTimeoutMs, ...clientOptions } = options;
  const client = new SwitchyardClient(clientOptions);
  if (onError) client.on('error', onError);
  void client.start().catch(() => undefined);
  try {
    const ready = await client.ready(readyTimeoutMs !== undefined ? { timeoutMs: readyTimeoutMs } : {});
    return { client, ready };
  } catch (err) {
    await client.close();
    throw err;
  }
}
