// Public API of @tinycdp/admin (used by the all-in-one CLI and tests).
export { createAdminApp } from './app';
export type { AdminDeps } from './app';
export { parseConfig } from './config';
export type { AdminConfig } from './config';
export { startAdmin } from './main';
export { adminRegistry } from './metrics';
export { OutboxRelay } from './outbox/outbox-relay';
export type { OutboxRelayOptions } from './outbox/outbox-relay';
export type { DefinitionPublisher, DefinitionRecord } from './outbox/definition-publisher.port';
export { RecordingPublisher } from './outbox/recording-publisher';
export type { ProfileReader } from './features/profiles/profile-reader.port';
export type { RolloutStatusReader, ReportedRollout } from './features/rollout/rollout-status-reader.port';
export { RedisRolloutStatusReader, parseReport } from './features/rollout/redis-rollout-status-reader';
export { createRedisReaders } from './features/rollout/create-rollout-readers';
export type { SegmentMembersReader } from './features/members/segment-members-reader.port';
