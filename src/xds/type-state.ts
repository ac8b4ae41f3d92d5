// What one stream knows about one resource type: the subscription, what was sent and ACKed, the
// last NACK. Resource maps and subscriptions are immutable and shared between streams, and
// rarely used collections are created lazily, so an idle stream costs little memory.
import type { EncodedResource } from '../snapshot/types.js';
import { internNames, NO_NAMES, type InternedNames } from './intern.js';

/** A resource a client holds: a full encoded resource, or only name and version when a delta
 * client reported it in initial_resource_versions after a reconnect. */
export type HeldResource = Pick<EncodedResource, 'name' | 'version'> & Partial<EncodedResource>;
export type ResourceMap = ReadonlyMap<string, HeldResource>;
const EMPTY: ResourceMap = new Map();

export interface NackRecord {
  /** The version the client rejected. */
  readonly version: string;
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  readonly snapshotVersion: string;
  /** What the client holds for this type once it ACKs. */
  readonly resources: ResourceMap;
  /** Content digest of `resources`: compared instead of the maps (design rule 3 uses it too). */
  readonly contentKey: string;
  /** Epoch ms. */
  readonly sentAt: number;
  /** Delta: resources this response added or changed. */
  readonly changed?: readonly HeldResource[];
}

export class TypeState {
  /** Requests received for this type on this stream. */
  requests = 0;
  /** Legacy or explicit ("*") wildcard. */
  wildcard = false;
  /** Subscribed names, interned (shared by every stream with the same subscription). */
  subscription: InternedNames = NO_NAMES;
  /** The client named something at least once: legacy wildcard is over (rule 5). */
  everNamed = false;
  /** Something may need sending; the next pump re-plans this type. */
  dirty = true;
  /** Respond even if nothing changed: first request of the type on this stream (rule 6). */
  forceAll = true;
  private forced: Set<string> | undefined;

  /** What the client holds if every response sent so far is ACKed, and its content key. */
  sent: ResourceMap = EMPTY;
  sentKey = '';
  /** What the client confirmed, and its content key. */
  acked: ResourceMap = EMPTY;
  ackedKey = '';
  /** Responses sent and not yet ACKed or NACKed, oldest first. */
  inflight: InFlight[] = [];

  lastSentVersion = '';
  lastSentNonce = '';
  /** Epoch ms; 0 = never. */
  lastSentAt = 0;
  /** version_info of the client's last ACK (or of its first request, after a reconnect). */
  ackedVersion = '';
  ackedAt = 0;
  lastNack: NackRecord | undefined;
  /** Content key of the last rejected response: never sent again in a loop. */
  rejectedKey = '';
  /** Delta: per-resource versions the client rejected. */
  rejectedVersions: Map<string, string> | undefined;
  /** The snapshot whose content (for this subscription) the client has ACKed. */
  ackedSnapshot = '';
  /** The snapshot `sent` was last planned against (what the stream should hold for it). */
  plannedSnapshot = '';
  /** Type version of the snapshot the last concluded plan used ('' = none): unchanged content needs no new plan. */
  plannedTypeVersion = '';
  /** Names gating this type (routes waiting for cluster ACKs), for status. */
  waitingFor: readonly string[] = [];
  /** SotW: highest shared body sequence used on this stream for this type (nonce uniqueness). */
  maxBodySeq = 0;
  /** CDS: the last response kept clusters that routes the client holds still name. */
  heldBack = false;

  constructor(readonly typeUrl: string) {}

  get names(): ReadonlySet<string> {
    return this.subscription.set;
  }

  covers(name: string): boolean {
    return this.wildcard || this.subscription.set.has(name);
  }

  /** Replaces the subscribed names ("*" excluded); returns the names not subscribed before. */
  setNames(names: readonly string[] | ReadonlySet<string>): string[] {
    const current = this.subscription.set;
    let same = true;
    let count = 0;
    for (const n of names) {
      if (n === '*') continue;
      count++;
      if (!current.has(n)) {
        same = false;
        break;
      }
    }
    // Fast path for the common request: an ACK repeating the same names.
    if (same && count === current.size) return [];
    const next = internNames([...names].filter((n) => n !== '*'));
    const added = next.sorted.filter((n) => !current.has(n));
    this.subscription = next;
    return added;
  }

  force(name: string): void {
    (this.forced ??= new Set()).add(name);
  }

  isForced(name: string): boolean {
    return this.forced?.has(name) ?? false;
  }

  forcedNames(): ReadonlySet<string> {
    return this.forced ?? NO_NAMES.set;
  }

  clearForced(): void {
    this.forced = undefined;
  }
}
