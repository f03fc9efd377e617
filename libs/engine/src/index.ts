/**
 * @tinycdp/engine — the pure core: definitions → plan; events → profile state; state → traits,
 * segment membership changes, next due instant and flag decisions; profile codec for Redis hashes.
 * No I/O; time is always passed in as `now` (ms since the epoch).
 */
export { definitionTopicKey } from './definitions';
export type {
  Definition,
  DefinitionDeletion,
  DefinitionKind,
  FlagDefinition,
  FlagRule,
  FlagValueType,
  SegmentDefinition,
  TraitDefinition,
} from './definitions';

export { buildPlan, aggregationNeeds, isTimeMetric, propertyIdOf, seriesIdOf } from './plan';
export type {
  BuildPlanOptions,
  CompileFn,
  CompiledFlag,
  CompiledFlagRule,
  CompiledSegment,
  CompiledTrait,
  Plan,
  PlanProblem,
  PropertySpec,
  SeriesSpec,
} from './plan';

export {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  UNIT_MS,
  bucketIndex,
  bucketLeavesAt,
  bucketStart,
  daysAgo,
  elapsedNextChangeAt,
  elapsedUnits,
  inWindow,
  minutesAgo,
  nextChangeAt,
  oldestKeptBucket,
  trimBuckets,
  windowMs,
  windowNextChangeAt,
  windowRange,
  windowStartMs,
} from './window';
export type { TimeInput } from './window';

export { ANONYMOUS_IDS_CAP, DISTINCT_CAP, cloneProfile, emptyProfile } from './state';
export type { NumericStats, ProfileState, PropertyState, SeriesState, UnitBuckets } from './state';

export { needsEventBody } from './event-body';

export { applyEvents, distinctHash, eventNameOf, eventTimeOf, eventViewOf, prunePlan } from './apply';

export { DUE_HORIZON_MS, evaluateProfile, nextDueAt, retireProfile, segmentDueAt } from './evaluate';
export type { ChangeReason, EvaluationResult, SegmentChange } from './evaluate';

export { evaluateExpression, profileView } from './view';
export type { AggregateMemo, ExpressionResult, ProfileView } from './view';

export { ROLLOUT_BUCKETS, evaluateFlag, evaluateFlags, matchesValueType, stableBucket } from './flags';
export type { Decision, DecisionReason } from './flags';

export { canMerge, mergeProfiles } from './identity';

export { decodeProfile, encodeProfile, encodedFieldsDiff } from './codec';

export type {
  LoadedProfile,
  ProfileWrite,
  WriteResult,
  ProfileRepository,
  OutRecord,
  RecordSink,
  LogMessage,
  FenceClaim,
  RolloutStore,
  MembershipChange,
  SegmentMembersWriter,
} from './storage-ports';
