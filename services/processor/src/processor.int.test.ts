import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { decodeProfile, buildPlan, profileView } from '@tinycdp/engine';
import { topicNames, DefinitionsWriter } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import { getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';
import { startPipelineFixture, type PipelineFixture } from './test-support/pipeline-fixture';

const services = getServices();
const topics = topicNames(isolatedTopicPrefix());
const redisPrefix = isolatedRedisPrefix();
const kafka = new Kafka({ clientId: 'processor-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const store = new RedisProfileStore(redis, redisPrefix);
let pipeline: PipelineFixture<any>;
let producer: Producer;
let dlqConsumer: Consumer;
let processor: Processor;
let changes: any[];
const dead: { value: string; error: string }[] = [];

const defs = [
  { kind: 'trait', key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3', version: 1 },
  { kind: 'trait', key: 'total_spent', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 },
  { kind: 'segment', key: 'vip_users', rule: 'frequent_buyer == true', version: 1 },
  { kind: 'segment', key: 'big_spenders', rule: 'trait("total_spent") >= 500', version: 1 },
  { kind: 'segment', key: 'premium', rule: 'profile.plan in ["premium", "enterprise"]', version: 1 },
];

async function produce(messages: { key: string; value: unknown }[]) {
  await producer.send({
    topic: topics.events,
    acks: -1,
    messages: messages.map((m) => ({ key: m.key, value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value) })),
  });
}

async function state(id: string) {
  const loaded = await store.load([{ id }]);
  return decodeProfile(loaded.get(id)!.fields, id);
}

beforeAll(async () => {
  pipeline = await startPipelineFixture({ kafka, topics, partitions: 3, definitions: defs, changesGroupId: isolatedGroupId() });
  ({ producer, changes } = pipeline);
  dlqConsumer = kafka.consumer({ groupId: isolatedGroupId() });
  await dlqConsumer.connect();
  await dlqConsumer.subscribe({ topic: topics.eventsDlq, fromBeginning: true });
  await dlqConsumer.run({
    eachMessage: async ({ message }) =>
      void dead.push({ value: message.value?.toString() ?? '', error: message.headers?.error?.toString() ?? '' }),
  });

  const logger = pino({ level: 'silent' });
  processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, isolatedGroupId(), logger),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: store,
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: kafkaSink(producer, topics.eventsDlq),
    materializer: new RedisDefinitionCache(redis, redisPrefix),
    eventsTopic: topics.events,
    numPartitions: 3,
    clock: systemClock,
    logger,
    registry: new Registry(),
    scheduleIntervalMs: 200,
  });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await dlqConsumer?.disconnect();
  await pipeline?.stop();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('processor against real Kafka and Redis', () => {
  it('applies events produced straight to Kafka and publishes segment entries', async () => {
    const now = new Date().toISOString();
    await produce(
      [1, 2, 3].map((i) => ({
        key: 'u1',
        value: { type: 'track', userId: 'u1', event: 'purchase', properties: { amount: 200 }, messageId: `u1-p${i}`, timestamp: now },
      })),
    );
    await waitFor(() => changes.filter((c) => c.profileId === 'u1').length >= 2, { timeoutMs: 15_000, message: 'u1 entries' });
    const u1 = changes.filter((c) => c.profileId === 'u1');
    expect(u1.map((c) => [c.segment, c.status]).sort()).toEqual([
      ['big_spenders', 'entered'],
      ['vip_users', 'entered'],
    ]);
    expect(new Set(u1.map((c) => c.sequence)).size).toBe(u1.length);
    const { plan } = buildPlan(defs as any);
    const view = profileView(await state('u1'), plan, Date.now());
    expect(view.trait('total_spent')).toBe(600);
  });

  it('counts a redelivered messageId once', async () => {
    const ev = { type: 'track', userId: 'u2', event: 'purchase', properties: { amount: 1 }, messageId: 'u2-dup' };
    await produce([{ key: 'u2', value: ev }, { key: 'u2', value: ev }]);
    await produce([{ key: 'u2', value: { ...ev, messageId: 'u2-other' } }]);
    const { plan } = buildPlan(defs as any);
    await waitFor(async () => {
      const v = profileView(await state('u2'), plan, Date.now());
      return v.trait('total_spent') === 2;
    }, { timeoutMs: 15_000, message: 'u2 total 2' });
  });

  it('dead-letters poison messages with a reason and keeps going', async () => {
    await produce([
      { key: 'p', value: 'not json{' },
      { key: 'p', value: { type: 'track', userId: 'p' } },
      { key: 'u3', value: { type: 'identify', userId: 'u3', traits: { plan: 'premium' } } },
    ]);
    await waitFor(() => dead.length >= 2, { timeoutMs: 15_000, message: 'two DLQ records' });
    expect(dead.map((d) => d.error).join('\n')).toMatch(/not JSON/);
    expect(dead.map((d) => d.error).join('\n')).toMatch(/event/);
    await waitFor(() => changes.some((c) => c.profileId === 'u3' && c.segment === 'premium' && c.status === 'entered'), {
      timeoutMs: 15_000,
      message: 'u3 enters premium',
    });
  });

  it('merges an anonymous profile into the identified one', async () => {
    await produce([
      { key: 'anon-9', value: { type: 'track', anonymousId: 'anon-9', event: 'purchase', properties: { amount: 100 }, messageId: 'a9-1' } },
      { key: 'anon-9', value: { type: 'track', anonymousId: 'anon-9', event: 'purchase', properties: { amount: 100 }, messageId: 'a9-2' } },
    ]);
    const { plan } = buildPlan(defs as any);
    await waitFor(async () => profileView(await state('anon-9'), plan, Date.now()).trait('total_spent') === 200, {
      timeoutMs: 15_000,
      message: 'anon profile has 200',
    });
    await produce([{ key: 'u9', value: { type: 'identify', userId: 'u9', anonymousId: 'anon-9', messageId: 'u9-id' } }]);
    await produce([{ key: 'anon-9', value: { type: 'track', anonymousId: 'anon-9', event: 'purchase', properties: { amount: 100 }, messageId: 'a9-3' } }]);
    await waitFor(async () => profileView(await state('u9'), plan, Date.now()).trait('total_spent') === 300, {
      timeoutMs: 15_000,
      message: 'u9 has the merged 300',
    });
    expect((await store.load([{ id: 'anon-9' }])).get('anon-9')!.rev).toBe(0);
  });
});

describe('time-driven changes', () => {
  it('exits a minute-window segment without any new event', async () => {
    const def = { kind: 'segment', key: 'pinged_this_minute', rule: 'events.ping.count_1m >= 1', version: 1 };
    await new DefinitionsWriter(producer, topics.definitions).publish([{ key: 'segment:pinged_this_minute', value: JSON.stringify(def) }]);
    await waitFor(() => processor.plans.definitions().some((d) => d.key === 'pinged_this_minute'), { timeoutMs: 10_000, message: 'definition live' });
    await produce([{ key: 'u-time', value: { type: 'track', userId: 'u-time', event: 'ping', messageId: 'ping-1' } }]);
    await waitFor(() => changes.some((c) => c.profileId === 'u-time' && c.status === 'entered'), { timeoutMs: 15_000, message: 'entered' });
    const entered = changes.find((c) => c.profileId === 'u-time' && c.status === 'entered');
    // The 1-minute window ends at the next UTC minute boundary after the event; the exit must come
    // from the schedule (no event is sent) at most 60 s after that instant.
    const due = Math.floor(Date.parse(entered.at) / 60_000) * 60_000 + 60_000;
    await waitFor(() => changes.some((c) => c.profileId === 'u-time' && c.status === 'exited'), { timeoutMs: 130_000, intervalMs: 500, message: 'exited by time' });
    const exited = changes.find((c) => c.profileId === 'u-time' && c.status === 'exited');
    expect(exited.reason).toBe('time');
    expect(Date.parse(exited.at)).toBeGreaterThanOrEqual(due);
    expect(Date.parse(exited.at) - due).toBeLessThan(60_000);
    expect(exited.sequence).toBeGreaterThan(entered.sequence);
  }, 150_000);
});
