// One path from resolver-table bytes to a Resolver, shared by ADS responses and the disk cache, so
// a table read from disk is checked exactly like one from the control plane.
import { compileResolver } from '../resolver/resolve.js';
import { ResolveError } from '../resolver/errors.js';
import { resolverTableFromMessage, RESOLVER_TABLE_RESOURCE_NAME } from '../resolver/table-message.js';
import type { Resolver } from '../resolver/types.js';
import type { ResolverTable } from '../compile/types.js';
import { decodeResolverTableBytes } from './wire.js';

/**
 * Decodes switchyard.v1.ResolverTable bytes and compiles them at `version`. Throws a ResolveError
 * RESOLVE_BAD_TABLE (bytes that are not a ResolverTable, a wrong resource name, or a table
 * compileResolver refuses).
 */
export function compileTableBytes(bytes: Uint8Array, version: string): { table: ResolverTable; resolver: Resolver } {
  let decoded: Record<string, unknown>;
  try {
    decoded = decodeResolverTableBytes(bytes);
  } catch (err) {
    throw new ResolveError('RESOLVE_BAD_TABLE', `resolver table ${version}: not a switchyard.v1.ResolverTable message (${(err as Error).message})`);
  }
  const name = typeof decoded.name === 'string' ? decoded.name : '';
  if (name !== RESOLVER_TABLE_RESOURCE_NAME) {
    throw new ResolveError('RESOLVE_BAD_TABLE', `resolver table ${version}: resource is named "${name}", expected "${RESOLVER_TABLE_RESOURCE_NAME}"`);
  }
  const table = resolverTableFromMessage(decoded);
  return { table, resolver: compileResolver(table, version) };
}

/** "CODE: message" for an error_detail or a log line. */
export function errorText(err: unknown): string {
  if (err instanceof ResolveError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
