import { Redis } from 'ioredis';
import { RedisDefinitionCache } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import type { DefinitionCache } from '../ports';
import { definitionCacheContract } from './definition-cache.contract';
import { deleteKeysWithPrefix } from './redis-cleanup';

// The same contract MemoryDefinitionCache passes, against RedisDefinitionCache on a real Redis; change
// notices are the messages on its pub/sub channel.
definitionCacheContract('RedisDefinitionCache (real Redis)', async () => {
  const url = getServices().redisUrl;
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  const sub = new Redis(url, { maxRetriesPerRequest: 2 });
  const prefix = isolatedRedisPrefix();
  const impl = new RedisDefinitionCache(redis, prefix);
  const cache: DefinitionCache = impl;
  const notices: string[] = [];
  sub.on('message', (channel: string, message: string) => {
    if (channel === impl.keys.definitionsChannel()) notices.push(message);
  });
  await sub.subscribe(impl.keys.definitionsChannel());
  return {
    cache,
    notices: () => notices,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
      await Promise.all([redis.quit(), sub.quit()]);
    },
  };
});
