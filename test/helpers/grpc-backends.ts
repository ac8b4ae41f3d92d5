// Real gRPC backends for end-to-end tests: each is its own @grpc/grpc-js Server on 127.0.0.1 with
// one unary method that answers with the backend's name and the x-routing-key it received, and
// counts the calls it served. The service is a hand-written ServiceDefinition with raw bytes in and
// JSON bytes out, so no .proto file is needed.
import * as grpc from '@grpc/grpc-js';
import { bindServer, shutdownServer } from '../../src/util/grpc-server.js';

export const ECHO_METHOD_PATH = '/switchyard.test.Echo/Call';
export const ROUTING_KEY_HEADER = 'x-routing-key';

export interface EchoReply {
  /** Name of the backend that answered. */
  backend: string;
  /** The x-routing-key metadata the backend received ('' when absent). */
  routingKey: string;
  port: number;
}

const identity = (b: Buffer): Buffer => b;
const encodeReply = (r: EchoReply): Buffer => Buffer.from(JSON.stringify(r), 'utf8');
export const decodeReply = (b: Buffer): EchoReply => JSON.parse(b.toString('utf8')) as EchoReply;

export const echoServiceDefinition: grpc.ServiceDefinition = {
  Call: {
    path: ECHO_METHOD_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: encodeReply,
    responseDeserialize: decodeReply,
  },
};

export class EchoBackend {
  /** Calls served, in total and per routing key. */
  calls = 0;
  readonly callsByKey = new Map<string, number>();

  private readonly server = new grpc.Server();
  private boundPort = 0;

  private constructor(readonly name: string) {
    this.server.addService(echoServiceDefinition, {
      Call: (call: grpc.ServerUnaryCall<Buffer, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        const routingKey = String(call.metadata.get(ROUTING_KEY_HEADER)[0] ?? '');
        this.calls++;
        this.callsByKey.set(routingKey, (this.callsByKey.get(routingKey) ?? 0) + 1);
        callback(null, { backend: this.name, routingKey, port: this.boundPort });
      },
    });
  }

  get port(): number {
    return this.boundPort;
  }

  static async start(name: string): Promise<EchoBackend> {
    const backend = new EchoBackend(name);
    backend.boundPort = await bindServer(backend.server, '127.0.0.1:0');
    return backend;
  }

  /** Graceful shutdown, forced after `graceMs` (a test must never hang on a stuck connection). */
  stop(graceMs = 500): Promise<void> {
    return shutdownServer(this.server, graceMs);
  }
}

/** A named set of backends; stop() shuts every one down. */
export class EchoBackends {
  private readonly byName = new Map<string, EchoBackend>();

  static async start(names: readonly string[]): Promise<EchoBackends> {
    const set = new EchoBackends();
    for (const n of names) await set.add(n);
    return set;
  }

  async add(name: string): Promise<EchoBackend> {
    if (this.byName.has(name)) throw new Error(`backend ${name} already started`);
    const b = await EchoBackend.start(name);
    this.byName.set(name, b);
    return b;
  }

  get(name: string): EchoBackend {
    const b = this.byName.get(name);
    if (!b) throw new Error(`no backend named ${name}`);
    return b;
  }

  port(name: string): number {
    return this.get(name).port;
  }

  all(): EchoBackend[] {
    return [...this.byName.values()];
  }

  async stop(): Promise<void> {
    const all = this.all();
    this.byName.clear();
    await Promise.all(all.map((b) => b.stop()));
  }
}
