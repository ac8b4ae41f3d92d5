// Names and numbers shared by the compiled xDS resources, the resolver table and the resolver that
// reads it. Changing any of them changes the wire contract with clients.

/** Header the resolver sets on each request: "<objective>/<model>" (see routingKey()). */
export const ROUTING_KEY_HEADER = 'x-routing-key';
/** Header naming the objective; clients that do not resolve are routed on it to the default model. */
export const OBJECTIVE_HEADER = 'x-objective';
/** Response header Envoy adds on every route: the model whose route served the request. */
export const MODEL_RESPONSE_HEADER = 'x-switchyard-model';
/** gRPC status classes an objective's retries apply to. */
export const RETRY_ON = 'unavailable,resource-exhausted';
/** Default Listener / RouteConfiguration name (proxyless clients dial xds:///model-serving). */
export const DEFAULT_LISTENER_NAME = 'model-serving';
/** Users are hashed into this many buckets; experiment cells and shifts own half-open ranges of them. */
export const BUCKET_COUNT = 10_000;
