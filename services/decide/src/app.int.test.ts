/**
 * Decide against the real Redis: profiles written with the engine codec, definitions materialized with
 * RedisDefinitionCache (as the processor does), requests over HTTP.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stableBucket } from '@tinycdp/engine';
import { redisKeys } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix, waitFor } from '@tinycdp/testkit';
import type { DecideApp } from './app';
import {
  MemoryKeyVerifier,
  flag,
  putDefinitions,
  seedPlan,
  startSeededDecide,
  track,
  writeProfile,
  type SeededDecide,
} from './test-fixtures';

const READ = 'read-key';
const ADMIN = 'admin-key';
const WRITE = 'write-key';

let decide: SeededDecide | undefined;
let prefix: string;
let writer: Redis;
let app: DecideApp;
let base: string;

async function get(path: string, key: string | null = READ) {
  const res = await fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}, key: string | null = READ) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

beforeAll(async () => {
  prefix = isolatedRedisPrefix();
  const keys = new MemoryKeyVerifier().add(READ, 'read').add(ADMIN, 'admin').add(WRITE, 'write');
  decide = await startSeededDecide(getServices().redisUrl, prefix, keys);
  ({ writer, app, base } = decide);
  expect(app.flags.snapshot?.flagKeys).toContain('premium_features');
});

afterAll(async () => {
  await decide?.close();
});

describe('GET /v1/decide', () => {
  it('segment("vip_users") and trait("total_spent") >= 500 rules', async () => {
    const vip = await get('/v1/decide?userId=vip&flag=premium_features');
    expect(vip.status).toBe(200);
    expect(vip.body).toEqual({
      flag: 'premium_features',
      userId: 'vip',
      enabled: true,
      value: true,
      reason: 'TARGETING_MATCH',
      version: 1,
      ruleIndex: 0,
    });
    expect((await get('/v1/decide?userId=buyer&flag=premium_features')).body).toMatchObject({
      enabled: false,
      value: false,
      reason: 'DEFAULT',
      ruleIndex: null,
    });
    expect((await get('/v1/decide?userId=vip&flag=big_spender')).body).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect((await get('/v1/decide?userId=buyer&flag=big_spender')).body).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('full flag: first matching rule, context rule, rollout split, default, disabled', async () => {
    expect((await get('/v1/decide?userId=vip&flag=new_checkout')).body).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleIndex: 0, version: 7 });
    expect((await get('/v1/decide?userId=newbie&flag=new_checkout&context.country=DE')).body).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
      ruleIndex: 1,
    });
    expect((await get('/v1/decide?userId=newbie&flag=new_checkout')).body).toMatchObject({ value: false, reason: 'DEFAULT' });
    // 50% rollout among buyers, by stable hash of flag and user.
    const plan = seedPlan();
    const now = Date.now();
    const users = Array.from({ length: 12 }, (_, i) => `roll-${i}`);
    for (const u of users) await writeProfile(writer, prefix, plan, u, [track(u, 'purchase', now - 60_000, { amount: 1 })], now);
    const res = await post('/v1/decide', { userIds: users, flags: ['new_checkout'] });
    expect(res.status).toBe(200);
    const got = res.body.results.map((r: any) => [r.userId, r.flags.new_checkout.reason]);
    const want = users.map((u) => [u, stableBucket('new_checkout', u) < 5000 ? 'SPLIT' : 'DEFAULT']);
    expect(got).toEqual(want);
    expect(new Set(got.map((g: string[]) => g[1]))).toEqual(new Set(['SPLIT', 'DEFAULT']));
    expect((await get('/v1/decide?userId=vip&flag=kill_switch')).body).toMatchObject({ value: true, reason: 'DISABLED' });
  });

  it('string, number and object flags', async () => {
    expect((await get('/v1/decide?userId=vip&flag=banner_color')).body).toMatchObject({ value: 'gold', enabled: true });
    expect((await get('/v1/decide?userId=newbie&flag=banner_color&context.country=FR')).body).toMatchObject({ value: 'blue', ruleIndex: 1 });
    expect((await get('/v1/decide?userId=newbie&flag=banner_color')).body).toMatchObject({ value: 'gray', enabled: false, reason: 'DEFAULT' });
    expect((await get('/v1/decide?userId=vip&flag=discount_pct')).body).toMatchObject({ value: 15 });
    expect((await get('/v1/decide?userId=vip&flag=checkout_config')).body).toMatchObject({ value: { steps: 1, express: true } });
    expect((await get('/v1/decide?userId=buyer&flag=checkout_config')).body).toMatchObject({ value: { steps: 3, express: false } });
  });

  it('without flag: every flag for the user', async () => {
    const r = await get('/v1/decide?userId=vip');
    expect(r.status).toBe(200);
    expect(r.body.userId).toBe('vip');
    expect(Object.keys(r.body.flags)).toEqual([
      'banner_color',
      'big_spender',
      'checkout_config',
      'discount_pct',
      'kill_switch',
      'new_checkout',
      'premium_features',
    ]);
    expect(r.body.flags.premium_features).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
  });

  it('a rewritten profile is decided on its new state (never a stale decode)', async () => {
    const plan = seedPlan();
    const now = Date.now();
    await writeProfile(writer, prefix, plan, 'flipper', [track('flipper', 'purchase', now - 1000, { amount: 1 })], now);
    expect((await get('/v1/decide?userId=flipper&flag=premium_features')).body.value).toBe(false);
    expect((await get('/v1/decide?userId=flipper&flag=premium_features')).body.value).toBe(false);
    // Same _rev ('1'), different content: as after a delete and re-create.
    await writeProfile(writer, prefix, plan, 'flipper', [1, 2, 3].map((i) => track('flipper', 'purchase', now - i * 1000, { amount: 1 })), now);
    expect((await get('/v1/decide?userId=flipper&flag=premium_features')).body.value).toBe(true);
    await writer.del(redisKeys(prefix).profile('flipper'));
    expect((await get('/v1/decide?userId=flipper&flag=premium_features')).body.value).toBe(false);
  });

  it('unknown user: evaluated on an empty profile', async () => {
    expect((await get('/v1/decide?userId=nobody-ever&flag=premium_features')).body).toMatchObject({
      userId: 'nobody-ever',
      value: false,
      reason: 'DEFAULT',
    });
  });

  it('anonymousId: linked → the user profile; unlinked → its own profile', async () => {
    const keys = redisKeys(prefix);
    await writer.set(keys.link('anon-1'), 'vip');
    expect((await get('/v1/decide?anonymousId=anon-1&flag=premium_features')).body).toMatchObject({
      userId: 'vip',
      anonymousId: 'anon-1',
      value: true,
      reason: 'TARGETING_MATCH',
    });
    const plan = seedPlan();
    const now = Date.now();
    await writeProfile(writer, prefix, plan, 'anon-2', [1, 2, 3].map((i) => track('anon-2', 'purchase', now - i * 1000, { amount: 1 })), now);
    expect((await get('/v1/decide?anonymousId=anon-2&flag=premium_features')).body).toMatchObject({
      userId: null,
      anonymousId: 'anon-2',
      value: true,
    });
    // Ids needing key encoding (the script hands those back for a second read).
    await writeProfile(writer, prefix, plan, 'ü ser:1', [1, 2, 3].map((i) => track('ü ser:1', 'purchase', now - i * 1000, { amount: 1 })), now);
    await writer.set(keys.link('a{n}on 3'), 'ü ser:1');
    expect((await get(`/v1/decide?anonymousId=${encodeURIComponent('a{n}on 3')}&flag=premium_features`)).body).toMatchObject({
      userId: 'ü ser:1',
      value: true,
    });
    // Linked, but the user profile is not written yet: the anonymous profile still counts.
    await writer.set(keys.link('anon-2'), 'not-merged-yet');
    expect((await get('/v1/decide?anonymousId=anon-2&flag=premium_features')).body).toMatchObject({
      userId: 'not-merged-yet',
      value: true,
    });
    // POST mixes users and an anonymous id in one round trip.
    const r = await post('/v1/decide', { anonymousId: 'anon-1', userIds: ['buyer'], flags: ['premium_features'] });
    expect(r.body.results.map((x: any) => [x.userId, x.flags.premium_features.value])).toEqual([
      ['vip', true],
      ['buyer', false],
    ]);
  });

  it('POST with context and several flags', async () => {
    const r = await post('/v1/decide', { userId: 'newbie', flags: ['new_checkout', 'banner_color'], context: { country: 'FR' } });
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([
      {
        userId: 'newbie',
        flags: {
          new_checkout: { flag: 'new_checkout', enabled: false, value: false, reason: 'DEFAULT', version: 7, ruleIndex: null },
          banner_color: { flag: 'banner_color', enabled: true, value: 'blue', reason: 'TARGETING_MATCH', version: 1, ruleIndex: 1 },
        },
      },
    ]);
  });

  it('errors: auth, validation, unknown flag', async () => {
    const noKey = await get('/v1/decide?userId=vip', null);
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(noKey.body.error.code).toBe('unauthorized');
    expect((await get('/v1/decide?userId=vip', 'nope')).status).toBe(401);
    expect((await get('/v1/decide?userId=vip', WRITE)).status).toBe(403);
    expect((await get('/v1/decide?userId=vip&flag=premium_features', ADMIN)).status).toBe(200);
    const missing = await get('/v1/decide?flag=premium_features');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'validation_failed', details: { field: 'userId' } });
    expect(missing.body.error.message).toMatch(/userId/);
    const unknown = await get('/v1/decide?userId=vip&flag=nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'not_found', details: { errorCode: 'FLAG_NOT_FOUND', flags: ['nope'] } });
    expect((await post('/v1/decide', '{bad json')).status).toBe(400);
    expect((await post('/v1/decide', { userIds: [1] })).body.error.details).toEqual({ field: 'userIds[0]' });
    expect((await post('/v1/decide', { userId: 'u', pad: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await get('/v1/nothing')).status).toBe(404);
  });

  it('a definition change is live within 1 s (pub/sub)', async () => {
    const before = await get('/v1/decide?userId=newbie&flag=premium_features');
    expect(before.body.value).toBe(false);
    const started = Date.now();
    await putDefinitions(writer, prefix, [flag('premium_features', { version: 2, rules: [{ when: 'profile.plan == "free"', value: true }] })]);
    await waitFor(async () => (await get('/v1/decide?userId=newbie&flag=premium_features')).body.value === true, {
      timeoutMs: 1_000,
      intervalMs: 20,
      message: 'new premium_features rule',
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await get('/v1/decide?userId=newbie&flag=premium_features')).body.version).toBe(2);
    // A deletion (tombstone) removes the flag.
    await new (await import('@tinycdp/redis')).RedisDefinitionCache(writer, prefix).put('flag:discount_pct', 5, null);
    await waitFor(async () => (await get('/v1/decide?userId=vip&flag=discount_pct')).status === 404, { timeoutMs: 1_000, intervalMs: 20 });
    // Put it back the way other tests expect.
    await putDefinitions(writer, prefix, [flag('premium_features', { version: 3, rules: [{ when: 'segment("vip_users")', value: true }] })]);
    await waitFor(async () => (await get('/v1/decide?userId=newbie&flag=premium_features')).body.value === false, { timeoutMs: 1_000, intervalMs: 20 });
  });

  it('health and metrics', async () => {
    const h = await fetch(`${base}/decide/health`);
    expect(h.status).toBe(200);
    const body = (await h.json()) as any;
    expect(body).toMatchObject({ status: 'ok', service: 'decide', checks: { redis: { status: 'ok' }, definitions: { status: 'ok' } } });
    expect(typeof body.checks.redis.latencyMs).toBe('number');
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/tinycdp_decide_decisions_total\{reason="TARGETING_MATCH"\} \d+/);
    expect(m).toMatch(/tinycdp_decide_request_duration_seconds_bucket\{le="0.005",route="decide_get",status="2xx"\}/);
  });
});
