import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import { coalesceWrites } from './write-coalescing';

/** Counts the socket writes (one per syscall-level flush) the connection makes. */
function countWrites(redis: Redis): () => number {
  const s = (redis as unknown as { stream: { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } }).stream;
  let n = 0;
  for (const m of ['_write', '_writev'] as const) {
    const original = s[m].bind(s);
    s[m] = (...a: unknown[]) => {
      n++;
      original(...a);
    };
  }
  return () => n;
}

describe('coalesceWrites on a real Redis', () => {
  let redis: Redis;
  const prefix = isolatedRedisPrefix();

  beforeAll(async () => {
    redis = new Redis(getServices().redisUrl, { maxRetriesPerRequest: 0 });
    await redis.ping();
    await redis.set(`${prefix}k`, 'v');
  });
  afterAll(async () => {
    await redis.del(`${prefix}k`);
    redis.disconnect();
  });

  it('sends the commands of one event-loop turn in one socket write, each answered as usual', async () => {
    const writes = countWrites(redis);
    const replies: Promise<string | null>[] = [];
    for (let i = 0; i < 50; i++) {
      coalesceWrites(redis);
      replies.push(redis.get(`${prefix}k`));
    }
    expect(await Promise.all(replies)).toEqual(Array(50).fill('v'));
    expect(writes()).toBe(1);
  });

  it('without it, the same commands are written one by one (what the test above guards against)', async () => {
    const writes = countWrites(redis);
    const replies = Array.from({ length: 50 }, () => redis.get(`${prefix}k`));
    expect(await Promise.all(replies)).toEqual(Array(50).fill('v'));
    expect(writes()).toBeGreaterThan(10);
  });

  it('leaves a disconnected client alone (its commands fail as its options say)', async () => {
    const c = new Redis(getServices().redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    coalesceWrites(c);
    await expect(c.get(`${prefix}k`)).rejects.toThrow(/writeable|offline|connect/i);
    c.disconnect();
  });
});
