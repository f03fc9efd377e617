/**
 * `tinycdp rebuild` against a running all-in-one server (found through <dataDir>/server.json).
 * Embedded backends: the server rebuilds its in-memory state beside the live one and switches over;
 * decide keeps answering correctly throughout, and events sent afterwards count on top.
 * Real backends (Redis state): the server refuses (that rebuild needs the processors stopped).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsolatedSchema, getServices, isolatedRedisPrefix, isolatedTopicPrefix, waitFor, deleteTopics, type IsolatedSchema } from '@tinycdp/testkit';
import { topicNames } from '@tinycdp/kafka';
import { startAllInOne, type RunningTinyCdp } from '../compose/all-in-one';
import { captureIo } from '../internal/capture-io';
import { rebuildCommand } from './rebuild';

const adminKey = `tcdp_rebuild_${Date.now()}_0123456789`;
const auth = { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' };
const USERS = Array.from({ length: 30 }, (_, i) => `r${String(i).padStart(2, '0')}`);
/** Purchases sent per user (some enter the segment, some not). */
const bought = new Map(USERS.map((u, i) => [u, i % 5]));

async function api(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { ...init, headers: auth, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function purchases(url: string, counts: ReadonlyMap<string, number>, tag: string): Promise<void> {
  const batch = [...counts].flatMap(([u, n]) =>
    Array.from({ length: n }, (_, k) => ({ type: 'track', userId: u, event: 'purchase', properties: { amount: 25 }, messageId: `${tag}-${u}-${k}` })),
  );
  const identifies = USERS.filter((_, i) => i % 3 === 0).map((u) => ({ type: 'identify', userId: u, traits: { plan: 'premium' }, messageId: `${tag}-id-${u}` }));
  const res = await api(url, '/v1/batch', { method: 'POST', body: JSON.stringify({ batch: [...batch, ...(tag === 'first' ? identifies : [])] }) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Users with at least one event (purchases, or the identify of every third user). */
const ACTIVE = USERS.filter((u, i) => bought.get(u)! > 0 || i % 3 === 0);

/** What decide and admin say about every active user (admin's `at` is the read instant, left out). */
async function observe(url: string): Promise<Record<string, any>> {
  const out: Record<string, any> = {};
  for (const u of ACTIVE) {
    const p = await api(url, `/v1/admin/profiles/${u}`);
    expect(p.status).toBe(200);
    const { at: _at, ...profile } = p.body as Record<string, unknown>;
    const d = await api(url, `/v1/decide?userId=${u}`);
    expect(d.status).toBe(200);
    out[u] = { profile, decide: d.body };
  }
  out['members:buyer3'] = (await api(url, '/v1/admin/segments/buyer3/members')).body;
  return out;
}

describe('tinycdp rebuild against an embedded server', () => {
  let dataDir = '';
  let running: RunningTinyCdp | null = null;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tinycdp-rebuild-embedded-'));
    running = await startAllInOne(
      { KAFKA_BROKERS: '', REDIS_URL: '', DATABASE_URL: '', TINYCDP_DATA_DIR: dataDir, TINYCDP_ADMIN_KEY: adminKey, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
      { logger: pino({ level: 'silent' }) },
    );
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('rebuilds and switches over: same traits and segments, decide correct throughout, later events on top', async () => {
    const url = running!.url;
    for (const [path, body] of [
      ['/v1/admin/traits', { key: 'buys', expression: 'events.purchase.count_30d' }],
      ['/v1/admin/traits', { key: 'spent', expression: 'events.purchase.sum(properties.amount, 30d)' }],
      ['/v1/admin/segments', { key: 'buyer3', rule: 'events.purchase.count_30d >= 3' }],
      ['/v1/admin/segments', { key: 'premium', rule: 'profile.plan in ["premium", "enterprise"]' }],
      ['/v1/admin/flags', { key: 'vip', rule: 'segment("buyer3") && segment("premium")' }],
      ['/v1/admin/flags', { key: 'big', rule: 'trait("spent") >= 75' }],
    ] as const) {
      const r = await api(url, path, { method: 'POST', body: JSON.stringify(body) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await purchases(url, bought, 'first');
    await waitFor(
      async () => {
        for (const u of ACTIVE) {
          const p = await api(url, `/v1/admin/profiles/${u}`);
          if (p.status !== 200 || p.body.traits.buys !== bought.get(u)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'every event counted' },
    );
    const before = await observe(url);
    const vip = ACTIVE.filter((u) => before[u].decide.flags.vip.enabled === true);
    const big = ACTIVE.filter((u) => before[u].decide.flags.big.enabled === true);
    expect(vip.length).toBeGreaterThan(0);
    expect(big.length).toBeGreaterThan(vip.length);
    expect(big.length).toBeLessThan(ACTIVE.length);

    // Decide, concurrently with the rebuild: every answer 200 with the value it had before.
    let reading = true;
    const answers: { user: string; status: number; body: any }[] = [];
    const readers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; reading; i++) {
        const user = ACTIVE[i % ACTIVE.length]!;
        const d = await api(url, `/v1/decide?userId=${user}`);
        answers.push({ user, ...d });
      }
    });
    const io = captureIo();
    const code = await rebuildCommand.runWith([], { TINYCDP_DATA_DIR: dataDir }, io);
    const duringRebuild = answers.length;
    reading = false;
    await Promise.all(readers);
    expect(code, io.err()).toBe(0);
    expect(io.out()).toMatch(/rebuilt and switched over in \d+ ms/);
    console.log(`[rebuild] embedded rebuild: ${io.out().trim().split('\n').pop()}; ${duringRebuild} decide answers during it`);
    expect(duringRebuild).toBeGreaterThan(0);
    for (const a of answers) {
      expect(a.status, `decide for ${a.user}`).toBe(200);
      expect(a.body, `decide for ${a.user} during the rebuild`).toEqual(before[a.user].decide);
    }

    expect(await observe(url)).toEqual(before);

    // Events after the rebuild count on top of the rebuilt state.
    const more = new Map(USERS.slice(0, 5).map((u) => [u, 2]));
    await purchases(url, more, 'second');
    await waitFor(
      async () => {
        for (const [u, n] of more) if ((await api(url, `/v1/admin/profiles/${u}`)).body?.traits?.buys !== bought.get(u)! + n) return false;
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: 'events after the rebuild counted on top' },
    );
    for (const u of USERS.slice(5)) expect((await api(url, `/v1/admin/profiles/${u}`)).body?.traits?.buys ?? 0).toBe(bought.get(u));
  }, 60_000);
});

describe('tinycdp rebuild against a server with Redis state', () => {
  const services = getServices();
  const topicPrefix = isolatedTopicPrefix();
  const redisPrefix = isolatedRedisPrefix();
  let schema: IsolatedSchema | null = null;
  let dataDir = '';
  let running: RunningTinyCdp | null = null;

  afterAll(async () => {
    await running?.stop();
    await schema?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    const redis = new Redis(services.redisUrl);
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
    await deleteTopics(services.kafkaBrokers, Object.values(topicNames(topicPrefix))).catch(() => undefined);
  });

  it('refuses (it would have to stop its own processor) and says what to do', async () => {
    schema = await createIsolatedSchema(services.databaseUrl);
    dataDir = await mkdtemp(join(tmpdir(), 'tinycdp-rebuild-redis-'));
    running = await startAllInOne(
      {
        KAFKA_BROKERS: services.kafkaBrokers.join(','),
        REDIS_URL: services.redisUrl,
        DATABASE_URL: schema.url,
        TINYCDP_TOPIC_PREFIX: topicPrefix,
        TINYCDP_REDIS_PREFIX: redisPrefix,
        TINYCDP_PROCESSOR_GROUP: `g-${Date.now()}`,
        TINYCDP_PARTITIONS: '1',
        TINYCDP_MIGRATE: 'true',
        TINYCDP_DATA_DIR: dataDir,
        TINYCDP_ADMIN_KEY: adminKey,
        PORT: '0',
        HOST: '127.0.0.1',
      },
      { logger: pino({ level: 'silent' }) },
    );
    const io = captureIo();
    const code = await rebuildCommand.runWith([], { TINYCDP_DATA_DIR: dataDir }, io);
    expect(code).toBe(1);
    expect(io.err()).toContain('keeps its state in Redis: stop it, then run `tinycdp rebuild`');
  }, 60_000);
});
