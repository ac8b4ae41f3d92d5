// The standard gRPC health checking protocol (grpc.health.v1.Health/Check), client and server
// side, without a generated package: the messages come from proto/grpc/health/v1/health.proto
// (protobufjs), the service is a hand-written grpc-js ServiceDefinition.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';
export const HEALTH_CHECK_PATH = `/${HEALTH_SERVICE_NAME}/Check`;

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatusName = keyof typeof ServingStatus;
const STATUS_NAMES = Object.fromEntries(Object.entries(ServingStatus).map(([k, v]) => [v, k])) as Record<number, ServingStatusName>;

/** Same content as proto/grpc/health/v1/health.proto, used when the file is not shipped alongside. */
const FALLBACK_JSON = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { ...ServingStatus } } },
                },
              },
            },
          },
        },
      },
    },
  },
};

function protoFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/rollout -> ../../proto ; dist/rollout -> ../../proto
  return path.resolve(here, '..', '..', 'proto', 'grpc', 'health', 'v1', 'health.proto');
}

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;
function healthTypes(): { request: protobuf.Type; response: protobuf.Type } {
  if (!types) {
    const file = protoFile();
    const root = existsSync(file) ? new protobuf.Root().loadSync(file, { keepCase: true }) : protobuf.Root.fromJSON(FALLBACK_JSON);
    root.resolveAll();
    types = { request: root.lookupType('grpc.health.v1.HealthCheckRequest'), response: root.lookupType('grpc.health.v1.HealthCheckResponse') };
  }
  return types;
}

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatusName;
}

const encodeRequest = (r: HealthCheckRequest): Buffer => Buffer.from(healthTypes().request.encode({ service: r.service }).finish());
const decodeRequest = (b: Buffer): HealthCheckRequest => {
  const m = healthTypes().request.decode(b) as unknown as { service?: string };
  return { service: m.service ?? '' };
};
const encodeResponse = (r: HealthCheckResponse): Buffer => Buffer.from(healthTypes().response.encode({ status: ServingStatus[r.status] }).finish());
const decodeResponse = (b: Buffer): HealthCheckResponse => {
  const m = healthTypes().response.decode(b) as unknown as { status?: number };
  return { status: STATUS_NAMES[m.status ?? 0] ?? 'UNKNOWN' };
};

/** grpc-js service definition of grpc.health.v1.Health (Check only), for servers and clients. */
export const healthServiceDefinition: grpc.ServiceDefinition = {
  Check: {
    path: HEALTH_CHECK_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
};

/**
 * Server side: a settable status per service name ("" is the server as a whole). A service never
 * set answers NOT_FOUND, as the protocol specifies.
 */
export class HealthStatusBoard {
  private readonly statuses = new Map<string, ServingStatusName>();

  set(service: string, status: ServingStatusName): void {
    this.statuses.set(service, status);
  }

  clear(service: string): void {
    this.statuses.delete(service);
  }

  get(service: string): ServingStatusName | undefined {
    return this.statuses.get(service);
  }

  /** The implementation to add with server.addService(healthServiceDefinition, board.implementation()). */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      Check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        else callback(null, { status });
      },
    };
  }
}

export type HealthCheckResult = { readonly ok: true; readonly status: ServingStatusName } | { readonly ok: false; readonly code: number; readonly error: string };

/** Client side: one connection per endpoint, reused across checks. */
export class HealthClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      // Probes must not wait out long reconnect backoffs: a restarted endpoint is seen quickly.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  check(service: string, timeoutMs: number): Promise<HealthCheckResult> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        HEALTH_CHECK_PATH,
        encodeRequest,
        decodeResponse,
        { service },
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) resolve({ ok: false, code: err.code ?? grpc.status.UNKNOWN, error: `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}` });
          else resolve({ ok: true, status: res?.status ?? 'UNKNOWN' });
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
