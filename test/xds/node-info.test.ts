import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/proto/messages.js';
import { nodeInfoFrom, isGrpcClient } from '../../src/xds/node-info.js';
import type { DecodedNode } from '../../src/xds/service.js';

function decodeNode(node: object): DecodedNode {
  const t = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  return (t.decode(t.encode(t.fromObject({ type_url: 'x', node })).finish()) as unknown as { node: DecodedNode }).node;
}

describe('node info from the first request', () => {
  it('decodes every kind of metadata value', () => {
    const metadata = {
      fields: {
        canary: { boolValue: true },
        off: { boolValue: false },
        zone: { stringValue: 'eu-1' },
        empty: { stringValue: '' },
        weight: { numberValue: 3 },
        zero: { numberValue: 0 },
        nothing: { nullValue: 'NULL_VALUE' },
        nested: { structValue: { fields: { a: { stringValue: 'b' } } } },
        list: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'x' }] } },
      },
    };
    const info = nodeInfoFrom(decodeNode({ id: 'n1', cluster: 'edge', user_agent_name: 'envoy', user_agent_version: '1.32', locality: { zone: 'z' }, metadata }));
    expect(info).toEqual({
      id: 'n1',
      cluster: 'edge',
      userAgent: 'envoy/1.32',
      locality: { region: '', zone: 'z', sub_zone: '' },
      metadata: { canary: true, off: false, zone: 'eu-1', empty: '', weight: 3, zero: 0, nothing: null, nested: { a: 'b' }, list: [1, 'x'] },
    });
    expect(isGrpcClient(info)).toBe(false);
    expect(isGrpcClient(nodeInfoFrom(decodeNode({ id: 'g', user_agent_name: 'gRPC Node Pure JS' })))).toBe(true);
  });
});
