// The user hash behind experiment cells and traffic shifts. Part of the wire contract: every
// resolver, in any language, must put a user in the same bucket (see docs/resolver.md, "Hash").
//
//   bytes  = UTF-8 of (salt + ":" + userId), as the WHATWG TextEncoder encodes it
//            (a lone UTF-16 surrogate becomes U+FFFD, bytes EF BF BD)
//   hash   = MurmurHash3 x86_32 (Austin Appleby) of bytes with seed 0, as an unsigned 32-bit integer
//   bucket = hash mod 10000
//
// MurmurHash3 is fast, has a full-avalanche finalizer (so buckets of different salts are
// independent) and has implementations in every language. The hot path never allocates: the
// state after "salt:" is computed once per experiment (a HashPrefix) and the user id is encoded to
// UTF-8 on the fly while it is hashed.
import { BUCKET_COUNT } from '../compile/constants.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The MurmurHash3 state after absorbing some bytes: h1, the pending tail word, its byte count and the total length. */
export interface HashPrefix {
  readonly h: number;
  readonly k: number;
  readonly n: number;
  readonly len: number;
}

interface HashState {
  h: number;
  k: number;
  n: number;
  len: number;
}

/** Reused by every call (JavaScript runs one call at a time), so hashing allocates nothing. */
const scratch: HashState = { h: 0, k: 0, n: 0, len: 0 };

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Absorbs the UTF-8 bytes of `s` into `st`. */
function absorb(st: HashState, s: string): void {
  let h = st.h;
  let k = st.k;
  let n = st.n;
  let len = st.len;
  const count = s.length;
  for (let i = 0; i < count; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      k |= c << (n << 3);
      if (++n === 4) {
        h = mixH(h, k);
        k = 0;
        n = 0;
      }
      len++;
      continue;
    }
    // Multi-byte sequence: b0 is the lead byte, then `extra` continuation bytes of `c`.
    let extra: number;
    let lead: number;
    if (c < 0x800) {
      extra = 1;
      lead = 0xc0 | (c >> 6);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < count ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        extra = 3;
        lead = 0xf0 | (c >> 18);
      } else {
        c = 0xfffd; // lone surrogate, as TextEncoder
        extra = 2;
        lead = 0xe0 | (c >> 12);
      }
    } else {
      extra = 2;
      lead = 0xe0 | (c >> 12);
    }
    let b = lead;
    for (let j = extra; j >= 0; j--) {
      k |= b << (n << 3);
      if (++n === 4) {
        h = mixH(h, k);
        k = 0;
        n = 0;
      }
      len++;
      if (j > 0) b = 0x80 | ((c >> ((j - 1) * 6)) & 0x3f);
    }
  }
  st.h = h;
  st.k = k;
  st.n = n;
  st.len = len;
}

function finish(st: HashState): number {
  let h = st.h;
  if (st.n > 0) h ^= mixK(st.k);
  h ^= st.len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function start(seed: number): void {
  scratch.h = seed | 0;
  scratch.k = 0;
  scratch.n = 0;
  scratch.len = 0;
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `input`, unsigned. */
export function murmur3_32(input: string, seed = 0): number {
  start(seed);
  absorb(scratch, input);
  return finish(scratch);
}

/** The hash state after `salt + ":"`, computed once per experiment or shift. */
export function hashPrefix(salt: string): HashPrefix {
  start(0);
  absorb(scratch, salt);
  absorb(scratch, ':');
  return { h: scratch.h, k: scratch.k, n: scratch.n, len: scratch.len };
}

/** murmur3_32(salt + ":" + userId), with the salt part precomputed. */
export function hashWithPrefix(prefix: HashPrefix, userId: string): number {
  scratch.h = prefix.h;
  scratch.k = prefix.k;
  scratch.n = prefix.n;
  scratch.len = prefix.len;
  absorb(scratch, userId);
  return finish(scratch);
}

/** The user's bucket, 0..9999, under a precomputed salt. */
export function bucketWithPrefix(prefix: HashPrefix, userId: string): number {
  return hashWithPrefix(prefix, userId) % BUCKET_COUNT;
}

/** The user's bucket, 0..9999: murmur3_32(UTF-8(salt + ":" + userId), seed 0) mod 10000. */
export function userBucket(salt: string, userId: string): number {
  return murmur3_32(`${salt}:${userId}`) % BUCKET_COUNT;
}
