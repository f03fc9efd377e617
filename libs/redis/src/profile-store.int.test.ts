import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { getServices, isolatedRedisPrefix, startPrivateRedis, type PrivateRedis } from '@tinycdp/testkit';
import { RedisProfileStore } from './profile-store';
import { redisKeys } from './keys';

// What the shared ProfileRepository contract (libs/embedded) does not reach: the packed arguments of
// load-profile.lua / apply-profile.lua (JSON decoded by cjson in Redis), thousands of ids in one call
// (Lua's unpack limit), the NOSCRIPT fallback, and schedule batching.

const NOW = Date.now();
const write = (id: string, expectedRev: number, w: { set?: Record<string, string>; del?: string[]; messageIds?: string[]; changes?: string[] }) => ({
  id,
  expectedRev,
  set: w.set ?? {},
  del: w.del ?? [],
  messageIds: w.messageIds ?? [],
  changes: w.changes ?? [],
});

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

describe('RedisProfileStore on a real Redis', () => {
  let redis: Redis;
  const prefix = isolatedRedisPrefix();
  let store: RedisProfileStore;

  beforeAll(async () => {
    redis = new Redis(getServices().redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
    store = new RedisProfileStore(redis, prefix);
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('stores any string exactly as a plain command argument would (quotes, NUL, emoji, lone surrogates)', async () => {
    const odd = ['"quoted" \\ back', 'nul\u0000inside', 'emoji 😀 é', 'lone \ud800 high', 'lone \udc00 low', '\u001f ctl', ''];
    const set: Record<string, string> = {};
    odd.forEach((v, i) => (set[`f${i}:${v}`] = v));
    const id = `odd-${odd[0]}`;
    const ids = odd.map((v, i) => `m${i}-${v}`);
    const change = JSON.stringify({ segment: 'x', note: odd.join('|') });
    const r = await store.write(write(id, 0, { set, messageIds: ids, changes: [change] }), NOW);
    expect(r).toEqual({ ok: true, rev: 1, pending: [change] });

    // What plain HSET / ZADD arguments store for the same strings (ioredis writes them as UTF-8).
    const probe = `${prefix}probe`;
    await redis.hset(probe, set);
    const expected = await redis.hgetallBuffer(probe);
    const stored = await redis.hgetallBuffer(redisKeys(prefix).profile(id));
    delete stored['_rev'];
    delete stored['_w'];
    expect(stored).toEqual(expected);

    const loaded = (await store.load([{ id, messageIds: [...ids, 'never-applied'] }])).get(id)!;
    expect(loaded.rev).toBe(1);
    expect([...loaded.seen].sort()).toEqual([...ids].sort());
    expect(loaded.pending).toEqual([change]);
    // Fields read back are the well-formed strings (a lone surrogate is stored as U+FFFD).
    const fix = (s: string) => Buffer.from(s, 'utf8').toString('utf8'); // what a plain argument round-trips to
    expect(loaded.fields).toEqual(Object.fromEntries(Object.entries(set).map(([k, v]) => [fix(k), fix(v)])));
  });

  it('applies and recognises thousands of message ids in one call', async () => {
    const id = 'many-ids';
    const ids = Array.from({ length: 12_000 }, (_, i) => `msg-${i}`);
    const set: Record<string, string> = {};
    for (let i = 0; i < 5_000; i++) set[`c:s${i}`] = String(i);
    const r = await store.write(write(id, 0, { set, messageIds: ids }), NOW);
    expect(r.ok).toBe(true);
    expect(await redis.zcard(redisKeys(prefix).messageIds(id))).toBe(12_000);
    expect(await redis.hlen(redisKeys(prefix).profile(id))).toBe(5_002); // + _rev, _w
    const loaded = (await store.load([{ id, messageIds: [...ids, 'other'] }])).get(id)!;
    expect(loaded.seen.size).toBe(12_000);
    expect(loaded.seen.has('other')).toBe(false);
    const del = Object.keys(set).slice(0, 4_500);
    expect((await store.write(write(id, 1, { del }), NOW)).ok).toBe(true);
    expect(await redis.hlen(redisKeys(prefix).profile(id))).toBe(502);
  });

  it('refuses a stale revision without writing anything', async () => {
    const id = 'cas';
    expect((await store.write(write(id, 0, { set: { a: '1' } }), NOW)).ok).toBe(true);
    expect(await store.write(write(id, 0, { set: { a: '2' }, messageIds: ['x'], changes: ['{}'] }), NOW)).toEqual({ ok: false, currentRev: 1 });
    const p = (await store.load([{ id, messageIds: ['x'] }])).get(id)!;
    expect(p).toMatchObject({ rev: 1, fields: { a: '1' }, pending: [] });
    expect(p.seen.size).toBe(0);
  });

  it('every write sets a write id `_w` of its own, also after a delete back to the same `_rev`; load() leaves it out', async () => {
    const id = 'write-ids';
    const key = redisKeys(prefix).profile(id);
    const seen = new Set<string>();
    expect((await store.write(write(id, 0, { set: { a: '1' } }), NOW)).ok).toBe(true);
    seen.add((await redis.hget(key, '_w'))!);
    expect((await store.write(write(id, 1, { set: { a: '2' } }), NOW)).ok).toBe(true);
    seen.add((await redis.hget(key, '_w'))!);
    await store.remove(id);
    expect((await store.write(write(id, 0, { set: { a: '1' } }), NOW)).ok).toBe(true);
    seen.add((await redis.hget(key, '_w'))!);
    expect(await redis.hget(key, '_rev')).toBe('1');
    expect(seen.size).toBe(3);
    for (const w of seen) expect(w).toMatch(/^\d+\.\d+\.[12]$/);
    expect((await store.load([{ id }])).get(id)!.fields).toEqual({ a: '1' });
  });

  it('schedules in order: the last entry of an id wins, across adds and removals', async () => {
    const keys = redisKeys(prefix);
    await store.schedule([
      { partition: 0, id: 'a', dueAt: 10 },
      { partition: 0, id: 'b', dueAt: 20 },
      { partition: 0, id: 'a', dueAt: 30 },
      { partition: 1, id: 'c', dueAt: 5 },
      { partition: 0, id: 'b', dueAt: null },
      { partition: 0, id: 'b', dueAt: 40 },
      { partition: 1, id: 'c', dueAt: null },
      { partition: 0, id: 'd', dueAt: 50 },
      { partition: 0, id: 'd', dueAt: null },
    ]);
    expect(await redis.zrange(keys.schedule(0), 0, -1, 'WITHSCORES')).toEqual(['a', '30', 'b', '40']);
    expect(await redis.zcard(keys.schedule(1))).toBe(0);
  });
});

describe('RedisProfileStore script calls of one tick', () => {
  let redis: Redis;
  const prefix = isolatedRedisPrefix();

  beforeAll(() => {
    redis = new Redis(getServices().redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('go out as one pipeline, and each call gets its own reply or its own error', async () => {
    const store = new RedisProfileStore(redis, prefix);
    await redis.set(store.keys.profile('bad'), 'not a hash');
    const pipeline = redis.pipeline.bind(redis);
    let pipelines = 0;
    redis.pipeline = ((...args: Parameters<typeof pipeline>) => {
      pipelines++;
      return pipeline(...args);
    }) as typeof redis.pipeline;
    try {
      const writes = Array.from({ length: 50 }, (_, i) => store.write(write(`p${i}`, 0, { set: { v: String(i) }, messageIds: [`m${i}`] }), NOW));
      const conflict = store.write(write('p0', 5, { set: { v: 'x' } }), NOW);
      const bad = store.load([{ id: 'bad' }]);
      bad.catch(() => undefined);
      expect(pipelines).toBe(0); // queued until the tick ends (the index SADDs of new profiles too)
      const results = await Promise.all(writes);
      expect(pipelines).toBe(1);
      expect(results.every((r) => r.ok && r.rev === 1)).toBe(true);
      // In issue order: p0 was written first in the same pipeline.
      expect(await conflict).toEqual({ ok: false, currentRev: 1 });
      await expect(bad).rejects.toThrow(/WRONGTYPE/);
      const loaded = await store.load(Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, messageIds: [`m${i}`, 'other'] })));
      for (let i = 0; i < 50; i++) {
        expect(loaded.get(`p${i}`)!.fields['v']).toBe(String(i));
        expect([...loaded.get(`p${i}`)!.seen]).toEqual([`m${i}`]);
      }
    } finally {
      redis.pipeline = pipeline;
    }
  });
});

describe('RedisProfileStore scripts after the script cache was emptied', () => {
  let priv: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    // A private server: SCRIPT FLUSH must not disturb anyone else's scripts.
    priv = await startPrivateRedis();
    redis = new Redis(priv.url, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    redis.disconnect();
    await priv.stop();
  });

  it('falls back to EVAL on NOSCRIPT, for loads and writes', async () => {
    const store = new RedisProfileStore(redis, 't:');
    await redis.script('FLUSH');
    expect((await store.load([{ id: 'p', messageIds: ['m'] }])).get('p')!.rev).toBe(0);
    await redis.script('FLUSH');
    expect(await store.write(write('p', 0, { set: { v: '1' }, messageIds: ['m'] }), NOW)).toEqual({ ok: true, rev: 1, pending: [] });
    await redis.script('FLUSH');
    const p = (await store.load([{ id: 'p', messageIds: ['m'] }])).get('p')!;
    expect(p.rev).toBe(1);
    expect([...p.seen]).toEqual(['m']);
  });
});
