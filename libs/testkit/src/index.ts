// Test-only helpers shared by every integration test. Never imported by production code.
export { getServices, getSchemaRegistryUrl } from './services';
export type { TestServices } from './services';
export {
  uniqueId,
  isolatedTopicPrefix,
  isolatedGroupId,
  isolatedRedisPrefix,
  createIsolatedSchema,
} from './isolation';
export type { IsolatedSchema } from './isolation';
export { createTopics, deleteTopics } from './kafka-topics';
export { waitFor } from './wait-for';
export type { WaitForOptions } from './wait-for';
export { freePort } from './free-port';
export { startPrivateKafka, startPrivatePostgres, startPrivateRedis } from './private-backends';
export type { PrivateKafka, PrivatePostgres, PrivateRedis } from './private-backends';
