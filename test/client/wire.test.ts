// The client's ADS messages are a wire-compatible subset of the Envoy protos the server uses.
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { messageType, decodeMessage, encodeMessage } from '../../src/proto/messages.js';
import { ADS_SUBSET_MESSAGES, clientRoot, decodeDiscoveryResponse, decodeResolverTableBytes, encodeDiscoveryRequest, jsonToStruct } from '../../src/client/wire.js';
import { RESOLVER_TABLE_MESSAGE } from '../../src/resolver/table-message.js';

describe('client wire subset', () => {
  it.each(ADS_SUBSET_MESSAGES)('%s: every field matches the Envoy definition (name, number, type, label)', (name) => {
    const subset = clientRoot().lookupType(name);
    const full = messageType(name);
    for (const field of subset.fieldsArray) {
      const envoy = full.fields[field.name];
      expect(envoy, `${name}.${field.name} exists in the Envoy proto`).toBeDefined();
      field.resolve();
      envoy!.resolve();
      expect(field.id).toBe(envoy!.id);
      expect(field.repeated).toBe(envoy!.repeated);
      const typeName = (f: protobuf.Field): string => (f.resolvedType ? f.resolvedType.fullName : f.type);
      expect(typeName(field)).toBe(typeName(envoy!));
    }
  });

  it('a request the client encodes decodes on the server as sent', () => {
    const bytes = encodeDiscoveryRequest({
      version_info: 'v1',
      node: { id: 'n1', cluster: 'svc', user_agent_name: 'switchyard-client', user_agent_version: '0.1.0', locality: { zone: 'z1' }, metadata: jsonToStruct({ team: 'ranking', replicas: 3, canary: false, tags: ['a', null] }) },
      resource_names: ['resolver-table'],
      type_url: 'type.googleapis.com/switchyard.v1.ResolverTable',
      response_nonce: '7',
      error_detail: { code: 3, message: 'RESOLVE_BAD_TABLE: nope' },
    });
    const m = decodeMessage('envoy.service.discovery.v3.DiscoveryRequest', bytes);
    expect(m).toMatchObject({
      version_info: 'v1',
      resource_names: ['resolver-table'],
      type_url: 'type.googleapis.com/switchyard.v1.ResolverTable',
      response_nonce: '7',
      error_detail: { code: 3, message: 'RESOLVE_BAD_TABLE: nope' },
      node: { id: 'n1', cluster: 'svc', user_agent_name: 'switchyard-client', user_agent_version: '0.1.0', locality: { zone: 'z1' } },
    });
    const fields = (m.node as { metadata: { fields: Record<string, unknown> } }).metadata.fields;
    expect(fields.team).toEqual({ stringValue: 'ranking' });
    expect(fields.replicas).toEqual({ numberValue: 3 });
    expect(fields.canary).toEqual({ boolValue: false });
  });

  it('a response the server encodes decodes on the client, resources packed', () => {
    const table = encodeMessage(RESOLVER_TABLE_MESSAGE, { name: 'resolver-table', objectives: [], models: [], clients: [{ name: 'c', test_traffic: true }] });
    const response = encodeMessage('envoy.service.discovery.v3.DiscoveryResponse', {
      version_info: 'v9',
      type_url: 'type.googleapis.com/switchyard.v1.ResolverTable',
      nonce: 'n3',
      resources: [{ type_url: 'type.googleapis.com/switchyard.v1.ResolverTable', value: table }],
    });
    const r = decodeDiscoveryResponse(response);
    expect(r.version_info).toBe('v9');
    expect(r.nonce).toBe('n3');
    expect(r.resources).toHaveLength(1);
    expect(Buffer.from(r.resources[0]!.value).equals(Buffer.from(table))).toBe(true);
    expect(decodeResolverTableBytes(r.resources[0]!.value)).toEqual(decodeMessage(RESOLVER_TABLE_MESSAGE, table));
  });

  it('refuses node metadata that is not JSON data', () => {
    expect(() => jsonToStruct({ n: Number.NaN })).toThrow(/finite/);
    expect(() => jsonToStruct({ f: () => 1 })).toThrow(/not JSON/);
  });
});
