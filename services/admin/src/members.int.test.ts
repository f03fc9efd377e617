import { Redis } from 'ioredis';
import { RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import { createIsolatedSchema, getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisReaders } from './features/rollout/create-rollout-readers';
import { startTestAdmin, type TestAdmin } from './internal/test-app';

// Admin over real Postgres + Redis: the membership index and rollout status the processor keeps in
// Redis are written here with the processor's own Redis classes, then read through admin's ports.
describe('segment members and rollout status (real Postgres + Redis)', () => {
  const redis = new Redis(getServices().redisUrl);
  const prefix = isolatedRedisPrefix();
  const members = new RedisSegmentMembers(redis, prefix);
  const rollout = new RedisRolloutStore(redis, prefix);
  let t: TestAdmin;
  let bare: TestAdmin;

  beforeAll(async () => {
    const url = getServices().databaseUrl;
    t = await startTestAdmin(url, await createIsolatedSchema(url), createRedisReaders(redis, prefix));
    bare = await startTestAdmin(url, await createIsolatedSchema(url));
  });
  afterAll(async () => {
    await t?.close();
    await bare?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('pages every member exactly once with an opaque cursor, and counts them', async () => {
    expect((await t.call('POST', '/v1/admin/segments', { key: 'vip', rule: 'events.purchase.count_30d >= 1' })).status).toBe(201);
    const ids = Array.from({ length: 23 }, (_, i) => `user-${String(i).padStart(2, '0')}`).concat(['a:{x} ü', 'Z']);
    await members.apply(ids.map((profileId) => ({ segment: 'vip', profileId, status: 'entered' as const })));
    await members.apply([{ segment: 'vip', profileId: 'user-05', status: 'exited' }]);
    const expected = ids.filter((i) => i !== 'user-05').sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=10&cursor=${cursor}` : '?limit=10';
      const r = await t.call('GET', `/v1/admin/segments/vip/members${q}`);
      expect(r.status).toBe(200);
      expect(r.body.segment).toBe('vip');
      seen.push(...r.body.items.map((i: { profileId: string }) => i.profileId));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);

    expect((await t.call('GET', '/v1/admin/segments/vip/count')).body).toEqual({ segment: 'vip', count: expected.length });
    const all = await t.call('GET', '/v1/admin/segments/vip/members');
    expect(all.body.items).toHaveLength(expected.length);
    expect(all.body.nextCursor).toBeNull();
  });

  it('answers 404 for unknown segments, 400 for bad limits and cursors, 503 without a membership index', async () => {
    expect((await t.call('GET', '/v1/admin/segments/nope/members')).status).toBe(404);
    expect((await t.call('GET', '/v1/admin/segments/nope/count')).status).toBe(404);
    const badLimit = await t.call('GET', '/v1/admin/segments/vip/members?limit=0');
    expect([badLimit.status, badLimit.body.error.details.field]).toEqual([400, 'limit']);
    const badCursor = await t.call('GET', '/v1/admin/segments/vip/members?cursor=%%%');
    expect([badCursor.status, badCursor.body.error.details.field]).toEqual([400, 'cursor']);
    expect((await bare.call('POST', '/v1/admin/segments', { key: 'vip', rule: 'events.purchase.count_30d >= 1' })).status).toBe(201);
    expect((await bare.call('GET', '/v1/admin/segments/vip/members')).status).toBe(503);
    expect((await t.call('GET', '/v1/admin/segments/vip/members', undefined, {}, null)).status).toBe(401);
  });

  it('shows the rollout status the processors report, per version', async () => {
    const created = await t.call('POST', '/v1/admin/traits', { key: 'spent_90d', expression: 'events.purchase.sum(properties.amount, 90d)' });
    expect(created.status).toBe(201);
    // Not picked up by a processor yet.
    const pending = await t.call('GET', '/v1/admin/traits/spent_90d');
    expect(pending.body).toMatchObject({ status: 'backfilling', progress: { phase: 'pending', reportedVersion: null } });

    await rollout.writeStatus({
      'trait:spent_90d': JSON.stringify({ status: 'backfilling', version: 1, planId: 'p1', phase: 'backfill', processed: 3, total: 10 }),
    });
    const running = await t.call('GET', '/v1/admin/traits/spent_90d');
    expect(running.body).toMatchObject({ status: 'backfilling', progress: { planId: 'p1', phase: 'backfill', processed: 3, total: 10 } });

    await rollout.writeStatus({
      'trait:spent_90d': JSON.stringify({ status: 'live', version: 1, planId: 'p1', phase: 'done', processed: 10, total: 10 }),
    });
    expect((await t.call('GET', '/v1/admin/traits/spent_90d')).body).toMatchObject({ status: 'live', progress: { processed: 10, total: 10 } });
    const list = await t.call('GET', '/v1/admin/traits');
    expect(list.body.items.find((i: { key: string }) => i.key === 'spent_90d')).toMatchObject({ status: 'live' });

    // A new version is pending again until a processor reports on it.
    const put = await t.call('PUT', '/v1/admin/traits/spent_90d', { expression: 'events.purchase.sum(properties.amount, 30d)' });
    expect(put.status).toBe(200);
    expect((await t.call('GET', '/v1/admin/traits/spent_90d')).body).toMatchObject({ status: 'backfilling', progress: { phase: 'pending', reportedVersion: 1 } });

    // Without a reader, the stored status stays.
    expect((await bare.call('GET', '/v1/admin/segments/vip')).body).toMatchObject({ status: 'live', progress: null });
  });
});
