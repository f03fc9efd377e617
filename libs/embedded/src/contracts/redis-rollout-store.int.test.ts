import { Redis } from 'ioredis';
import { RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import type { RolloutStore, SegmentMembers } from '../rollout-ports';
import { rolloutStoreContract, segmentMembersContract } from './rollout-store.contract';
import { deleteKeysWithPrefix } from './redis-cleanup';

async function open<T>(make: (redis: Redis, prefix: string) => T) {
  const redis = new Redis(getServices().redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const prefix = isolatedRedisPrefix();
  return {
    store: make(redis, prefix),
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
}

// Typed against the mirrored ports: proves at compile time that the Redis classes satisfy them.
rolloutStoreContract('RedisRolloutStore (real Redis)', () => open((r, p): RolloutStore => new RedisRolloutStore(r, p)));
segmentMembersContract('RedisSegmentMembers (real Redis)', () => open((r, p): SegmentMembers => new RedisSegmentMembers(r, p)));
