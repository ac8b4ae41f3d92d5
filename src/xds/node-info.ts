import type { DecodedNode } from './service.js';
import type { NodeInfo } from './provider.js';

// protobufjs' bundled google/protobuf/struct.proto names Value's fields in camelCase (it is not
// parsed with keepCase like the Envoy protos), so a decoded Value is { boolValue, stringValue, … }.
interface StructValue {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, StructValue> };
  listValue?: { values?: StructValue[] };
}

function fromValue(v: StructValue): unknown {
  switch (v.kind) {
    case 'stringValue':
      return v.stringValue;
    case 'numberValue':
      return v.numberValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return fromStruct(v.structValue?.fields);
    case 'listValue':
      return (v.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

function fromStruct(fields: Record<string, StructValue> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields ?? {})) out[k] = fromValue(v);
  return out;
}

export function nodeInfoFrom(node: DecodedNode | null | undefined): NodeInfo {
  const loc = node?.locality;
  return {
    id: node?.id ?? '',
    cluster: node?.cluster ?? '',
    locality: loc ? { region: loc.region ?? '', zone: loc.zone ?? '', sub_zone: loc.sub_zone ?? '' } : undefined,
    userAgent: [node?.user_agent_name, node?.user_agent_version].filter(Boolean).join('/'),
    metadata: node?.metadata ? fromStruct(node.metadata.fields as Record<string, StructValue>) : undefined,
  };
}

/** Proxyless gRPC clients never mean "wildcard" by an empty name list (design rule 5). */
export function isGrpcClient(node: NodeInfo): boolean {
  return /^gRPC\b/i.test(node.userAgent);
}
