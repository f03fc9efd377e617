// Direct producers using a schema registry (Avro, JSON Schema) drive the processor end to end, against
// REAL Kafka, Redis and schema registry (Apicurio via scripts/registry.sh, or SCHEMA_REGISTRY_URL).
// Wiring as in processor.int.test.ts, plus what main.ts adds when SCHEMA_REGISTRY_URL is set.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { systemClock } from '@tinycdp/common';
import { buildPlan, decodeProfile, profileView } from '@tinycdp/engine';
import {
  BatchingProducer,
  DEFAULT_TOPIC_SETTINGS,
  DefinitionsWriter,
  RegistryValueDecoder,
  connectSchemaRegistry,
  ensureTopics,
  topicNames,
  topicSpecs,
  wireEncoder,
  wireRecordSink,
  wireSchemaId,
  type TopicNames,
  type TopicSchemaRegistry,
} from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import {
  freePort,
  getSchemaRegistryUrl,
  getServices,
  isolatedGroupId,
  isolatedRedisPrefix,
  isolatedTopicPrefix,
  waitFor,
} from '@tinycdp/testkit';
import { KafkaSink } from '@tinycdp/ingest';
import { createProcessor, type Processor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';

const services = getServices();
const kafka = new Kafka({ clientId: 'registry-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const REGISTRY_SH = fileURLToPath(new URL('../../../scripts/registry.sh', import.meta.url));

const defs = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'trait', key: 'total_spent', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 },
  { kind: 'segment', key: 'big_spenders', rule: 'trait("total_spent") >= 500', version: 1 },
];
const { plan } = buildPlan(defs as never);

/** A direct producer's Avro schema for purchases (README example). */
const AVRO_V1 = {
  type: 'record',
  name: 'Purchase',
  namespace: 'com.example',
  fields: [
    { name: 'type', type: 'string', default: 'track' },
    { name: 'event', type: 'string', default: 'purchase' },
    { name: 'userId', type: 'string' },
    { name: 'messageId', type: ['null', 'string'], default: null },
    { name: 'timestamp', type: ['null', 'string'], default: null },
    { name: 'properties', type: { type: 'map', values: ['null', 'boolean', 'double', 'string'] }, default: {} },
  ],
};
/** v2 adds an optional field: BACKWARD compatible. */
const AVRO_V2 = { ...AVRO_V1, fields: [...AVRO_V1.fields, { name: 'context', type: { type: 'map', values: 'string' }, default: {} }] };

/** A direct producer's own JSON Schema (stricter than TinyCDP's: amount must be a number). */
const PURCHASE_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['type', 'event', 'userId', 'properties'],
  properties: {
    type: { const: 'track' },
    event: { const: 'purchase' },
    userId: { type: 'string' },
    messageId: { type: 'string' },
    properties: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } },
  },
};

/** One processor over isolated topics and Redis prefix, wired as main.ts does with SCHEMA_REGISTRY_URL. */
class Harness {
  readonly topics: TopicNames = topicNames(isolatedTopicPrefix());
  readonly redisPrefix = isolatedRedisPrefix();
  readonly redis = new Redis(services.redisUrl);
  readonly store = new RedisProfileStore(this.redis, this.redisPrefix);
  readonly changes: { profileId: string; segment: string; status: string; sequence: number }[] = [];
  readonly changeIds = new Set<number>();
  readonly dead: { value: Buffer; error: string; encoding: string }[] = [];
  /** Batches the processor had to retry because the registry could not be reached. */
  outages = 0;
  producer!: Producer;
  schemas!: TopicSchemaRegistry;
  processor!: Processor;
  private consumers: Consumer[] = [];

  constructor(readonly registryUrl: string) {}

