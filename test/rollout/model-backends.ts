// Model-serving backends for rollout tests: a real @grpc/grpc-js server on 127.0.0.1:0 that answers
// the echo method of the end-to-end suites (backend name + x-routing-key) and the standard gRPC
// health protocol (grpc.health.v1.Health/Check), with a settable status per model name.
import * as grpc from '@grpc/grpc-js';
import { bindServer, shutdownServer } from '../../src/util/grpc-server.js';
import { echoServiceDefinition, ROUTING_KEY_HEADER, type EchoReply } from '../helpers/grpc-backends.js';
import { HealthStatusBoard, healthServiceDefinition, type ServingStatusName } from '../../src/rollout/health.js';

export class ModelBackend {
  readonly health = new HealthStatusBoard();
  calls = 0;
  private readonly server = new grpc.Server();
  private boundPort = 0;
  private stopped = false;

  private constructor(readonly name: string) {
    this.server.addService(echoServiceDefinition, {
      Call: (call: grpc.ServerUnaryCall<Buffer, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        this.calls++;
        callback(null, { backend: this.name, routingKey: String(call.metadata.get(ROUTING_KEY_HEADER)[0] ?? ''), port: this.boundPort });
      },
    });
    this.server.addService(healthServiceDefinition, this.health.implementation());
  }

  static async start(name: string, models: Record<string, ServingStatusName> = {}): Promise<ModelBackend> {
    const b = new ModelBackend(name);
    for (const [m, s] of Object.entries(models)) b.health.set(m, s);
    b.boundPort = await bindServer(b.server, '127.0.0.1:0');
    return b;
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  stop(graceMs = 300): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    return shutdownServer(this.server, graceMs);
  }
}
