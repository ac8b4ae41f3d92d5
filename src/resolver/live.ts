// The resolver for whatever snapshot is served now, so the resolve service (gRPC and HTTP) always
// answers with the live table, rollbacks included. Compiled lazily, once per table version.
import { decodeMessage } from '../proto/messages.js';
import { TypeUrl } from '../proto/type-urls.js';
import type { SnapshotView, EncodedResource } from '../snapshot/types.js';
import { compileResolver } from './resolve.js';
import { resolverTableFromMessage, RESOLVER_TABLE_MESSAGE, RESOLVER_TABLE_RESOURCE_NAME } from './table-message.js';
import type { Resolver } from './types.js';

export interface LiveSnapshotSource {
  readonly snapshot: (SnapshotView & { resource(typeUrl: string, name: string): EncodedResource | undefined }) | undefined;
}

export class LiveResolver {
  private cached: { version: string; resolver: Resolver } | undefined;

  constructor(private readonly source: LiveSnapshotSource) {}

  /** The resolver for the live snapshot's table; undefined before a snapshot with a table is served. */
  current(): Resolver | undefined {
    const snap = this.source.snapshot;
    const set = snap?.type(TypeUrl.ResolverTable);
    const resource = snap?.resource(TypeUrl.ResolverTable, RESOLVER_TABLE_RESOURCE_NAME);
    if (!set || !resource) return undefined;
    if (this.cached?.version !== set.version) {
      const table = resolverTableFromMessage(decodeMessage(RESOLVER_TABLE_MESSAGE, resource.bytes));
      this.cached = { version: set.version, resolver: compileResolver(table, set.version) };
    }
    return this.cached.resolver;
  }
}
