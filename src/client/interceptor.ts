// A grpc-js client interceptor bound to one routing decision: it sets x-routing-key and
// x-objective on the call's metadata, reads the model the server reports (x-switchyard-model) and
// hands the outcome to a callback when the call ends.
import * as grpc from '@grpc/grpc-js';
import type { ResolveResult } from '../resolver/types.js';
import { OBJECTIVE_HEADER, ROUTING_KEY_HEADER, routingHeaders, SERVED_MODEL_HEADER, type ServeOutcome } from './reporting.js';

/** A grpc-js interceptor carrying the decision it applies. */
export type RoutingInterceptor = grpc.Interceptor & { readonly result: ResolveResult };

export interface RoutingInterceptorOptions {
  /** Called once when the call ends (status received), with what the call reported. */
  onDone?: (outcome: ServeOutcome) => void;
  /** Response header naming the model that served. Default x-switchyard-model. */
  servedModelHeader?: string;
}

function firstString(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * An interceptor that routes one call by `result`. Pass it per call:
 * `stub.method(req, { interceptors: [routingInterceptor(result)] }, cb)`. Headers already present
 * with the same names are replaced.
 */
export function routingInterceptor(result: ResolveResult, options: RoutingInterceptorOptions = {}): RoutingInterceptor {
  const headers = routingHeaders(result);
  const servedHeader = options.servedModelHeader ?? SERVED_MODEL_HEADER;
  const onDone = options.onDone;
  const interceptor: grpc.Interceptor = (callOptions, nextCall) => {
    let servedModel: string | undefined;
    let startedAt = 0;
    const requester: grpc.Requester = {
      start(metadata, listener, next) {
        metadata.set(ROUTING_KEY_HEADER, headers[ROUTING_KEY_HEADER]);
        metadata.set(OBJECTIVE_HEADER, headers[OBJECTIVE_HEADER]);
        startedAt = performance.now();
        if (!onDone) {
          next(metadata, listener);
          return;
        }
        next(metadata, {
          onReceiveMetadata(md, nextMd) {
            servedModel = firstString(md, servedHeader) ?? servedModel;
            nextMd(md);
          },
          onReceiveMessage(message, nextMessage) {
            nextMessage(message);
          },
          onReceiveStatus(status, nextStatus) {
            // A trailers-only response (an error before any message) carries the header in the status.
            servedModel ??= firstString(status.metadata, servedHeader);
            try {
              onDone({
                ...(servedModel !== undefined ? { servedModel } : {}),
                ok: status.code === grpc.status.OK,
                grpcCode: status.code,
                latencyMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
              });
            } catch {
              // A reporting listener must never break the call.
            }
            nextStatus(status);
          },
        });
      },
    };
    return new grpc.InterceptingCall(nextCall(callOptions), requester);
  };
  return Object.assign(interceptor, { result });
}