  async start() {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(this.topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: 3 }));
    await admin.disconnect();
    this.producer = kafka.producer();
    await this.producer.connect();
    await new DefinitionsWriter(this.producer, this.topics.definitions).publish(
      defs.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })),
    );
    this.schemas = await connectSchemaRegistry({ url: this.registryUrl, topics: this.topics });

    // Subscribers decode segment changes with a registry decoder (validates against the registered schema).
    const changeDecoder = new RegistryValueDecoder(this.registryUrl);
    const changes = kafka.consumer({ groupId: isolatedGroupId() });
    await changes.connect();
    await changes.subscribe({ topic: this.topics.segmentChanges, fromBeginning: true });
    await changes.run({
      eachMessage: async ({ message }) => {
        this.changeIds.add(wireSchemaId(message.value!) ?? -1);
        this.changes.push((await changeDecoder.decode(message.value!)) as never);
      },
    });
    const dlq = kafka.consumer({ groupId: isolatedGroupId() });
    await dlq.connect();
    await dlq.subscribe({ topic: this.topics.eventsDlq, fromBeginning: true });
    await dlq.run({
      eachMessage: async ({ message }) =>
        void this.dead.push({
          value: message.value ?? Buffer.alloc(0),
          error: message.headers?.error?.toString() ?? '',
          encoding: message.headers?.['value-encoding']?.toString() ?? '',
        }),
    });
    this.consumers = [changes, dlq];

    const logger = pino({ level: 'silent' });
    this.processor = createProcessor({
      events: new KafkaEventSource(kafka, this.topics.events, isolatedGroupId(), logger, { chunkSize: 500, sessionTimeoutMs: 10_000 }),
      definitions: new KafkaDefinitionSource(kafka, this.topics.definitions),
      repo: this.store,
      changes: wireRecordSink(this.producer, this.topics.segmentChanges, this.schemas.encoder('segmentChanges')),
      dlq: kafkaSink(this.producer, this.topics.eventsDlq),
      decodeValue: async (value) => {
        try {
          return await this.schemas.decodeValue(value);
        } catch (err) {
          if ((err as { retriable?: boolean }).retriable) this.outages++;
          throw err;
        }
      },
      materializer: new RedisDefinitionCache(this.redis, this.redisPrefix),
      eventsTopic: this.topics.events,
      numPartitions: 3,
      clock: systemClock,
      logger,
      registry: new Registry(),
      scheduleIntervalMs: 500,
    });
    await this.processor.start();
  }

  async send(values: { key: string; value: Buffer | string }[]) {
    await this.producer.send({ topic: this.topics.events, acks: -1, messages: values });
  }

  async trait(id: string, key: string): Promise<unknown> {
    const loaded = await this.store.load([{ id }]);
    return profileView(decodeProfile(loaded.get(id)!.fields, id), plan, Date.now()).trait(key);
  }

  async stop() {
    await this.processor?.stop();
    for (const c of this.consumers) await c.disconnect();
    await this.producer?.disconnect();
    const keys = await this.redis.keys(`${this.redisPrefix}*`);
    if (keys.length) await this.redis.del(...keys);
    this.redis.disconnect();
  }
}

