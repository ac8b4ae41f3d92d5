// gRPC service definition for ADS. Requests are read by request-decoder.ts (the ACK hot path);
// responses are already encoded bytes (assembled from per-resource fragments), so serialization is
// the identity.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest } from './request-decoder.js';

export type { DecodedNode, DiscoveryRequest, DeltaDiscoveryRequest } from './request-types.js';

const identity = (b: Buffer): Buffer => b;

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
      requestDeserialize: decodeDeltaDiscoveryRequest,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}
