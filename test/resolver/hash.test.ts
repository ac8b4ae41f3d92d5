import { describe, expect, it } from 'vitest';
import { bucketWithPrefix, hashPrefix, murmur3_32, userBucket } from '../../src/resolver/hash.js';
import { prng } from './fixtures.js';

// Independent reference: the textbook MurmurHash3 x86_32 over TextEncoder bytes, in BigInt
// arithmetic (no Math.imul, no streaming, no on-the-fly UTF-8).
function referenceMurmur3(bytes: Uint8Array, seed = 0): number {
  const M = 0xffffffffn;
  const c1 = 0xcc9e2d51n;
  const c2 = 0x1b873593n;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M;
  const mix = (k: bigint): bigint => (rotl((k * c1) & M, 15n) * c2) & M;
  let h = BigInt(seed >>> 0);
  const n = bytes.length;
  const blocks = n - (n % 4);
  for (let i = 0; i < blocks; i += 4) {
    const k = BigInt(bytes[i]!) | (BigInt(bytes[i + 1]!) << 8n) | (BigInt(bytes[i + 2]!) << 16n) | (BigInt(bytes[i + 3]!) << 24n);
    h ^= mix(k);
    h = rotl(h, 13n);
    h = (h * 5n + 0xe6546b64n) & M;
  }
  let k = 0n;
  for (let j = (n % 4) - 1; j >= 0; j--) k = (k << 8n) | BigInt(bytes[blocks + j]!);
  if (n % 4 > 0) h ^= mix(k);
  h ^= BigInt(n);
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & M;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & M;
  h ^= h >> 16n;
  return Number(h);
}

const utf8 = new TextEncoder();
const referenceBucket = (salt: string, userId: string): number => referenceMurmur3(utf8.encode(`${salt}:${userId}`)) % 10_000;

// Published in docs/resolver.md ("Test vectors"). Computed once with referenceMurmur3 above and
// pinned: a change here is a breaking change of the wire contract (users change cells).
const BUCKET_VECTORS: [salt: string, userId: string, utf8Hex: string, hash: number, bucket: number][] = [
  ['ab12345', 'user-1', '616231323334353a757365722d31', 0x2a299d0e, 254],
  ['ab12345', 'user-2', '616231323334353a757365722d32', 0x88370329, 6665],
  ['ab12345', 'user-3', '616231323334353a757365722d33', 0xe7052c12, 5858],
  ['ab12345', '', '616231323334353a', 0x3dbabb32, 7794],
  ['ab12345', '1234567890', '616231323334353a31323334353637383930', 0x610e783c, 8236],
  ['shift:search-v4-rollout', 'user-1', '73686966743a7365617263682d76342d726f6c6c6f75743a757365722d31', 0x25e87a3e, 2638],
  ['shift:search-v4-rollout', 'user-2', '73686966743a7365617263682d76342d726f6c6c6f75743a757365722d32', 0x93d14ecd, 7949],
  ['ab12345', 'Zoë', '616231323334353a5a6fc3ab', 0x0ff52aeb, 5547],
  ['ab12345', '用户-42', '616231323334353ae794a8e688b72d3432', 0xfe1ee940, 8656],
  ['ab12345', '😀', '616231323334353af09f9880', 0xdfa5206d, 909],
  ['salt', '\ud800', '73616c743aefbfbd', 0xe06e9830, 4304],
];

describe('user hash', () => {
  it('is MurmurHash3 x86_32: published test vectors', () => {
    const published: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['\0\0\0\0', 0, 0x2362f9de],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [input, seed, expected] of published) {
      expect(murmur3_32(input, seed)).toBe(expected);
      expect(referenceMurmur3(utf8.encode(input), seed)).toBe(expected);
    }
  });

  it('gives the pinned buckets (docs/resolver.md test vectors)', () => {
    for (const [salt, userId, hex, hash, bucket] of BUCKET_VECTORS) {
      const bytes = utf8.encode(`${salt}:${userId}`);
      expect(Buffer.from(bytes).toString('hex')).toBe(hex);
      expect(referenceMurmur3(bytes)).toBe(hash);
      expect(murmur3_32(`${salt}:${userId}`)).toBe(hash);
      expect(userBucket(salt, userId)).toBe(bucket);
      expect(bucketWithPrefix(hashPrefix(salt), userId)).toBe(bucket);
    }
  });

  it('matches the reference on random strings, multi-byte and lone surrogates included, for every salt length', () => {
    const random = prng(7);
    const alphabet = ['a', 'Z', '0', ':', '-', 'é', 'ß', '€', '中', '😀', '\ud83d', '\ude00', '\u0000', '\u07ff', '\u0800', '\uffff'];
    const pick = (len: number): string => Array.from({ length: len }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 3000; i++) {
      const salt = pick(Math.floor(random() * 9));
      const userId = pick(Math.floor(random() * 13));
      expect(bucketWithPrefix(hashPrefix(salt), userId)).toBe(referenceBucket(salt, userId));
    }
  });

  it('puts users in 0..9999', () => {
    const prefix = hashPrefix('range');
    for (let i = 0; i < 20_000; i++) {
      const b = bucketWithPrefix(prefix, `user-${i}`);
      expect(Number.isInteger(b) && b >= 0 && b < 10_000).toBe(true);
    }
  });
});
