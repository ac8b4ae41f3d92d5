import type { References } from './references.js';

/** One resource, encoded once and shared by every stream. */
export interface EncodedResource {
  readonly typeUrl: string;
  readonly name: string;
  /** Content digest of the encoded message; the resource's version in delta xDS. */
  readonly version: string;
  /** The encoded message (not wrapped in Any). */
  readonly bytes: Uint8Array;
  /** DiscoveryResponse.resources (field 2) fragment: tag, length, Any. */
  readonly sotwField: Buffer;
  /** DeltaDiscoveryResponse.resources (field 2) fragment: tag, length, Resource{version, Any, name}. */
  readonly deltaField: Buffer;
  readonly refs: References;
}

/** All resources of one type in a snapshot. */
export interface TypeSet {
  readonly typeUrl: string;
  /** Content-derived: same resources, same version, on any replica and after any restart. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
  /** Names in sorted order (deterministic responses). */
  readonly names: readonly string[];
}

/** Read access to a snapshot's types (what the consistency check and the ADS server need). */
export interface SnapshotView {
  readonly version: string;
  typeUrls(): string[];
  type(typeUrl: string): TypeSet | undefined;
}
