// Public API of @tinycdp/embedded: the embedded backends (durable file log, in-memory state) that stand
// in for Kafka and Redis when no KAFKA_BROKERS / REDIS_URL is set. Contract suites live in src/contracts
// and are imported by path from tests only.
export { FileEventLog } from './file-event-log';
export type { FileEventLogOptions, TopicConfig, AppendRecord, AppendResult, LogRecoveryNote } from './file-event-log';
export { LogConsumer } from './log-consumer';
export type { LogRecord, ConsumeOptions, BatchContext, ConsumableLog } from './log-consumer';
export { EmbeddedEventSink, LogRecordSink } from './event-sinks';
export { MemoryProfileRepository, MESSAGE_ID_RETENTION_MS } from './memory-profile-repository';
export { MemoryDefinitionCache } from './memory-definition-cache';
export type { DefinitionChangeListener } from './memory-definition-cache';
export type {
  ProfileRepository,
  ProfileIndex,
  LoadedProfile,
  ProfileWrite,
  WriteResult,
  RecordSink,
  OutRecord,
  LogMessage,
  EventSink,
  DefinitionCache,
} from './ports';
export { MemoryRolloutStore } from './memory-rollout-store';
export { MemorySegmentMembers } from './memory-segment-members';
export type { FenceClaim, MembershipChange, RolloutStore, SegmentMembers } from './rollout-ports';
export { FileLogEventReader } from './file-log-reader';
