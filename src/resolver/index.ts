// Public API of the resolver: request context -> { routingKey, objectiveConfig }.
export { compileResolver, resolve, tableDigest } from './resolve.js';
export { validateContext, CONTEXT_FIELDS, type ResolveContext } from './context.js';
export { ResolveError, isResolveError, type ResolveErrorCode } from './errors.js';
export { murmur3_32, userBucket, hashPrefix, bucketWithPrefix, type HashPrefix } from './hash.js';
export { resolverTableToMessage, resolverTableFromMessage, RESOLVER_TABLE_RESOURCE_NAME, RESOLVER_TABLE_MESSAGE } from './table-message.js';
export {
  resolverServiceDefinition,
  resolverServiceImplementation,
  resolverClientConstructor,
  RESOLVER_SERVICE_NAME,
  RESOLVE_METHOD_PATH,
  RESOLVE_GRPC_STATUS,
  ERROR_CODE_METADATA_KEY,
} from './grpc-service.js';
export { handleResolveHttp, RESOLVE_HTTP_METHOD, RESOLVE_HTTP_PATH, RESOLVE_HTTP_STATUS, type ResolveHttpResponse, type HttpErrorBody } from './http-handler.js';
export { DECIDED_BY, type DecidedBy, type ObjectiveConfig, type ResolveResult, type Resolver, type ShiftSide } from './types.js';