describe('direct producers with a schema registry', () => {
  const h = new Harness(getSchemaRegistryUrl());
  let client: SchemaRegistry;

  beforeAll(async () => {
    await h.start();
    client = new SchemaRegistry({ host: h.registryUrl });
  });
  afterAll(() => h.stop());

  it('an Avro producer drives traits and segments end to end', async () => {
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) },
      { subject: `${h.topics.events}-com.example.Purchase` },
    );
    const now = new Date().toISOString();
    const values = await Promise.all(
      [1, 2, 3].map((i) => client.encode(id, { type: 'track', event: 'purchase', userId: 'avro-1', messageId: `avro-1-${i}`, timestamp: now, properties: { amount: 200, currency: 'EUR' } })),
    );
    await h.send(values.map((value) => ({ key: 'avro-1', value })));
    await waitFor(async () => (await h.trait('avro-1', 'total_spent')) === 600, { timeoutMs: 20_000, message: 'avro-1 spent 600' });
    expect(await h.trait('avro-1', 'buys')).toBe(3);
    await waitFor(() => h.changes.some((c) => c.profileId === 'avro-1' && c.segment === 'big_spenders' && c.status === 'entered'), {
      timeoutMs: 15_000,
      message: 'avro-1 enters big_spenders',
    });
    // Segment changes are written in the wire format under the registered segment-changes schema.
    expect([...h.changeIds]).toEqual([h.schemas.ids.segmentChanges]);
  });

  it('JSON Schema producers (TinyCDP\'s registered schema, or their own) drive traits end to end', async () => {
    // 1. The simplest path: encode with the id of <topic>-value (TinyCDP's events schema).
    // TinyCDP's schema is draft 2020-12: the client needs an ajv that knows it (its default ajv 7 does not).
    const ajv = new Ajv2020({ strict: false, allowUnionTypes: true });
    addFormats(ajv);
    const client2020 = new SchemaRegistry({ host: h.registryUrl }, { [SchemaType.JSON]: { ajvInstance: ajv as never } });
    const latest = await client2020.getLatestSchemaId(`${h.topics.events}-value`);
    expect(latest).toBe(h.schemas.ids.events);
    const ours = await client2020.encode(latest, { type: 'track', event: 'purchase', userId: 'json-1', messageId: 'json-1-a', properties: { amount: 100 } });
    // 2. Their own JSON Schema under their own subject.
    const { id } = await client.register(
      { type: SchemaType.JSON, schema: JSON.stringify(PURCHASE_JSON_SCHEMA) },
      { subject: `${h.topics.events}-com.example.PurchaseJson` },
    );
    const theirs = await client.encode(id, { type: 'track', event: 'purchase', userId: 'json-1', messageId: 'json-1-b', properties: { amount: 50 } });
    // 3. Plain JSON still works next to the wire format.
    const plain = JSON.stringify({ type: 'track', event: 'purchase', userId: 'json-1', messageId: 'json-1-c', properties: { amount: 25 } });
    // 4. What ingest writes (KafkaSink with the registry encoder).
    const ingest = new KafkaSink({ producer: new BatchingProducer(h.producer), topic: h.topics.events, encoder: h.schemas.encoder('events') });
    await h.send([ours, theirs, plain].map((value) => ({ key: 'json-1', value })));
    await ingest.append([{ key: 'json-1', value: { type: 'track', event: 'purchase', userId: 'json-1', messageId: 'json-1-d', properties: { amount: 5 } } as never }]);
    await waitFor(async () => (await h.trait('json-1', 'total_spent')) === 180, { timeoutMs: 20_000, message: 'json-1 spent 180' });
    expect(await h.trait('json-1', 'buys')).toBe(4);
  });

  it('dead-letters a wrong schema id and a payload failing its schema, with the reason', async () => {
    const { id } = await client.register(
      { type: SchemaType.JSON, schema: JSON.stringify(PURCHASE_JSON_SCHEMA) },
      { subject: `${h.topics.events}-com.example.PurchaseJson` },
    );
    const wrongId = wireEncoder(2_000_000_001).encode(JSON.stringify({ type: 'track', event: 'purchase', userId: 'bad-1', properties: { amount: 1 } }));
    // Encoded by hand: the client would refuse to encode an invalid payload.
    const failing = wireEncoder(id).encode(JSON.stringify({ type: 'track', event: 'purchase', userId: 'bad-1', properties: { amount: 'lots' } }));
    await h.send([
      { key: 'bad-1', value: wrongId },
      { key: 'bad-1', value: failing },
      { key: 'ok-1', value: JSON.stringify({ type: 'track', event: 'purchase', userId: 'ok-1', properties: { amount: 1 } }) },
    ]);
    await waitFor(() => h.dead.length >= 2, { timeoutMs: 20_000, message: 'two DLQ records' });
    const reasons = h.dead.map((d) => d.error);
    expect(reasons.some((r) => /unknown schema id 2000000001/.test(r))).toBe(true);
    expect(reasons.some((r) => new RegExp(`does not match schema id ${id} \\(JSON\\): /properties/amount must be number`).test(r))).toBe(true);
    // The original bytes are kept (base64, since wire-format values may be binary).
    const original = Buffer.from(h.dead.find((d) => /unknown schema id/.test(d.error))!.value.toString(), 'base64');
    expect(h.dead.every((d) => d.encoding === 'base64')).toBe(true);
    expect(original.equals(wrongId)).toBe(true);
    await waitFor(async () => (await h.trait('ok-1', 'buys')) === 1, { timeoutMs: 15_000, message: 'ok-1 counted' });
  });
});

