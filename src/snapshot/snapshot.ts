// An immutable, content-addressed set of xDS resources per type URL. Every resource is encoded
// exactly once, here; the ADS server only concatenates these bytes (design rule 9).
import { encodeMessage, MessageShapeError } from '../proto/messages.js';
import { typeNameOf, pushRank } from '../proto/type-urls.js';
import { SwitchyardError, AggregateSwitchyardError } from '../errors/catalog.js';
import { digestBytes, digestStrings } from './digest.js';
import { encodeAny, encodeDeltaResource, lenField } from './wire.js';
import { referencesOf, resourceNameOf } from './references.js';
import type { EncodedResource, TypeSet, SnapshotView } from './types.js';

export type { EncodedResource, TypeSet } from './types.js';
import { checkConsistency } from './consistency.js';


export class Snapshot implements SnapshotView {
  /** Digest of every type version: the snapshot's identity. */
  readonly version: string;
  private readonly types: ReadonlyMap<string, TypeSet>;

  constructor(types: Map<string, TypeSet>) {
    const sorted = [...types.keys()].sort((a, b) => pushRank(a) - pushRank(b) || a.localeCompare(b));
    this.types = new Map(sorted.map((t) => [t, types.get(t)!]));
    this.version = digestStrings(sorted.map((t) => `${t}=${types.get(t)!.version}`));
  }

  /** Type URLs this snapshot serves, in push order. */
  typeUrls(): string[] {
    return [...this.types.keys()];
  }

  type(typeUrl: string): TypeSet | undefined {
    return this.types.get(typeUrl);
  }

  resource(typeUrl: string, name: string): EncodedResource | undefined {
    return this.types.get(typeUrl)?.resources.get(name);
  }

  /** Per-type versions, e.g. for status and persistence. */
  typeVersions(): Record<string, string> {
    return Object.fromEntries([...this.types].map(([t, s]) => [t, s.version]));
  }

  totalBytes(): number {
    let n = 0;
    for (const s of this.types.values()) for (const r of s.resources.values()) n += r.bytes.length;
    return n;
  }
}

/** Input: plain message objects (proto field names) per type URL. */
export type SnapshotInput = Readonly<Record<string, readonly object[]>>;

export function typeVersion(resources: Iterable<{ name: string; version: string }>): string {
  const parts = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  return digestStrings(parts);
}

export function encodeResource(typeUrl: string, message: object): EncodedResource {
  const name = resourceNameOf(typeUrl, message);
  if (!name) throw new SwitchyardError('SNAP_MISSING_NAME', `${typeNameOf(typeUrl)} resource without a name`);
  let bytes: Uint8Array;
  try {
    bytes = encodeMessage(typeNameOf(typeUrl), message);
  } catch (err) {
    const detail = err instanceof MessageShapeError ? err.message : String(err);
    throw new SwitchyardError('SNAP_BAD_RESOURCE', `${typeNameOf(typeUrl)} "${name}": ${detail}`);
  }
  const version = digestBytes(bytes);
  const any = encodeAny(typeUrl, bytes);
  return Object.freeze({
    typeUrl,
    name,
    version,
    bytes,
    sotwField: lenField(2, any),
    deltaField: lenField(2, encodeDeltaResource(name, version, any)),
    refs: referencesOf(typeUrl, message),
  });
}

/**
 * Assembles an EncodedResource from bytes encoded earlier (a persisted snapshot) without
 * re-encoding: the bytes are kept as they are, so every digest comes out identical. The caller
 * supplies the name and references it read from the decoded message.
 */
export function encodedResourceFromBytes(typeUrl: string, name: string, bytes: Uint8Array, refs: EncodedResource['refs']): EncodedResource {
  const any = encodeAny(typeUrl, bytes);
  const version = digestBytes(bytes);
  return Object.freeze({
    typeUrl,
    name,
    version,
    bytes,
    sotwField: lenField(2, any),
    deltaField: lenField(2, encodeDeltaResource(name, version, any)),
    refs,
  });
}

export function typeSet(typeUrl: string, resources: EncodedResource[]): TypeSet {
  const map = new Map<string, EncodedResource>();
  for (const r of resources) map.set(r.name, r);
  const names = [...map.keys()].sort();
  return Object.freeze({ typeUrl, version: typeVersion(map.values()), resources: map, names });
}

/**
 * Builds a snapshot: encodes every resource once, derives versions from content and refuses an
 * inconsistent set (dangling references) with every problem listed.
 */
export function createSnapshot(input: SnapshotInput, options: { checkConsistency?: boolean } = {}): Snapshot {
  const errors: SwitchyardError[] = [];
  const types = new Map<string, TypeSet>();
  for (const [typeUrl, messages] of Object.entries(input)) {
    const encoded: EncodedResource[] = [];
    const seen = new Set<string>();
    for (const m of messages) {
      try {
        const r = encodeResource(typeUrl, m);
        if (seen.has(r.name)) {
          errors.push(new SwitchyardError('SNAP_DUPLICATE_RESOURCE', `${typeNameOf(typeUrl)} "${r.name}" appears twice`));
          continue;
        }
        seen.add(r.name);
        encoded.push(r);
      } catch (err) {
        if (err instanceof SwitchyardError) errors.push(err);
        else throw err;
      }
    }
    types.set(typeUrl, typeSet(typeUrl, encoded));
  }
  const snapshot = new Snapshot(types);
  if (options.checkConsistency ?? true) errors.push(...checkConsistency(snapshot));
  if (errors.length > 0) throw new AggregateSwitchyardError(errors);
  return snapshot;
}
