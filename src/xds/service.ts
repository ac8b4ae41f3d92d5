// gRPC service definition for ADS. State-of-the-world requests are read by request-decoder.ts (the
// ACK hot path), delta requests by protobufjs; responses are already encoded bytes (assembled from
// per-resource fragments), so serialization is the identity.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { messageType } from '../proto/messages.js';
import { decodeDiscoveryRequest } from './request-decoder.js';
import type { DeltaDiscoveryRequest } from './request-types.js';

export type { DecodedNode, DiscoveryRequest, DeltaDiscoveryRequest } from './request-types.js';

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
      requestDeserialize: decodeDiscoveryRequest,
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