const exec = promisify(execFile);

/** A private registry with file storage (schemas survive its restart, as in a real deployment). */
class PrivateRegistry {
  readonly dir = mkdtempSync(join(tmpdir(), 'tinycdp-registry-'));
  port = 0;
  get url() {
    return `http://127.0.0.1:${this.port}/apis/ccompat/v7`;
  }
  private env() {
    return { ...process.env, TINYCDP_REGISTRY_DIR: this.dir, TINYCDP_REGISTRY_PORT: String(this.port), TINYCDP_REGISTRY_STORAGE: 'file' };
  }
  async start(): Promise<number> {
    if (this.port === 0) this.port = await freePort();
    const t0 = Date.now();
    await exec('bash', [REGISTRY_SH, 'start'], { env: this.env(), timeout: 240_000 });
    return (Date.now() - t0) / 1000;
  }
  async stop() {
    await exec('bash', [REGISTRY_SH, 'stop'], { env: this.env(), timeout: 60_000 });
  }
  async destroy() {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('a registry restart during a stream', () => {
  const registry = new PrivateRegistry();
  let h: Harness;

  beforeAll(async () => {
    await registry.start();
    h = new Harness(registry.url);
    await h.start();
  }, 300_000);
  afterAll(async () => {
    await h?.stop();
    await registry.destroy();
  }, 120_000);

  it('loses and duplicates nothing: events produced while it restarts are all counted exactly once', async () => {
    // The producer's client caches the schemas it registered, so it keeps producing while the registry is down.
    const client = new SchemaRegistry({ host: registry.url });
    const subject = `${h.topics.events}-com.example.Purchase`;
    const v1 = (await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V1) }, { subject })).id;
    const users = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    let n = 0;
    const batch = async (id: number, count: number) => {
      const msgs = [];
      for (let i = 0; i < count; i++) {
        const userId = users[n % users.length]!;
        const value = { type: 'track', event: 'purchase', userId, messageId: `restart-${n++}`, timestamp: null, properties: { amount: 1 } };
        msgs.push({ key: userId, value: await client.encode(id, id === v1 ? value : { ...value, context: { via: 'v2' } }) });
      }
      await h.send(msgs);
    };
    const total = async () => {
      let sum = 0;
      for (const u of users) sum += Number((await h.trait(u, 'buys')) ?? 0);
      return sum;
    };

    await batch(v1, 60);
    await waitFor(async () => (await total()) === 60, { timeoutMs: 20_000, message: '60 counted before the restart' });
    // A new schema version the processor has not seen yet: it must ask the registry for it.
    const v2 = (await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_V2) }, { subject })).id;
    expect(v2).not.toBe(v1);

    await registry.stop();
    for (let i = 0; i < 5; i++) {
      await batch(v2, 20);
      await batch(v1, 20);
    }
    const restartSeconds = await registry.start();
    await batch(v2, 40);
    const expected = 60 + 200 + 40;
    await waitFor(async () => (await total()) === expected, { timeoutMs: 180_000, intervalMs: 500, message: `${expected} counted after the restart` });
    // Nothing more arrives later (no duplicates), nothing was dead-lettered.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await total()).toBe(expected);
    expect(h.dead).toEqual([]);
    // The processor really met the outage (v2 was not cached) and retried rather than dead-lettering.
    expect(h.outages).toBeGreaterThan(0);
    console.log(`[registry restart] registry back after ${restartSeconds.toFixed(1)}s; ${h.outages} retried decodes; ${expected} events counted exactly once`);
  }, 400_000);
});
