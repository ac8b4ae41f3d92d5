// The few protobuf messages a resolver client speaks: the ADS DiscoveryRequest / DiscoveryResponse
// (with Node, Locality, google.rpc.Status, google.protobuf.Any) and switchyard.v1.ResolverTable.
//
// The server side loads the whole Envoy proto tree (src/proto/envoy-root.ts: about half a second
// and tens of megabytes); a service embedding the client needs none of it. The ADS messages are
// declared here as a wire-compatible subset of the Envoy definitions (same field names, numbers
// and types; fields the client never reads or writes are left out, which protobuf skips on
// decode). test/client/wire.test.ts checks the subset against the Envoy protos field by field.
// The ResolverTable message is loaded from the package's own proto/ folder.
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ownProtoDir } from '../proto/envoy-root.js';
import { RESOLVER_TABLE_MESSAGE } from '../resolver/table-message.js';

/** The ADS subset: message name -> field name -> [id, type, rule?]. */
const ADS_SUBSET: protobuf.INamespace = {
  nested: {
    envoy: {
      nested: {
        config: {
          nested: {
            core: {
              nested: {
                v3: {
                  nested: {
                    Node: {
                      oneofs: { user_agent_version_type: { oneof: ['user_agent_version'] } },
                      fields: {
                        id: { id: 1, type: 'string' },
                        cluster: { id: 2, type: 'string' },
                        metadata: { id: 3, type: 'google.protobuf.Struct' },
                        locality: { id: 4, type: 'Locality' },
                        user_agent_name: { id: 6, type: 'string' },
                        user_agent_version: { id: 7, type: 'string' },
                        client_features: { id: 10, type: 'string', rule: 'repeated' },
                      },
                    },
                    Locality: {
                      fields: {
                        region: { id: 1, type: 'string' },
                        zone: { id: 2, type: 'string' },
                        sub_zone: { id: 3, type: 'string' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        service: {
          nested: {
            discovery: {
              nested: {
                v3: {
                  nested: {
                    DiscoveryRequest: {
                      fields: {
                        version_info: { id: 1, type: 'string' },
                        node: { id: 2, type: 'envoy.config.core.v3.Node' },
                        resource_names: { id: 3, type: 'string', rule: 'repeated' },
                        type_url: { id: 4, type: 'string' },
                        response_nonce: { id: 5, type: 'string' },
                        error_detail: { id: 6, type: 'google.rpc.Status' },
                      },
                    },
                    DiscoveryResponse: {
                      fields: {
                        version_info: { id: 1, type: 'string' },
                        resources: { id: 2, type: 'google.protobuf.Any', rule: 'repeated' },
                        canary: { id: 3, type: 'bool' },
                        type_url: { id: 4, type: 'string' },
                        nonce: { id: 5, type: 'string' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { id: 1, type: 'int32' },
                message: { id: 2, type: 'string' },
                details: { id: 3, type: 'google.protobuf.Any', rule: 'repeated' },
              },
            },
          },
        },
      },
    },
  },
};

/** Fully qualified names of the ADS subset's messages (for the conformance test). */
export const ADS_SUBSET_MESSAGES = [
  'envoy.config.core.v3.Node',
  'envoy.config.core.v3.Locality',
  'envoy.service.discovery.v3.DiscoveryRequest',
  'envoy.service.discovery.v3.DiscoveryResponse',
  'google.rpc.Status',
] as const;

let root: protobuf.Root | undefined;

/** The client's protobufjs root (built once, synchronously, in a few milliseconds). */
export function clientRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  const protoDir = ownProtoDir();
  r.resolvePath = (_origin: string, target: string): string => {
    // google/protobuf/*.proto come from protobufjs' bundled copies (protobuf.common).
    if (target.startsWith('google/protobuf/')) return target;
    const candidate = path.isAbsolute(target) ? target : path.join(protoDir, target);
    return existsSync(candidate) ? candidate : target;
  };
  r.loadSync(['switchyard/v1/resolver.proto', 'google/protobuf/any.proto'], { keepCase: true });
  r.addJSON(ADS_SUBSET.nested!);
  r.resolveAll();
  root = r;
  return r;
}

function type(name: string): protobuf.Type {
  return clientRoot().lookupType(name);
}

/** A node as the client sends it (proto field names). */
export interface WireNode {
  id: string;
  cluster: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name: string;
  user_agent_version: string;
  client_features?: string[];
  metadata?: { fields: Record<string, unknown> };
}

export interface WireRequest {
  version_info: string;
  node?: WireNode;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code: number; message: string };
}

export interface WireResource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export interface WireResponse {
  readonly version_info: string;
  readonly resources: readonly WireResource[];
  readonly type_url: string;
  readonly nonce: string;
}

export function encodeDiscoveryRequest(req: WireRequest): Buffer {
  const t = type('envoy.service.discovery.v3.DiscoveryRequest');
  return Buffer.from(t.encode(t.fromObject(req)).finish());
}

/** Decodes a DiscoveryResponse; resources stay packed (type URL and bytes). Throws on bad bytes. */
export function decodeDiscoveryResponse(bytes: Uint8Array): WireResponse {
  const t = type('envoy.service.discovery.v3.DiscoveryResponse');
  const m = t.decode(bytes) as unknown as { version_info?: string; type_url?: string; nonce?: string; resources?: Array<{ type_url?: string; value?: Uint8Array }> };
  return {
    version_info: m.version_info ?? '',
    type_url: m.type_url ?? '',
    nonce: m.nonce ?? '',
    resources: (m.resources ?? []).map((a) => ({ type_url: a.type_url ?? '', value: a.value ?? new Uint8Array(0) })),
  };
}

/** Decodes DiscoveryRequest bytes (tests and diagnostics). */
export function decodeDiscoveryRequest(bytes: Uint8Array): Record<string, unknown> {
  const t = type('envoy.service.discovery.v3.DiscoveryRequest');
  return t.toObject(t.decode(bytes), { longs: String, enums: String, defaults: false });
}

const TABLE_OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, json: true };

/**
 * Decodes switchyard.v1.ResolverTable bytes to the plain object resolverTableFromMessage reads
 * (the same conversion options as the server's decodeMessage). Throws on malformed bytes.
 */
export function decodeResolverTableBytes(bytes: Uint8Array): Record<string, unknown> {
  const t = type(RESOLVER_TABLE_MESSAGE);
  return t.toObject(t.decode(bytes), TABLE_OBJECT_OPTIONS);
}

/** JSON data as a google.protobuf.Struct object of the client root (node metadata). */
export function jsonToStruct(obj: Readonly<Record<string, unknown>>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = jsonToValue(v, k);
  return { fields };
}

function jsonToValue(v: unknown, at: string): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`node metadata ${at}: ${v} is not a finite number`);
      return { numberValue: v };
    case 'object':
      if (Array.isArray(v)) return { listValue: { values: v.map((x, i) => jsonToValue(x, `${at}[${i}]`)) } };
      return { structValue: jsonToStruct(v as Record<string, unknown>) };
    default:
      throw new TypeError(`node metadata ${at}: a ${typeof v} is not JSON data`);
  }
}
