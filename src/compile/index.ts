// Public API of the compile layer.
export { compile } from './compile.js';
export { routingKey, reachableModels } from './routing-keys.js';
export { routingKeyRouteName, fallbackRouteName } from './routes.js';
export { cellBuckets, shiftSalt } from './resolver-table.js';
export { migrationWeights } from './targets.js';
export { applyReadiness, readinessHolds, type ReadinessHold } from './readiness.js';
export {
  ROUTING_KEY_HEADER,
  OBJECTIVE_HEADER,
  MODEL_RESPONSE_HEADER,
  RETRY_ON,
  DEFAULT_LISTENER_NAME,
  BUCKET_COUNT,
} from './constants.js';
export type * from './types.js';
