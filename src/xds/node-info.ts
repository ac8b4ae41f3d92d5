import type { DecodedNode } from './service.js';
import type { NodeInfo } from './provider.js';

type StructValue = { null_value?: unknown; number_value?: number; string_value?: string; bool_value?: boolean; struct_value?: { fields?: Record<string, StructValue> }; list_value?: { values?: StructValue[] } };

function fromValue(v: StructValue): unknown {
  if (v.string_value !== undefined && v.string_value !== '') return v.string_value;
  if (v.number_value !== undefined && v.number_value !== 0) return v.number_value;
  if (v.bool_value) return true;
  if (v.struct_value) return fromStruct(v.struct_value.fields);
  if (v.list_value) return (v.list_value.values ?? []).map(fromValue);
  if (v.bool_value === false) return false;
  if (v.number_value === 0) return 0;
  if (v.string_value === '') return '';
  return null;
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
