// An immutable, content-addressed set of xDS resources per type URL. Every resource is encoded
// exactly once, here; the ADS server only concatenates these bytes (design rule 9).
import { encodeMessage, MessageShapeError } from '../proto/messages.js';
import { typeNameOf, pushRank } from '../proto/type-urls.js';
import { SwitchyardError, AggregateSwitchyardError } from '../errors/catalog.js';
import { digestBytes, digestStrings } from './digest.js';
import { referencesOf, resourceNameOf } from './references.js';
import type { EncodedResource, TypeSet, SnapshotView } from './types.js';

export type { EncodedResource, TypeSet } from './types.js';
import { checkConsistency } from './consistency.js';
import type { EncodeCache } from './encode-cache.js';


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

/**
 * Encodes one resource. `encode` must give encodeMessage's bytes and errors (the snapshot encode
 * cache passes a faster equivalent).
 */
export function encodeResource(typeUrl: string, message: object, encode: (typeName: string, message: object) => Uint8Array = encodeMessage): EncodedResource {
  const name = resourceNameOf(typeUrl, message);
  if (!name) throw new SwitchyardError('SNAP_MISSING_NAME', `${typeNameOf(typeUrl)} resource without a name`);
  let bytes: Uint8Array;
  try {
    bytes = encode(typeNameOf(typeUrl), message);
  } catch (err) {
    const detail = err instanceof MessageShapeError ? err.message : String(err);
    throw new SwitchyardError('SNAP_BAD_RESOURCE', `${typeNameOf(typeUrl)} "${name}": ${detail}`);
  }
  return encodedResourceFromBytes(typeUrl, name, bytes, referencesOf(typeUrl, message));
}

/**
 * Assembles an EncodedResource from bytes encoded earlier (a persisted snapshot) without
 * re-encoding: the bytes are kept as they are, so every digest comes out identical. The caller
 * supplies the name and references it read from the decoded message.
 */
export function encodedResourceFromBytes(typeUrl: string, name: string, bytes: Uint8Array, refs: EncodedResource['refs']): EncodedResource {
  const version = digestBytes(bytes);
  return Object.freeze({ typeUrl, name, version, bytes, ...responseFields(typeUrl, name, version, bytes), refs });
}

/**
 * The response fragments of a resource: lenField(2, encodeAny(typeUrl, bytes)) and
 * lenField(2, encodeDeltaResource(name, version, any)) (wire.ts), written straight into one buffer
 * each: the same bytes, with one copy of a large resource per fragment instead of several.
 */
export function responseFields(typeUrl: string, name: string, version: string, bytes: Uint8Array): { sotwField: Buffer; deltaField: Buffer } {
  const url = Buffer.from(typeUrl, 'utf8');
  const anyLength = 1 + varintSize(url.length) + url.length + 1 + varintSize(bytes.length) + bytes.length;
  const writeAny = (out: Buffer, at: number): number => {
    let i = writeVarint(out, at, 0x0a); // Any.type_url = 1
    i = writeVarint(out, i, url.length);
    out.set(url, i);
    i += url.length;
    i = writeVarint(out, i, 0x12); // Any.value = 2
    i = writeVarint(out, i, bytes.length);
    out.set(bytes, i);
    return i + bytes.length;
  };
  const sotwField = Buffer.allocUnsafe(1 + varintSize(anyLength) + anyLength);
  writeAny(sotwField, writeVarint(sotwField, writeVarint(sotwField, 0, 0x12), anyLength));

  const ver = Buffer.from(version, 'utf8');
  const nm = Buffer.from(name, 'utf8');
  // Resource { version = 1; resource = 2 (Any); name = 3; }
  const resourceLength = 1 + varintSize(ver.length) + ver.length + 1 + varintSize(anyLength) + anyLength + 1 + varintSize(nm.length) + nm.length;
  const deltaField = Buffer.allocUnsafe(1 + varintSize(resourceLength) + resourceLength);
  let i = writeVarint(deltaField, 0, 0x12);
  i = writeVarint(deltaField, i, resourceLength);
  i = writeVarint(deltaField, i, 0x0a);
  i = writeVarint(deltaField, i, ver.length);
  deltaField.set(ver, i);
  i += ver.length;
  i = writeVarint(deltaField, i, 0x12);
  i = writeVarint(deltaField, i, anyLength);
  i = writeAny(deltaField, i);
  i = writeVarint(deltaField, i, 0x1a);
  i = writeVarint(deltaField, i, nm.length);
  deltaField.set(nm, i);
  return { sotwField, deltaField };
}

/** Bytes of a varint (a tag or a length) as protobufjs' Writer.uint32 writes it. */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Writes a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, n: number): number {
  let v = n >>> 0;
  let i = at;
  while (v > 127) {
    out[i++] = (v & 127) | 128;
    v >>>= 7;
  }
  out[i++] = v;
  return i;
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
export function createSnapshot(input: SnapshotInput, options: { checkConsistency?: boolean; cache?: EncodeCache } = {}): Snapshot {
  const errors: SwitchyardError[] = [];
  const types = new Map<string, TypeSet>();
  const cache = options.cache;
  for (const [typeUrl, messages] of Object.entries(input)) {
    const encoded: EncodedResource[] = [];
    const seen = new Set<string>();
    for (const m of messages) {
      try {
        const r = cache ? cache.encode(typeUrl, m) : encodeResource(typeUrl, m);
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
