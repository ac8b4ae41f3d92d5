import { createHash } from 'node:crypto';

/** Hex digests are truncated to 16 hex chars (64 bits): short enough to read, collision-free in practice. */
const DIGEST_HEX = 16;

export function digestBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, DIGEST_HEX);
}

export function digestStrings(parts: Iterable<string>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\n');
  return h.digest('hex').slice(0, DIGEST_HEX);
}
