// Rebuilds a Snapshot from resource bytes encoded earlier (the persisted history in xds-snapshots/).
// Nothing is re-encoded: each resource keeps its stored bytes, so every resource, type and
// snapshot version comes out identical to the original's (they are digests of the same bytes).
// Messages are decoded only to read each resource's name and the references that order and gate
// delivery.
import { messageType, MessageShapeError } from '../proto/messages.js';
import { TypeUrl, typeNameOf } from '../proto/type-urls.js';
import { AggregateSwitchyardError, SwitchyardError } from '../errors/catalog.js';
import { checkConsistency } from './consistency.js';
import { referencesOf, resourceNameOf, type References } from './references.js';
import { Snapshot, encodedResourceFromBytes, typeSet } from './snapshot.js';
import type { EncodedResource } from './types.js';

/** One stored resource: its name as recorded and its encoded message (not wrapped in Any). */
export interface StoredResource {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Stored resources per type URL. A type with no resources is kept as an empty list. */
export type EncodedSnapshotInput = Readonly<Record<string, readonly StoredResource[]>>;

export interface RestoreOptions {
  /** Refuse dangling references, as createSnapshot does (default true). */
  checkConsistency?: boolean;
}

/** Types whose names or references Switchyard reads from the message itself. */
const DECODED_TYPES: ReadonlySet<string> = new Set([TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]);

// decodeMessage() gives the JSON form, where an Any is expanded under "@type"; referencesOf() reads
// the packed form { type_url, value } (what the builders produce). Converting without the json
// option keeps Any packed and bytes as bytes, so the references come out as they did at encode time.
const PACKED_OPTIONS = { longs: String, enums: String, defaults: false } as const;

function decodePacked(typeUrl: string, bytes: Uint8Array): object | undefined {
  let type;
  try {
    type = messageType(typeNameOf(typeUrl));
  } catch (err) {
    // A type this process has no .proto for: only acceptable when nothing is read from it.
    if (err instanceof MessageShapeError && !DECODED_TYPES.has(typeUrl)) return undefined;
    throw err;
  }
  return type.toObject(type.decode(bytes), PACKED_OPTIONS);
}

/**
 * Rebuilds one resource from its stored bytes. The name read from the message must match the
 * recorded one; for a type whose message is not loaded (and that names nothing), the recorded
 * name is used as it is.
 */
export function restoreResource(typeUrl: string, stored: StoredResource): EncodedResource {
  let message: object | undefined;
  try {
    message = decodePacked(typeUrl, stored.bytes);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new SwitchyardError('STORE_BAD_RESOURCE', `${typeNameOf(typeUrl)} "${stored.name}": the stored bytes do not decode: ${detail}`);
  }
  let refs: References = { clusters: [], routeConfigs: [] };
  let name = stored.name;
  if (message) {
    name = resourceNameOf(typeUrl, message);
    if (name !== stored.name) {
      throw new SwitchyardError('STORE_BAD_RESOURCE', `${typeNameOf(typeUrl)} recorded as "${stored.name}" decodes to a resource named "${name}"`);
    }
    refs = referencesOf(typeUrl, message);
  }
  if (!name) throw new SwitchyardError('SNAP_MISSING_NAME', `${typeNameOf(typeUrl)} resource without a name`);
  return encodedResourceFromBytes(typeUrl, name, stored.bytes, refs);
}

/**
 * Rebuilds a Snapshot from stored encoded bytes, without re-encoding. Throws an
 * AggregateSwitchyardError listing every problem (undecodable bytes, name mismatch, duplicates,
 * dangling references).
 */
export function snapshotFromEncoded(types: EncodedSnapshotInput, options: RestoreOptions = {}): Snapshot {
  const errors: SwitchyardError[] = [];
  const sets = new Map<string, ReturnType<typeof typeSet>>();
  for (const [typeUrl, stored] of Object.entries(types)) {
    const restored: EncodedResource[] = [];
    const seen = new Set<string>();
    for (const s of stored) {
      try {
        const r = restoreResource(typeUrl, s);
        if (seen.has(r.name)) {
          errors.push(new SwitchyardError('SNAP_DUPLICATE_RESOURCE', `${typeNameOf(typeUrl)} "${r.name}" appears twice`));
          continue;
        }
        seen.add(r.name);
        restored.push(r);
      } catch (err) {
        if (err instanceof SwitchyardError) errors.push(err);
        else throw err;
      }
    }
    sets.set(typeUrl, typeSet(typeUrl, restored));
  }
  const snapshot = new Snapshot(sets);
  if (errors.length === 0 && (options.checkConsistency ?? true)) errors.push(...checkConsistency(snapshot));
  if (errors.length > 0) throw new AggregateSwitchyardError(errors);
  return snapshot;
}
