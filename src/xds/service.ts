// gRPC service definition for ADS. Requests are decoded with protobufjs; responses are already
// encoded bytes (assembled from per-resource fragments), so serialization is the identity.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { messageType } from '../proto/messages.js';

export interface DecodedNode {
  id: string;
  cluster: string;
  locality?: { region?: string; zone?: string; sub_zone?: string } | null;
  user_agent_name: string;
  user_agent_version?: string;
  metadata?: { fields?: Record<string, unknown> } | null;
}

export interface DiscoveryRequest {
  version_info: string;
  node?: DecodedNode | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
}

export interface DeltaDiscoveryRequest {
  node?: DecodedNode | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
}

const identity = (b: Buffer): Buffer => b;

function decoder<T>(typeName: string): (b: Buffer) => T {
  const type = messageType(typeName);
  return (b: Buffer) => type.decode(b) as unknown as T;
}

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export function adsServiceDefinition(): ServiceDefinition {
  return {
    StreamAggregatedResources: {
      path: `/${ADS_SERVICE_NAME}/StreamAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: decoder<DiscoveryRequest>('envoy.service.discovery.v3.DiscoveryRequest'),
      responseSerialize: identity,
      responseDeserialize: identity,
    },
    DeltaAggregatedResources: {
      path: `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: decoder<DeltaDiscoveryRequest>('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}
