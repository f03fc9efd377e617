/**
 * Issue 7 / 1(c): a PRIVATE Redis restarted EMPTY while the processor runs. The processor must pause
 * (retriable errors, no offsets committed, no state written, health 503, `redis_state_lost_rebuild_required`
 * logged) instead of writing partial state, and resume only after a rebuild sets the epoch marker again;
 * the rebuild (fresh consumer group → replay from the beginning) ends with exact counts.
 * Kafka is the shared broker (isolated topics/group); Redis is private (never the shared one).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { buildPlan, decodeProfile, profileView, type Definition } from '@tinycdp/engine';
import { topicNames } from '@tinycdp/kafka';
import { RedisProfileStore } from '@tinycdp/redis';
import {
  deleteTopics,
  getServices,
  isolatedGroupId,
  isolatedRedisPrefix,
  isolatedTopicPrefix,
  startPrivateRedis,
  waitFor,
  type PrivateRedis,
} from '@tinycdp/testkit';
import { createProcessor, type Processor } from '../app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from '../consumer/kafka-sources';
import { startProcessorHttp } from '../http/server';
import { startPipelineFixture, type PipelineFixture } from '../test-support/pipeline-fixture';
import { EpochGuardedRepository, RedisEpochGuard } from './redis-epoch';

const services = getServices();
const topics = topicNames(isolatedTopicPrefix());
const redisPrefix = isolatedRedisPrefix();
const group = isolatedGroupId();
const kafka = new Kafka({ clientId: 'epoch-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const defs: Definition[] = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'segment', key: 'buyer3', rule: 'events.purchase.count_30d >= 3', version: 1 },
];
const { plan } = buildPlan(defs);

let privateRedis: PrivateRedis;
let redis: Redis;
type Change = { profileId: string; segment: string; status: string; sequence: number };
let pipeline: PipelineFixture<Change>;
let producer: Producer;
let changes: Change[];
const logLines: { msg?: string; level?: number }[] = [];
let processor: Processor | null = null;
let guard: RedisEpochGuard | null = null;

const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as { msg?: string });
      cb();
    },
  }),
);

async function fresh(): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topics.events] });
    return offsets.every((t) => t.partitions.every((p) => p.offset === '-1'));
  } finally {
    await admin.disconnect();
  }
}

async function lagTotal(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topics.events), admin.fetchOffsets({ groupId: group, topics: [topics.events] })]);
    const c = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return high.reduce((sum, h) => sum + Number(h.high) - Math.max(c.get(h.partition) ?? -1, Number(h.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

async function startProcessor(): Promise<Processor> {
  const store = new RedisProfileStore(redis, redisPrefix);
  guard = new RedisEpochGuard(redis, redisPrefix, logger, { registry: new Registry(), maxAgeMs: 500 });
  await guard.ensure(fresh);
  const p = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, group, logger, { chunkSize: 500, sessionTimeoutMs: 6_000 }),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new EpochGuardedRepository(store, guard),
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: kafkaSink(producer, topics.eventsDlq),
    eventsTopic: topics.events,
    numPartitions: 2,
    clock: systemClock,
    logger,
    registry: new Registry(),
    scheduleIntervalMs: 200,
  });
  await p.start();
  return p;
}

async function send(user: string, from: number, count: number): Promise<void> {
  const now = new Date().toISOString();
  await producer.send({
    topic: topics.events,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({
      key: user,
      value: JSON.stringify({ type: 'track', userId: user, event: 'purchase', messageId: `${user}-${from + i}`, timestamp: now }),
    })),
  });
}

async function buys(user: string): Promise<number | null> {
  const store = new RedisProfileStore(redis, redisPrefix);
  const p = (await store.load([{ id: user }])).get(user);
  if (!p || p.rev === 0) return null;
  return Number(profileView(decodeProfile(p.fields, user), plan, Date.now()).trait('buys'));
}

beforeAll(async () => {
  privateRedis = await startPrivateRedis();
  redis = new Redis(privateRedis.url, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  pipeline = await startPipelineFixture({ kafka, topics, partitions: 2, definitions: defs, changesGroupId: isolatedGroupId() });
  ({ producer, changes } = pipeline);
});

afterAll(async () => {
  await processor?.stop().catch(() => undefined);
  guard?.close();
  await pipeline?.stop().catch(() => undefined);
  redis?.disconnect();
  await privateRedis?.stop();
  await deleteTopics(services.kafkaBrokers, Object.values(topics)).catch(() => undefined);
});

describe('Redis restarted empty while the processor runs', () => {
  it('pauses without writing partial state, reports unhealthy, resumes after a rebuild with exact counts', async () => {
    processor = await startProcessor();
    expect(guard!.state).toBe('ok');
    expect(await redis.get(`${redisPrefix}epoch`)).toBeTruthy();

    // Phase 1: normal processing.
    await send('e1', 0, 4);
    await waitFor(async () => (await buys('e1')) === 4, { timeoutMs: 30_000, message: 'e1 counted 4' });
    await waitFor(() => changes.some((c) => c.profileId === 'e1' && c.segment === 'buyer3' && c.status === 'entered'), {
      timeoutMs: 15_000,
      message: 'e1 entered buyer3',
    });
    await waitFor(async () => (await lagTotal()) === 0, { timeoutMs: 15_000, message: 'offsets committed' });

    const health = await startProcessorHttp({ port: 0, processor, redis, registry: new Registry(), checks: { redisEpoch: () => guard!.health() } });
    const healthUrl = `http://127.0.0.1:${(health.address() as { port: number }).port}/processor/health`;
    try {
      expect((await fetch(healthUrl)).status).toBe(200);

      // Phase 2: Redis comes back EMPTY; events keep arriving.
      await privateRedis.restartEmpty();
      await send('e1', 4, 2); // an existing profile: would restart from zero
      await send('e2', 0, 3); // a new profile: would enter buyer3 from partial state
      await waitFor(() => logLines.some((l) => l.msg === 'redis_state_lost_rebuild_required'), {
        timeoutMs: 30_000,
        message: 'state-loss log line',
      });
      expect(guard!.state).toBe('lost');
      // Bounded observation window: the processor keeps retrying and must write nothing.
      const until = Date.now() + 4_000;
      while (Date.now() < until) {
        const keys = await redis.keys(`${redisPrefix}*`);
        expect(keys, 'no state written into the empty Redis').toEqual([]);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await lagTotal(), 'offsets of the unprocessed events are not committed').toBe(5);
      expect(changes.filter((c) => c.profileId === 'e2')).toEqual([]);
      const h = await fetch(healthUrl);
      expect(h.status).toBe(503);
      expect(((await h.json()) as { checks: Record<string, { status: string }> }).checks.redisEpoch?.status).toBe('down');

      // A restarted processor does not "fix" it either: the group has committed offsets.
      expect(await new RedisEpochGuard(redis, redisPrefix, pino({ level: 'silent' })).ensure(fresh)).toBe('lost');
      expect(await redis.exists(`${redisPrefix}epoch`)).toBe(0);

      // Phase 3: rebuild = stop, forget the group's offsets, start: the fresh group creates the marker and
      // replays the log from the beginning.
      await processor.stop();
      guard!.close();
      processor = null;
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([group]);
      await admin.disconnect();
      processor = await startProcessor();
      expect(guard!.state).toBe('ok');
      await waitFor(async () => (await buys('e1')) === 6 && (await buys('e2')) === 3, {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: 'exact counts after the rebuild (e1 = 6, e2 = 3)',
      });
      await waitFor(() => changes.some((c) => c.profileId === 'e2' && c.segment === 'buyer3' && c.status === 'entered'), {
        timeoutMs: 15_000,
        message: 'e2 entered buyer3 after the rebuild',
      });
      await waitFor(async () => (await fetch(healthUrl)).status === 200, { timeoutMs: 10_000, message: 'healthy again' });
      await waitFor(async () => (await lagTotal()) === 0, { timeoutMs: 15_000, message: 'caught up' });
      // Replayed duplicates of e1's entry carry the same sequence as the first one or a fresh one only after
      // the state was rebuilt; what matters here: e1 never EXITED buyer3 (no partial-state flap).
      expect(changes.filter((c) => c.profileId === 'e1' && c.status === 'exited')).toEqual([]);
    } finally {
      await new Promise<void>((r) => health.close(() => r()));
    }
  }, 180_000);

  it('guarded calls fail fast with a retriable unavailable error while the marker is missing', async () => {
    const g = new RedisEpochGuard(redis, `${redisPrefix}x:`, pino({ level: 'silent' }));
    try {
      expect(await g.ensure(async () => false)).toBe('lost');
      const repo = new EpochGuardedRepository(new RedisProfileStore(redis, `${redisPrefix}x:`), g);
      const err = await repo.load([{ id: 'a' }]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'unavailable', retriable: true });
      await expect(repo.link('anon', 'a')).rejects.toMatchObject({ code: 'unavailable' });
      expect(await redis.keys(`${redisPrefix}x:*`)).toEqual([]);
      await g.markRebuilt();
      expect(g.state).toBe('ok');
      expect((await repo.load([{ id: 'a' }])).get('a')?.rev).toBe(0);
    } finally {
      g.close();
    }
  });
});
