// Public API of the rollout layer: ordered, ACK-gated delivery of snapshots to the fleet (waves),
// traffic shifts that advance themselves, and the model-readiness gate. See docs/rollout.md.
export {
  RolloutProvider,
  refusedType,
  streamHolds,
  type FleetSource,
  type FleetStream,
  type HaltReason,
  type RolloutEvent,
  type RolloutProviderOptions,
  type RolloutState,
  type RolloutStatus,
  type RolloutSummary,
  type WaveState,
  type WaveStatus,
} from './provider.js';
export {
  DEFAULT_ROLLOUT_POLICY,
  NODE_BUCKETS,
  describePolicy,
  isCanary,
  nodeBucket,
  rolloutPolicy,
  rolloutPolicyOf,
  waveOf,
  type RolloutPolicySpec,
  type WaveSpec,
} from './policy.js';
export {
  ShiftScheduler,
  SHIFT_PROGRESS_FILE,
  shiftDigest,
  type ShiftCompileOptions,
  type ShiftEvent,
  type ShiftProgress,
  type ShiftProgressFile,
  type ShiftRunState,
  type ShiftSchedulerOptions,
  type ShiftSchedulerState,
  type ShiftView,
} from './shifts.js';
export {
  ReadinessGate,
  quorumOf,
  routedModels,
  type EndpointReadiness,
  type ModelReadiness,
  type Quorum,
  type ReadinessGateOptions,
  type ReadinessState,
  type ShardReadiness,
} from './readiness.js';
export {
  HealthClient,
  HealthStatusBoard,
  HEALTH_CHECK_PATH,
  HEALTH_SERVICE_NAME,
  ServingStatus,
  healthServiceDefinition,
  type HealthCheckResult,
  type ServingStatusName,
} from './health.js';
export { followRollout, resolverTableOf, rolloutCompileOptions, type LiveVersionSink, type RolloutCompileInputs } from './wiring.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { RolloutLayer, type RolloutLayerOptions, type RolloutLayerState } from './layer.js';
