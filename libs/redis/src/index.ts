export { redisKeys, encodeKeyPart } from './keys';
export type { RedisKeys } from './keys';
export { RedisProfileStore, MESSAGE_ID_RETENTION_MS } from './profile-store';
export type { StoredProfile, LoadedProfile, ProfileWrite, WriteResult } from './profile-store';
export { RedisDefinitionCache } from './definition-cache';
export { withScripts } from './scripts';
