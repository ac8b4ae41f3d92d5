// Hand-built protobuf wire fragments. Responses are assembled from pre-encoded pieces so each
// resource is encoded once per version and the same bytes serve every stream (design rule 9).
import protobuf from 'protobufjs';

const WIRE_LEN = 2;

function tag(field: number): number {
  return (field << 3) | WIRE_LEN;
}

/** Encodes one length-delimited field: tag, length, payload. */
export function lenField(field: number, payload: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(field)).bytes(payload);
  return Buffer.from(w.finish());
}

export function stringField(field: number, value: string): Buffer {
  if (value === '') return Buffer.alloc(0);
  const w = protobuf.Writer.create();
  w.uint32(tag(field)).string(value);
  return Buffer.from(w.finish());
}

/** google.protobuf.Any { type_url = 1; value = 2; } */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(typeUrl);
  w.uint32(tag(2)).bytes(value);
  return Buffer.from(w.finish());
}

/** envoy.service.discovery.v3.Resource { version = 1; resource = 2; name = 3; } */
export function encodeDeltaResource(name: string, version: string, anyBytes: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1)).string(version);
  w.uint32(tag(2)).bytes(anyBytes);
  w.uint32(tag(3)).string(name);
  return Buffer.from(w.finish());
}
