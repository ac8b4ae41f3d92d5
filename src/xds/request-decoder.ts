// DiscoveryRequest (state of the world) read straight from the wire: every proxy sends one per
// response it ACKs, so this is the busiest decode of a fan-out. It reads the five fields the
// stream uses and hands the two nested messages (node, error_detail) to protobufjs; protobufjs'
// generic decode built a message instance and an array per request. Same values as protobufjs
// for those fields (test/xds/request-decoder.test.ts compares on random requests); other fields
// (resource_locators) are skipped; truncated or malformed input throws (grpc-js then fails the call).
import { messageType } from '../proto/messages.js';
import type { DecodedNode, DiscoveryRequest } from './request-types.js';

const NO_NAMES: readonly string[] = Object.freeze([]);

/** Type URLs seen before, so a request keeps no copy of the same long string (one per ACK otherwise). */
const typeUrls = new Map<string, string>();
const MAX_TYPE_URLS = 64;

function intern(s: string): string {
  const known = typeUrls.get(s);
  if (known !== undefined) return known;
  if (typeUrls.size < MAX_TYPE_URLS) typeUrls.set(s, s);
  return s;
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= b.length) throw new RangeError('index out of range: truncated varint');
      const byte = b[this.pos++]!;
      // Lengths and tags fit in 32 bits; higher bits of a longer varint are dropped as protobufjs does.
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 63) throw new Error('invalid varint encoding');
    }
  }

  /** [start, end) of a length-delimited field's payload. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.buf.length) throw new RangeError(`index out of range: ${start} + ${len} > ${this.buf.length}`);
    this.pos = end;
    return [start, end];
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.span();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('index out of range');
    this.pos += n;
  }
}

export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequest {
  const c = new Cursor(buf);
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  let names: string[] | undefined;
  let node: DecodedNode | null = null;
  let errorDetail: DiscoveryRequest['error_detail'] = null;
  while (c.pos < buf.length) {
    const tag = c.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 2 && field >= 1 && field <= 6) {
      switch (field) {
        case 1:
          versionInfo = c.string();
          continue;
        case 2: {
          const [start, end] = c.span();
          node = messageType('envoy.config.core.v3.Node').decode(buf.subarray(start, end)) as unknown as DecodedNode;
          continue;
        }
        case 3:
          (names ??= []).push(c.string());
          continue;
        case 4:
          typeUrl = intern(c.string());
          continue;
        case 5:
          nonce = c.string();
          continue;
        case 6: {
          const [start, end] = c.span();
          errorDetail = messageType('google.rpc.Status').decode(buf.subarray(start, end)) as NonNullable<DiscoveryRequest['error_detail']>;
          continue;
        }
      }
    }
    if (field === 0) throw new Error(`invalid field number 0 at offset ${c.pos}`);
    c.skip(wireType);
  }
  return { version_info: versionInfo, node, resource_names: names ?? (NO_NAMES as string[]), type_url: typeUrl, response_nonce: nonce, error_detail: errorDetail };
}
