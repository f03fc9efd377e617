import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { topicNames } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import { getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';
import { startPipelineFixture, type PipelineFixture } from './test-support/pipeline-fixture';

// A first contact of thousands of profiles in one chunk publishes megabytes of segment changes at once:
// more than the broker accepts in one partition batch (message.max.bytes, 1 MiB). Every change must
// still be published (the processor must not retry a refused request forever).
const services = getServices();
const topics = topicNames(isolatedTopicPrefix());
const redisPrefix = isolatedRedisPrefix();
const kafka = new Kafka({ clientId: 'large-publish-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const SEGMENT = `signed_up_${'x'.repeat(140)}`;
const defs = [{ kind: 'segment', key: SEGMENT, rule: 'events.signup.count_30d >= 1', version: 1 }];
const USERS = 4_000;
const userId = (i: number) => `${'u'.repeat(200)}-${i}`;

let pipeline: PipelineFixture<{ profileId: string; segment: string; status: string; sequence: number }>;
let processor: Processor;

beforeAll(async () => {
  // One partition everywhere: all changes of a chunk go to one segment-changes partition.
  pipeline = await startPipelineFixture({ kafka, topics, partitions: 1, definitions: defs, changesGroupId: isolatedGroupId() });
  const now = new Date().toISOString();
  // Produced before the processor starts, so its first fetch carries them all (in requests of 500).
  for (let from = 0; from < USERS; from += 500) {
    await pipeline.producer.send({
      topic: topics.events,
      acks: -1,
      messages: Array.from({ length: Math.min(500, USERS - from) }, (_, k) => {
        const i = from + k;
        return { key: userId(i), value: JSON.stringify({ type: 'track', event: 'signup', userId: userId(i), messageId: `signup-${i}`, timestamp: now }) };
      }),
    });
  }
  const logger = pino({ level: 'silent' });
  processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, isolatedGroupId(), logger),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new RedisProfileStore(redis, redisPrefix),
    changes: kafkaSink(pipeline.producer, topics.segmentChanges),
    dlq: kafkaSink(pipeline.producer, topics.eventsDlq),
    materializer: new RedisDefinitionCache(redis, redisPrefix),
    eventsTopic: topics.events,
    numPartitions: 1,
    clock: systemClock,
    logger,
    registry: new Registry(),
  });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await pipeline?.stop();
  const keys = await redis.keys(`${redisPrefix}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  redis.disconnect();
});

describe('processor publishing a large chunk of changes', () => {
  it('publishes every entry of 4,000 first-contact profiles (~3.5 MB of changes) exactly once', async () => {
    const changes = pipeline.changes;
    const bytes = JSON.stringify({ profileId: userId(0), userId: userId(0), segment: SEGMENT }).length * USERS;
    expect(bytes).toBeGreaterThan(2 * 1024 * 1024);
    await waitFor(() => changes.length >= USERS, { timeoutMs: 45_000, message: `${USERS} segment entries published` });
    expect(changes.every((c) => c.segment === SEGMENT && c.status === 'entered' && c.sequence === 1)).toBe(true);
    expect(new Set(changes.map((c) => c.profileId)).size).toBe(USERS);
    const lag = await processor.lag();
    await waitFor(async () => (await processor.lag()).every((l) => l.lag === 0), { timeoutMs: 10_000, message: `offsets committed (lag ${JSON.stringify(lag)})` });
  });
});
