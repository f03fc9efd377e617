// Public API of @tinycdp/decide: build the service from its dependencies (the CLI's all-in-one mode
// and tests use this; services/decide/src/main.ts runs it standalone).
export { createDecideApp, decideRedisOptions, DEFAULT_REDIS_TIMEOUT_MS } from './app';
export type { DecideApp, DecideDeps } from './app';
export { FlagCache } from './flag-cache';
export type { FlagSnapshot, FlagCacheOptions } from './flag-cache';
export { parseConfig } from './config';
export type { DecideConfig } from './config';
export { redisDefinitionFeed } from './flag-cache';
export type { DefinitionFeed } from './flag-cache';
export type { ProfileSource, ResolvedProfile } from './profile-reader';
export type { Target } from './request';
