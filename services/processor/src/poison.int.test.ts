/**
 * Issue 7 / 2: poison messages on the events topic (direct producers) go to the DLQ with a reason in the
 * `error` header, and the processor keeps going: good events behind them (same partition) are applied.
 * The events topic here allows 4 MB messages (an operator may raise max.message.bytes), so a 2 MB value
 * really reaches the processor; the DLQ topic keeps the broker default (~1 MB).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { buildPlan, decodeProfile, profileView, type Definition } from '@tinycdp/engine';
import { DIGEST_HEADER, eventDigest, normalizeMessage } from '@tinycdp/events';
import { DEFAULT_TOPIC_SETTINGS, DefinitionsWriter, ensureTopics, topicNames, topicSpecs } from '@tinycdp/kafka';
import { RedisProfileStore } from '@tinycdp/redis';
import { deleteTopics, getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';
import { boundedSink } from './safety/bounded-sink';

const services = getServices();
const topics = topicNames(isolatedTopicPrefix());
const redisPrefix = isolatedRedisPrefix();
const kafka = new Kafka({ clientId: 'poison-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const store = new RedisProfileStore(redis, redisPrefix);
const defs: Definition[] = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'trait', key: 'spent', expression: 'events.checkout.sum(properties.amount, 30d)', version: 1 },
];
const { plan } = buildPlan(defs);

let producer: Producer;
let dlqConsumer: Consumer;
let processor: Processor;
const dead: { key: string; size: number; error: string; offset: string; encoding: string | null }[] = [];

const track = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'track', userId: 'poison-u', event: 'purchase', messageId: id, timestamp: new Date().toISOString(), ...extra });

/** [name, value bytes or null, what the DLQ reason must say] */
const POISON: [string, Buffer | string | null, RegExp][] = [
  ['not JSON', 'not json{', /JSON/i],
  ['truncated JSON', '{"type":"track","userId":"poison-u"', /JSON/i],
  ['JSON array', '[1,2,3]', /object/i],
  ['JSON null', 'null', /object/i],
  ['wrong schema: no event', JSON.stringify({ type: 'track', userId: 'poison-u' }), /event/],
  ['wrong schema: unknown type', JSON.stringify({ type: 'purchase', userId: 'poison-u' }), /type/],
  ['wrong schema: userId a number', JSON.stringify({ type: 'track', userId: 5, event: 'e' }), /userId/],
  ['__proto__ key', '{"type":"track","userId":"poison-u","event":"e","__proto__":{"polluted":true}}', /__proto__/],
  ['1e309', '{"type":"track","userId":"poison-u","event":"e","properties":{"n":1e309}}', /properties\.n.*finite/],
  ['nested 100 000 deep', `{"type":"track","userId":"poison-u","event":"e","properties":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`, /nested/],
  ['binary garbage', randomBytes(512), /JSON|UTF-8|value/i],
  ['wire format without registry', Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), randomBytes(64)]), /registry/i],
  ['empty value', Buffer.alloc(0), /empty/],
  ['tombstone (null value)', null, /empty/],
  ['2 MB value', track('big', { properties: { pad: 'x'.repeat(2 * 1024 * 1024) } }), /too large/],
];

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  const specs = topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: 1 }).map((s) =>
    s.topic === topics.events ? { ...s, configEntries: [...(s.configEntries ?? []), { name: 'max.message.bytes', value: String(4 * 1024 * 1024) }] } : s,
  );
  await ensureTopics(admin, specs);
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
  await new DefinitionsWriter(producer, topics.definitions).publish(defs.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })));
  dlqConsumer = kafka.consumer({ groupId: isolatedGroupId(), maxBytesPerPartition: 8 * 1024 * 1024 });
  await dlqConsumer.connect();
  await dlqConsumer.subscribe({ topic: topics.eventsDlq, fromBeginning: true });
  await dlqConsumer.run({
    eachMessage: async ({ message }) =>
      void dead.push({
        key: message.key?.toString() ?? '',
        size: message.value?.length ?? 0,
        error: message.headers?.error?.toString() ?? '',
        offset: message.headers?.['original-offset']?.toString() ?? '',
        encoding: message.headers?.['value-encoding']?.toString() ?? null,
      }),
  });
  const logger = pino({ level: process.env.POISON_LOG ?? 'silent' });
  processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, isolatedGroupId(), logger),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: store,
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: boundedSink(kafkaSink(producer, topics.eventsDlq)), // as main.ts wires it
    eventsTopic: topics.events,
    numPartitions: 1,
    clock: systemClock,
    logger,
    registry: new Registry(),
    scheduleIntervalMs: 500,
  });
  await processor.start();
});

