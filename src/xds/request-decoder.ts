// ADS requests read straight from the wire: every proxy sends one per response it ACKs, so these
// are the busiest decodes of a fan-out. They read the fields the streams use and hand the nested
// messages (node, error_detail) to protobufjs, whose generic decode built a message instance and
// arrays per request. Same values as protobufjs for those fields (test/xds/request-decoder.test.ts
// compares on random requests); other fields (resource locators) are skipped; truncated or
// malformed input throws (grpc-js then fails the call).
import { messageType } from '../proto/messages.js';
import type { DecodedNode, DeltaDiscoveryRequest, DiscoveryRequest } from './request-types.js';

const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_VERSIONS: Readonly<Record<string, string>> = Object.freeze({});
const NODE = 'envoy.config.core.v3.Node';
const STATUS = 'google.rpc.Status';

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

  /** A nested message, decoded by protobufjs. */
  message<T>(typeName: string): T {
    const [start, end] = this.span();
    return messageType(typeName).decode(this.buf.subarray(start, end)) as unknown as T;
  }

  /** A map<string, string> entry (key 1, value 2; absent ones are ""). */
  stringEntry(): [string, string] {
    const [start, end] = this.span();
    this.pos = start;
    let key = '';
    let value = '';
    while (this.pos < end) {
      const tag = this.varint();
      if (tag === 0x0a) key = this.string();
      else if (tag === 0x12) value = this.string();
      else this.skip(tag & 7);
    }
    if (this.pos !== end) throw new RangeError('index out of range: a map entry overruns its length');
    return [key, value];
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
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  let names: string[] | undefined;
  let node: DecodedNode | null = null;
  let errorDetail: DiscoveryRequest['error_detail'] = null;
  readFields(new Cursor(buf), (c, field) => {
    switch (field) {
      case 1:
        versionInfo = c.string();
        return true;
      case 2:
        node = c.message<DecodedNode>(NODE);
        return true;
      case 3:
        (names ??= []).push(c.string());
        return true;
      case 4:
        typeUrl = intern(c.string());
        return true;
      case 5:
        nonce = c.string();
        return true;
      case 6:
        errorDetail = c.message<NonNullable<DiscoveryRequest['error_detail']>>(STATUS);
        return true;
      default:
        return false;
    }
  });
  return { version_info: versionInfo, node, resource_names: names ?? (NO_NAMES as string[]), type_url: typeUrl, response_nonce: nonce, error_detail: errorDetail };
}

export function decodeDeltaDiscoveryRequest(buf: Buffer): DeltaDiscoveryRequest {
  let typeUrl = '';
  let nonce = '';
  let subscribe: string[] | undefined;
  let unsubscribe: string[] | undefined;
  let initial: Record<string, string> | undefined;
  let node: DecodedNode | null = null;
  let errorDetail: DeltaDiscoveryRequest['error_detail'] = null;
  readFields(new Cursor(buf), (c, field) => {
    switch (field) {
      case 1:
        node = c.message<DecodedNode>(NODE);
        return true;
      case 2:
        typeUrl = intern(c.string());
        return true;
      case 3:
        (subscribe ??= []).push(c.string());
        return true;
      case 4:
        (unsubscribe ??= []).push(c.string());
        return true;
      case 5: {
        const [k, v] = c.stringEntry();
        (initial ??= {})[k] = v;
        return true;
      }
      case 6:
        nonce = c.string();
        return true;
      case 7:
        errorDetail = c.message<NonNullable<DeltaDiscoveryRequest['error_detail']>>(STATUS);
        return true;
      default:
        return false;
    }
  });
  return {
    node,
    type_url: typeUrl,
    resource_names_subscribe: subscribe ?? (NO_NAMES as string[]),
    resource_names_unsubscribe: unsubscribe ?? (NO_NAMES as string[]),
    initial_resource_versions: initial ?? (NO_VERSIONS as Record<string, string>),
    response_nonce: nonce,
    error_detail: errorDetail,
  };
}

/**
 * Walks a message: `read` gets each length-delimited field and returns false for those it does
 * not take; they and every other field are skipped.
 */
function readFields(c: Cursor, read: (c: Cursor, field: number) => boolean): void {
  while (c.pos < c.buf.length) {
    const tag = c.varint();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new Error(`invalid field number 0 at offset ${c.pos}`);
    if (wireType === 2 && read(c, field)) continue;
    c.skip(wireType);
  }
}
