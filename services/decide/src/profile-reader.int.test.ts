import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProfileStore, redisKeys } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import { decideRedisOptions } from './app';
import { ProfileReader } from './profile-reader';

describe('ProfileReader: read-if-changed on the write id (real Redis)', () => {
  let redis: Redis;
  let writer: Redis;
  let redisUrl: string;
  const prefix = isolatedRedisPrefix();
  const keys = redisKeys(prefix);
  const user = { kind: 'user' as const, userId: 'u1' };

  beforeAll(async () => {
    redisUrl = getServices().redisUrl;
    redis = new Redis(redisUrl, decideRedisOptions(1_000));
    writer = new Redis(redisUrl);
    await new Promise((r) => redis.once('ready', r));
  });
  afterAll(async () => {
    const found = await writer.keys(`${prefix}*`);
    if (found.length > 0) await writer.del(...found);
    redis.disconnect();
    writer.disconnect();
  });

  const write = async (id: string, expectedRev: number, plan: string) => {
    const r = await new RedisProfileStore(writer, prefix).write({ id, expectedRev, set: { 'p:plan': plan }, del: [], messageIds: [], changes: [] }, Date.now());
    expect(r.ok).toBe(true);
  };

  it('answers fields: null only while the held write id is the current one', async () => {
    const reader = new ProfileReader(redis, keys, 1_000);
    await write('u1', 0, '1:"free"');
    const [first] = await reader.read([user]);
    const w1 = first!.fields!._w!;
    expect(w1).toMatch(/^\d+\.\d+\.1$/);
    expect((await reader.read([user], [w1]))[0]!.fields).toBeNull();
    // Another write: the held id is stale, the new fields come back (with the new write id).
    await write('u1', 1, '1:"premium"');
    const [changed] = await reader.read([user], [w1]);
    expect(changed!.fields!['p:plan']).toBe('1:"premium"');
    expect(changed!.fields!._w).not.toBe(w1);
    // Deleted and written again to the very same `_rev`: still a new write id.
    const w2 = changed!.fields!._w!;
    await writer.del(keys.profile('u1'));
    await write('u1', 0, '1:"premium"');
    const [again] = await reader.read([user], [w2]);
    expect(again!.fields).not.toBeNull();
    expect(again!.fields!._rev).toBe('1');
    expect(again!.fields!._w).not.toBe(w2);
    // Gone: empty fields, never "unchanged".
    await writer.del(keys.profile('u1'));
    expect((await reader.read([user], [again!.fields!._w!]))[0]!.fields).toEqual({});
  });

  it('the unbounded path (a connection without a command timeout) does the same', async () => {
    const plain = new Redis(redisUrl);
    try {
      const reader = new ProfileReader(plain, keys, 1_000);
      await write('u2', 0, '1:"free"');
      const id = { kind: 'user' as const, userId: 'u2' };
      const w = (await reader.read([id]))[0]!.fields!._w!;
      expect((await reader.read([id], [w]))[0]!.fields).toBeNull();
      expect((await reader.read([id], ['stale']))[0]!.fields!['p:plan']).toBe('1:"free"');
    } finally {
      plain.disconnect();
    }
  });
});