afterAll(async () => {
  await processor?.stop();
  await dlqConsumer?.disconnect();
  await producer?.disconnect();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await deleteTopics(services.kafkaBrokers, Object.values(topics)).catch(() => undefined);
});

describe('poison messages on the events topic', () => {
  it('each goes to the DLQ with its reason; good events around them are applied exactly once', async () => {
    // good, then every poison message interleaved with good ones, all on one partition (one key).
    const messages: { key: string; value: Buffer | string | null }[] = [{ key: 'poison-u', value: track('g-0') }];
    POISON.forEach(([name, value], i) => {
      messages.push({ key: `poison-${i}-${name.replace(/\W+/g, '_')}`, value });
      messages.push({ key: 'poison-u', value: track(`g-${i + 1}`) });
    });
    for (const m of messages) await producer.send({ topic: topics.events, acks: -1, messages: [{ key: m.key, value: m.value }] });

    const goods = POISON.length + 1;
    await waitFor(
      async () => {
        const p = (await store.load([{ id: 'poison-u' }])).get('poison-u');
        return p !== undefined && p.rev > 0 && profileView(decodeProfile(p.fields, 'poison-u'), plan, Date.now()).trait('buys') === goods;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: `all ${goods} good events applied` },
    );
    await waitFor(() => dead.length >= POISON.length, { timeoutMs: 30_000, message: `${POISON.length} DLQ records` });
    expect(dead).toHaveLength(POISON.length);
    POISON.forEach(([name, , reason], i) => {
      const d = dead.find((x) => x.key === `poison-${i}-${name.replace(/\W+/g, '_')}`);
      expect(d, name).toBeDefined();
      expect(d!.error, name).toMatch(reason);
      expect(d!.offset, name).toMatch(/^\d+$/);
    });
    const big = dead.find((d) => d.key.includes('2_MB'))!;
    // The DLQ keeps the reason and position; the value itself may be cut to fit the DLQ topic.
    expect(big.size).toBeLessThanOrEqual(256 * 1024);
    expect(big.error).toMatch(/2097\d{3} bytes/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // Still alive: one more good event is applied.
    await producer.send({ topic: topics.events, acks: -1, messages: [{ key: 'poison-u', value: track('g-last') }] });
    await waitFor(
      async () => {
        const p = (await store.load([{ id: 'poison-u' }])).get('poison-u')!;
        return profileView(decodeProfile(p.fields, 'poison-u'), plan, Date.now()).trait('buys') === goods + 1;
      },
      { timeoutMs: 30_000, message: 'the processor keeps going' },
    );
  }, 120_000);

  it('a digest header stands for a value no definition reads into; otherwise the value decides', async () => {
    const digestOf = (event: string, messageId: string) =>
      eventDigest(normalizeMessage({ type: 'track', userId: 'digest-u', event, messageId, timestamp: new Date().toISOString() }, { receivedAt: Date.now(), newId: () => messageId }))!;
    const messages = [
      // `buys` counts purchases and reads nothing else of them: the digest is enough, the value is not parsed.
      { key: 'digest-u', value: 'not JSON, never parsed', headers: { [DIGEST_HEADER]: digestOf('purchase', 'd-1') } },
      // `spent` sums checkout amounts: the value is parsed, and this one is poison.
      { key: 'digest-u', value: 'not JSON, parsed for its amount', headers: { [DIGEST_HEADER]: digestOf('checkout', 'd-2') } },
      // Not a digest: the value decides (poison).
      { key: 'digest-u', value: 'not JSON either', headers: { [DIGEST_HEADER]: 'garbage' } },
      { key: 'digest-u', value: JSON.stringify({ type: 'track', userId: 'digest-u', event: 'purchase', messageId: 'd-3' }), headers: { [DIGEST_HEADER]: digestOf('purchase', 'd-3') } },
    ];
    await producer.send({ topic: topics.events, acks: -1, messages });
    await waitFor(
      async () => {
        const p = (await store.load([{ id: 'digest-u' }])).get('digest-u');
        return p !== undefined && p.rev > 0 && profileView(decodeProfile(p.fields, 'digest-u'), plan, Date.now()).trait('buys') === 2;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'both digested purchases applied' },
    );
    await waitFor(() => dead.filter((d) => d.key === 'digest-u').length >= 2, { timeoutMs: 30_000, message: '2 DLQ records for digest-u' });
    expect(dead.filter((d) => d.key === 'digest-u').map((d) => d.error)).toEqual([expect.stringMatching(/JSON/), expect.stringMatching(/JSON/)]);
  }, 60_000);
});
