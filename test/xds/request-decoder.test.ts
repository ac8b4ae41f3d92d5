// The ADS request decoders (src/xds/request-decoder.ts) read what protobufjs reads
// for the fields the streams use, on random requests (unicode, repeated and absent fields, nested
// node and error_detail, fields it skips), and refuses truncated input (the stream then fails, as for any undecodable request).
import { describe, expect, it } from 'vitest';
import { prng } from '../../bench/prng.js';
import { messageType } from '../../src/proto/messages.js';
import { TypeUrl } from '../../src/proto/type-urls.js';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest } from '../../src/xds/request-decoder.js';

const REQUEST = messageType('envoy.service.discovery.v3.DiscoveryRequest');
const NODE = messageType('envoy.config.core.v3.Node');
const STATUS = messageType('google.rpc.Status');
const DELTA = messageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');

function generators(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const text = (): string => pick(['', 'a', 'model-serving', 'shard-007', '*', 'ünïcødé-名前', 'x'.repeat(200), String(Math.floor(rand() * 1e9))]);
  const node = (): Record<string, unknown> => ({
    id: text(),
    cluster: text(),
    user_agent_name: pick(['envoy', 'gRPC Node.js', '']),
    ...(rand() < 0.5 ? { locality: { region: 'eu', zone: text() } } : {}),
    ...(rand() < 0.5 ? { metadata: { fields: { canary: { bool_value: rand() < 0.5 }, ring: { string_value: text() } } } } : {}),
  });
  return { pick, text, node };
}

function randomRequest(rand: () => number): Record<string, unknown> {
  const { pick, text, node } = generators(rand);
  const req: Record<string, unknown> = {};
  if (rand() < 0.7) req.version_info = text();
  if (rand() < 0.4) req.node = node();
  if (rand() < 0.8) req.resource_names = Array.from({ length: Math.floor(rand() * 5) }, text);
  if (rand() < 0.9) req.type_url = pick([...Object.values(TypeUrl), text()]);
  if (rand() < 0.7) req.response_nonce = text();
  if (rand() < 0.2) req.error_detail = { code: Math.floor(rand() * 16), message: text() };
  if (rand() < 0.2) req.resource_locators = [{ name: text() }];
  return req;
}

describe('DiscoveryRequest decoder', () => {
  it('reads what protobufjs reads, on 3,000 random requests', () => {
    const rand = prng(42);
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(REQUEST.encode(REQUEST.fromObject(randomRequest(rand))).finish());
      const want = REQUEST.decode(bytes) as unknown as Record<string, unknown>;
      const got = decodeDiscoveryRequest(bytes);
      expect(got.version_info).toBe(want.version_info);
      expect(got.type_url).toBe(want.type_url);
      expect(got.response_nonce).toBe(want.response_nonce);
      expect([...got.resource_names]).toEqual([...(want.resource_names as string[])]);
      const node = want.node ? NODE.toObject(want.node as never) : null;
      expect(got.node ? NODE.toObject(got.node as never) : null).toEqual(node);
      const status = want.error_detail ? STATUS.toObject(want.error_detail as never) : null;
      expect(got.error_detail ? STATUS.toObject(got.error_detail as never) : null).toEqual(status);
    }
  });

  it('reads delta requests as protobufjs does, on 3,000 random requests (map of initial versions included)', () => {
    const rand = prng(7);
    for (let i = 0; i < 3000; i++) {
      const { pick, text, node } = generators(rand);
      const req: Record<string, unknown> = {};
      if (rand() < 0.4) req.node = node();
      if (rand() < 0.9) req.type_url = pick([...Object.values(TypeUrl), text()]);
      if (rand() < 0.6) req.resource_names_subscribe = Array.from({ length: Math.floor(rand() * 4) }, text);
      if (rand() < 0.3) req.resource_names_unsubscribe = Array.from({ length: Math.floor(rand() * 3) }, text);
      if (rand() < 0.3) req.initial_resource_versions = Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [text(), text()]));
      if (rand() < 0.7) req.response_nonce = text();
      if (rand() < 0.2) req.error_detail = { code: Math.floor(rand() * 16), message: text() };
      if (rand() < 0.2) req.resource_locators_subscribe = [{ name: text() }];
      const bytes = Buffer.from(DELTA.encode(DELTA.fromObject(req)).finish());
      const want = DELTA.decode(bytes) as unknown as Record<string, unknown>;
      const got = decodeDeltaDiscoveryRequest(bytes);
      expect(got.type_url).toBe(want.type_url);
      expect(got.response_nonce).toBe(want.response_nonce);
      expect([...got.resource_names_subscribe]).toEqual([...(want.resource_names_subscribe as string[])]);
      expect([...got.resource_names_unsubscribe]).toEqual([...(want.resource_names_unsubscribe as string[])]);
      expect({ ...got.initial_resource_versions }).toEqual({ ...(want.initial_resource_versions as Record<string, string>) });
      expect(got.node ? NODE.toObject(got.node as never) : null).toEqual(want.node ? NODE.toObject(want.node as never) : null);
      expect(got.error_detail ? STATUS.toObject(got.error_detail as never) : null).toEqual(want.error_detail ? STATUS.toObject(want.error_detail as never) : null);
    }
  });

  it('keeps one copy of a type URL across requests, and refuses a truncated request', () => {
    const encode = (o: Record<string, unknown>): Buffer => Buffer.from(REQUEST.encode(REQUEST.fromObject(o)).finish());
    const a = decodeDiscoveryRequest(encode({ type_url: TypeUrl.Cluster, response_nonce: '1' }));
    const b = decodeDiscoveryRequest(encode({ type_url: TypeUrl.Cluster, response_nonce: '2' }));
    expect(a.type_url).toBe(TypeUrl.Cluster);
    expect(Object.is(a.type_url, b.type_url)).toBe(true);
    const full = encode({ version_info: 'v1', type_url: TypeUrl.RouteConfiguration, resource_names: ['model-serving'] });
    const cut = full.subarray(0, full.length - 3);
    let thrown: unknown;
    try {
      decodeDiscoveryRequest(cut);
    } catch (err) {
      thrown = err;
    }
    expect(String(thrown)).toMatch(/RangeError: index out of range/);
  });
});
