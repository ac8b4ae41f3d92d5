// Model servers for the demo: one @grpc/grpc-js server per shard (a VIP) on 127.0.0.1, port 0.
// A shard hosts several models (ranking-a hosts cw-ranker-v1 and cw-ranker-v2), so a server picks
// the model from the request's x-routing-key ("<objective>/<model>"), refuses a model it does not
// host (NOT_FOUND: the request reached the wrong shard), and answers with the model's name in the
// reply and in the x-switchyard-model response header, which the client library records.
import * as grpc from '@grpc/grpc-js';
import { bindServer, shutdownServer } from '../util/grpc-server.js';
import { ROUTING_KEY_HEADER, SERVED_MODEL_HEADER } from '../client/reporting.js';

export const PREDICT_METHOD_PATH = '/switchyard.demo.ModelServing/Predict';

export interface PredictReply {
  /** The model that served. */
  model: string;
  /** The shard (VIP) whose server answered. */
  shard: string;
  routingKey: string;
}

const identity = (b: Buffer): Buffer => b;
export const encodePredictReply = (r: PredictReply): Buffer => Buffer.from(JSON.stringify(r), 'utf8');
export const decodePredictReply = (b: Buffer): PredictReply => JSON.parse(b.toString('utf8')) as PredictReply;

const serviceDefinition: grpc.ServiceDefinition = {
  Predict: {
    path: PREDICT_METHOD_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: encodePredictReply,
    responseDeserialize: decodePredictReply,
  },
};

export class ShardServer {
  /** Calls answered, per model. */
  readonly served = new Map<string, number>();
  /** Calls refused (a model this shard does not host, or no routing key). */
  refused = 0;
  private readonly server = new grpc.Server();
  private boundPort = 0;

  private constructor(
    readonly shard: string,
    readonly models: ReadonlySet<string>,
  ) {
    this.server.addService(serviceDefinition, {
      Predict: (call: grpc.ServerUnaryCall<Buffer, PredictReply>, callback: grpc.sendUnaryData<PredictReply>) => {
        const routingKey = String(call.metadata.get(ROUTING_KEY_HEADER)[0] ?? '');
        const model = routingKey.slice(routingKey.indexOf('/') + 1);
        if (!routingKey.includes('/') || !this.models.has(model)) {
          this.refused++;
          callback({ code: grpc.status.NOT_FOUND, details: `shard ${shard} does not host "${model || routingKey}"` });
          return;
        }
        this.served.set(model, (this.served.get(model) ?? 0) + 1);
        const md = new grpc.Metadata();
        md.set(SERVED_MODEL_HEADER, model);
        call.sendMetadata(md);
        callback(null, { model, shard, routingKey });
      },
    });
  }

  get port(): number {
    return this.boundPort;
  }

  static async start(shard: string, models: Iterable<string>): Promise<ShardServer> {
    const s = new ShardServer(shard, new Set(models));
    s.boundPort = await bindServer(s.server, '127.0.0.1:0');
    return s;
  }

  /** Graceful, forced after `graceMs`. */
  stop(graceMs = 500): Promise<void> {
    return shutdownServer(this.server, graceMs);
  }
}
