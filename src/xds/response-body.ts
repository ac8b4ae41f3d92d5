// State-of-the-world response bodies (version_info + resources + type_url, everything but the
// nonce), built once per (type version, subscribed names) and shared by every stream with that
// subscription (design rule 9).
import type { EncodedResource, TypeSet } from '../snapshot/types.js';
import { typeVersion } from '../snapshot/snapshot.js';
import { stringField } from '../snapshot/wire.js';
import type { InternedNames } from './intern.js';

export interface SotwBody {
  /** Global, increasing: a stream may use this body's nonce if it never used a later body. */
  readonly seq: number;
  /** Nonce shared by every stream that gets this body ("s" + base36 seq; per-stream nonces are decimal). */
  readonly nonce: string;
  /** The whole DiscoveryResponse with the shared nonce: written to streams without a copy. */
  readonly withNonce: Buffer;
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
  /** Digest of exactly the resources carried (type versions of named subsets are broader). */
  readonly contentKey: string;
  /** Encoded DiscoveryResponse fields 1, 2 and 4. */
  readonly bytes: Buffer;
}

const MAX_CACHED_SUBSCRIPTIONS = 4096;
let bodySeq = 0;
const cache = new WeakMap<TypeSet, Map<string, SotwBody>>();

export function buildBody(typeUrl: string, version: string, resources: ReadonlyMap<string, EncodedResource>): SotwBody {
  const parts: Buffer[] = [stringField(1, version)];
  for (const r of resources.values()) parts.push(r.sotwField);
  parts.push(stringField(4, typeUrl));
  const bytes = Buffer.concat(parts);
  const seq = ++bodySeq;
  const nonce = `s${seq.toString(36)}`;
  const withNonce = Buffer.concat([bytes, nonceField(nonce)]);
  return { seq, nonce, withNonce, typeUrl, version, resources, contentKey: typeVersion(resources.values()), bytes };
}

/** DiscoveryResponse.nonce (field 5); nonces are short ASCII. */
export function nonceField(nonce: string): Buffer {
  return stringField(5, nonce);
}

/** The body with a stream's own nonce (when the shared one was already used on that stream). */
export function withOwnNonce(body: SotwBody, nonce: string): Buffer {
  const field = nonceField(nonce);
  const out = Buffer.allocUnsafe(body.bytes.length + field.length);
  body.bytes.copy(out, 0);
  field.copy(out, body.bytes.length);
  return out;
}

/** Body for a wildcard subscriber: the whole type set. */
export function fullBody(set: TypeSet): SotwBody {
  return cached(set, '*', () => buildBody(set.typeUrl, set.version, set.resources));
}

/** Body for an explicitly named subscription. */
export function namedBody(set: TypeSet, subscription: InternedNames, fullState: boolean): SotwBody {
  return cached(set, subscription.key, () => {
    const picked = new Map<string, EncodedResource>();
    for (const n of subscription.sorted) {
      const r = set.resources.get(n);
      if (r) picked.set(n, r);
    }
    // Full-state types (LDS, CDS) carry a content version of exactly what they hold.
    return buildBody(set.typeUrl, fullState ? typeVersion(picked.values()) : set.version, picked);
  });
}

function cached(set: TypeSet, key: string, build: () => SotwBody): SotwBody {
  let perSet = cache.get(set);
  if (!perSet) {
    perSet = new Map();
    cache.set(set, perSet);
  }
  let body = perSet.get(key);
  if (!body) {
    body = build();
    if (perSet.size < MAX_CACHED_SUBSCRIPTIONS) perSet.set(key, body);
  }
  return body;
}

/** True when both hold the same resources with the same content. */
export function sameContent(a: ReadonlyMap<string, { version: string }> | undefined, b: ReadonlyMap<string, { version: string }>): boolean {
  if (a === b) return true;
  if (!a || a.size !== b.size) return false;
  for (const [name, r] of b) {
    const o = a.get(name);
    if (!o || o.version !== r.version) return false;
  }
  return true;
}
