// Public API of the validate layer: schema validation of every resource Switchyard sends
// (protoc-gen-validate rules of the Envoy protos, Envoy's own checks) and the proxyless gRPC limits.
export { validateMessage, validateWithType, compiledTypeCount } from './pgv.js';
export { checkProxylessLimits } from './proxyless.js';
export {
  validateSnapshotInput,
  validateSnapshot,
  toSwitchyardErrors,
  formatViolation,
  codeOfRule,
  type ResourceViolation,
  type ValidateOptions,
} from './snapshot.js';
export { regexStats, regexEngine } from './regex.js';
export type { Violation } from './values.js';
export { ValidationMemo, withValidationMemo } from './memo.js';
