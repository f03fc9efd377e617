export { createProcessor } from './app';
export type { Processor, ProcessorDeps, RolloutWiring } from './app';
export { KafkaEventSource, KafkaDefinitionSource, kafkaSink } from './consumer/kafka-sources';
export { kafkaEventSource } from './consumer/kafka-event-source';
export { fetchThreadSetting, fetchThreads } from './config';
export { KafkaEventLogReader } from './consumer/kafka-log-reader';
export { RolloutCoordinator } from './rollout/rollout-coordinator';
export type { RolloutOptions, RolloutStatus } from './rollout/rollout-coordinator';
export { PlanHolder } from './definitions/plan-holder';
export type { DefinitionMaterializer } from './definitions/plan-holder';
export { processBatch } from './pipeline/process-batch';
export { updateProfiles } from './pipeline/update-profiles';
export type { UpdateDeps, UpdateOptions, ProfileWork } from './pipeline/update-profiles';
export { foldPublished, reconcileWithPublished } from './pipeline/reconcile';
export type { PublishedProfile } from './pipeline/reconcile';
export { startProcessorHttp } from './http/server';
export { RedisEpochGuard, EpochGuardedRepository } from './safety/redis-epoch';
export { EpochGuardedRolloutStore, EpochGuardedSegmentMembers } from './safety/epoch-guarded-rollout';
export type {
  DefinitionSource,
  EventLogReader,
  EventSource,
  FenceClaim,
  MembershipChange,
  ProfileIndex,
  RolloutStore,
  SegmentMembersWriter,
  LagReport,
  LogMessage,
  LoadedProfile,
  OutRecord,
  ProfileRepository,
  ProfileWrite,
  RecordSink,
  WriteResult,
} from './ports';
