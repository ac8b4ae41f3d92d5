// What one stream knows about one resource type: the subscription, what was sent and ACKed, the
// last NACK. Resource maps are treated as immutable and shared, so an idle stream costs little.
import type { EncodedResource } from '../snapshot/types.js';

/** A resource a client holds: a full encoded resource, or only name and version when a delta
 * client reported it in initial_resource_versions after a reconnect. */
export type HeldResource = Pick<EncodedResource, 'name' | 'version'> & Partial<EncodedResource>;
export type ResourceMap = ReadonlyMap<string, HeldResource>;
const EMPTY: ResourceMap = new Map();

export interface NackRecord {
  /** The version the client rejected. */
  readonly version: string;
  readonly message: string;
  readonly at: Date;
}

export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  readonly snapshotVersion: string;
  /** What the client holds for this type once it ACKs. */
  readonly resources: ResourceMap;
  /** Content key of the response, to avoid resending a rejected one (design rule 3). */
  readonly contentKey: string;
  readonly sentAt: number;
  /** Delta: resources this response added or changed. */
  readonly changed?: readonly HeldResource[];
}

export class TypeState {
  /** Requests received for this type on this stream. */
  requests = 0;
  /** Legacy or explicit ("*") wildcard. */
  wildcard = false;
  names: ReadonlySet<string> = new Set();
  /** Sorted, joined names: identifies the subscription for shared response bodies. */
  namesKey = '';
  /** The client named something at least once: legacy wildcard is over (rule 5). */
  everNamed = false;
  /** Something may need sending; the next pump re-plans this type. */
  dirty = true;
  /** Respond even if nothing changed: first request of the type on this stream (rule 6). */
  forceAll = true;
  /** Newly subscribed names that get a response even if unchanged (rule 6). */
  readonly forceNames = new Set<string>();

  /** What the client holds if every response sent so far is ACKed. */
  sent: ResourceMap = EMPTY;
  /** What the client confirmed. */
  acked: ResourceMap = EMPTY;
  /** Responses sent and not yet ACKed or NACKed, oldest first. */
  inflight: InFlight[] = [];

  lastSentVersion = '';
  lastSentNonce = '';
  lastSentAt: Date | undefined;
  /** version_info of the client's last ACK (or of its first request, after a reconnect). */
  ackedVersion = '';
  ackedAt: Date | undefined;
  lastNack: NackRecord | undefined;
  /** Content key of the last rejected response: never sent again in a loop. */
  rejectedKey = '';
  /** Delta: per-resource versions the client rejected. */
  readonly rejectedVersions = new Map<string, string>();
  /** The snapshot whose content (for this subscription) the client has ACKed. */
  ackedSnapshot = '';
  /** Names gating this type (routes waiting for cluster ACKs), for status. */
  waitingFor: readonly string[] = [];

  constructor(readonly typeUrl: string) {}

  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Replaces the subscribed names; returns the names that were not subscribed before. */
  setNames(names: Iterable<string>): string[] {
    const next = new Set(names);
    next.delete('*');
    const added = [...next].filter((n) => !this.names.has(n));
    if (added.length > 0 || next.size !== this.names.size) {
      this.names = next;
      this.namesKey = [...next].sort().join('\u0000');
    }
    return added;
  }
}
