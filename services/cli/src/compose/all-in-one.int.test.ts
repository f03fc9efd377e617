import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Redis } from 'ioredis';
import { createIsolatedSchema, getServices, isolatedRedisPrefix, isolatedTopicPrefix, type IsolatedSchema } from '@tinycdp/testkit';
import { startAllInOne, type RunningTinyCdp } from './all-in-one';
import { runSeedWalkthrough } from './seed-walkthrough';

// The seed walk-through against the real-backend stack: Kafka, Redis and Postgres, all in one process.
const services = getServices();
const redisPrefix = isolatedRedisPrefix();
let schema: IsolatedSchema;
let running: RunningTinyCdp;
let dataDir: string;
const adminKey = `tcdp_test_${Math.random().toString(36).slice(2)}_${Date.now()}`;

beforeAll(async () => {
  schema = await createIsolatedSchema(services.databaseUrl);
  dataDir = await mkdtemp(join(tmpdir(), 'tinycdp-real-'));
  running = await startAllInOne(
    {
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      REDIS_URL: services.redisUrl,
      DATABASE_URL: schema.url,
      TINYCDP_TOPIC_PREFIX: isolatedTopicPrefix(),
      TINYCDP_REDIS_PREFIX: redisPrefix,
      TINYCDP_PROCESSOR_GROUP: `g-${Date.now()}`,
      TINYCDP_PARTITIONS: '3',
      TINYCDP_DATA_DIR: dataDir,
      TINYCDP_ADMIN_KEY: adminKey,
      PORT: '0',
      HOST: '127.0.0.1',
    },
    { logger: pino({ level: 'silent' }) },
  );
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await schema?.drop();
  await rm(dataDir, { recursive: true, force: true });
  const redis = new Redis(services.redisUrl);
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('all-in-one on real Kafka, Redis and Postgres', () => {
  it('runs the seed walk-through verbatim', async () => {
    const r = await runSeedWalkthrough(running.url, adminKey);
    expect(r.decisions.afterOne).toMatchObject({ flag: 'premium_features', userId: 'user123', enabled: false });
    expect(r.decisions.afterThree).toMatchObject({ flag: 'premium_features', userId: 'user123', enabled: true, value: true });
  }, 90_000);

  it('reports every backend in /health', async () => {
    const res = await fetch(`${running.url}/health`);
    const body = (await res.json()) as { status: string; checks: Record<string, unknown> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(['config(postgres)', 'log(kafka)', 'processor', 'state epoch', 'state(redis)']);
  });

  it('pauses the processor when Redis loses the state (epoch guard) instead of writing partial state', async () => {
    const redis = new Redis(services.redisUrl);
    try {
      // Redis "restarted empty": every key under the prefix is gone.
      const before = await redis.keys(`${redisPrefix}*`);
      expect(before.some((k) => k.includes('{p:user123}'))).toBe(true);
      await redis.del(...before);
      const res = await fetch(`${running.url}/v1/track`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'user123', event: 'purchase', properties: { amount: 5 } }),
      });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 3_000));
      // Accepted, not applied: a profile holding only this one purchase would be partial state.
      expect(await redis.keys(`${redisPrefix}*{p:user123}*`)).toEqual([]);
      const health = await fetch(`${running.url}/health`);
      const body = (await health.json()) as { checks: Record<string, { status: string }> };
      expect(health.status).toBe(503);
      expect(body.checks['state epoch']!.status).toBe('down');
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
