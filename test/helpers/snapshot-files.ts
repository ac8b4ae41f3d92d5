// Takes a stored snapshot file (format 2) apart and puts it back together, so tests can damage
// one part and re-seal the file with a correct digest.
import { createHash } from 'node:crypto';

export interface SnapshotFileHeaderDoc {
  version: string;
  typeVersions: Record<string, string>;
  meta: Record<string, unknown>;
  types: Array<{ typeUrl: string; resources: Array<[string, number]> }>;
}

export interface SnapshotFileParts {
  /** The first line without its newline: `switchyard-snapshot <format> sha256:<hex>`. */
  preamble: string;
  header: SnapshotFileHeaderDoc;
  payload: Buffer;
}

export function splitSnapshotFile(bytes: Uint8Array): SnapshotFileParts {
  const buf = Buffer.from(bytes);
  const first = buf.indexOf(0x0a);
  const second = buf.indexOf(0x0a, first + 1);
  if (first === -1 || second === -1) throw new Error('not a format 2 snapshot file');
  return {
    preamble: buf.toString('latin1', 0, first),
    header: JSON.parse(buf.toString('utf8', first + 1, second)) as SnapshotFileHeaderDoc,
    payload: buf.subarray(second + 1),
  };
}

/** The resources of `parts` as [typeUrl, name, bytes], in file order. */
export function resourcesOf(parts: SnapshotFileParts): Array<[typeUrl: string, name: string, bytes: Buffer]> {
  const out: Array<[string, string, Buffer]> = [];
  let offset = 0;
  for (const t of parts.header.types) {
    for (const [name, length] of t.resources) {
      out.push([t.typeUrl, name, parts.payload.subarray(offset, offset + length)]);
      offset += length;
    }
  }
  return out;
}

/** A file of the given header and payload, with a digest that matches them. */
export function sealSnapshotFile(header: SnapshotFileHeaderDoc, payload: Uint8Array, format: number | string = 2): Buffer {
  const headerLine = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  const digest = createHash('sha256').update(headerLine).update(payload).digest('hex');
  return Buffer.concat([Buffer.from(`switchyard-snapshot ${format} sha256:${digest}\n`, 'latin1'), headerLine, payload]);
}
