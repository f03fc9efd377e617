export { createProcessor } from './app';
export type { Processor, ProcessorDeps } from './app';
export { KafkaEventSource, KafkaDefinitionSource, kafkaSink } from './consumer/kafka-sources';
export { PlanHolder } from './definitions/plan-holder';
export type { DefinitionMaterializer } from './definitions/plan-holder';
export { processBatch } from './pipeline/process-batch';
export { updateProfiles } from './pipeline/update-profiles';
export type { UpdateDeps, ProfileWork } from './pipeline/update-profiles';
export { foldPublished, reconcileWithPublished } from './pipeline/reconcile';
export type { PublishedProfile } from './pipeline/reconcile';
export { startProcessorHttp } from './http/server';
export type {
  DefinitionSource,
  EventSource,
  LagReport,
  LogMessage,
  LoadedProfile,
  OutRecord,
  ProfileRepository,
  ProfileWrite,
  RecordSink,
  WriteResult,
} from './ports';
