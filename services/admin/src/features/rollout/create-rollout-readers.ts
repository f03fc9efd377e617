import type { Redis } from 'ioredis';
import { RedisSegmentMembers } from '@tinycdp/redis';
import type { SegmentMembersReader } from '../members/segment-members-reader.port';
import { RedisRolloutStatusReader } from './redis-rollout-status-reader';
import type { RolloutStatusReader } from './rollout-status-reader.port';

/** The Redis-backed readers admin shows processor-side state through (rollout status, members). */
export function createRedisReaders(redis: Redis, prefix: string): { rolloutStatus: RolloutStatusReader; members: SegmentMembersReader } {
  return { rolloutStatus: new RedisRolloutStatusReader(redis, prefix), members: new RedisSegmentMembers(redis, prefix) };
}
