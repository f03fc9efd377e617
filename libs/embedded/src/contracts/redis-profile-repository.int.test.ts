import { Redis } from 'ioredis';
import { RedisProfileStore } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import type { ProfileIndex, ProfileRepository } from '../ports';
import { profileRepositoryContract } from './profile-repository.contract';
import { deleteKeysWithPrefix } from './redis-cleanup';

// The same contract MemoryProfileRepository passes, against RedisProfileStore on a real Redis.
profileRepositoryContract('RedisProfileStore (real Redis)', async () => {
  const redis = new Redis(getServices().redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const prefix = isolatedRedisPrefix();
  // Also proves at compile time that RedisProfileStore satisfies the port the embedded lib mirrors.
  const repo: ProfileRepository & ProfileIndex = new RedisProfileStore(redis, prefix);
  return {
    repo,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
});
