// Proves the integration backends are real and usable the way services use them.
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createIsolatedSchema,
  createTopics,
  deleteTopics,
  getServices,
  isolatedGroupId,
  isolatedRedisPrefix,
  isolatedTopicPrefix,
  waitFor,
} from './index';

const services = getServices();

describe('kafka', () => {
  const topic = `${isolatedTopicPrefix()}smoke`;
  afterAll(() => deleteTopics(services.kafkaBrokers, [topic]));

  it('creates a topic, produces, consumes in a group and commits offsets', async () => {
    await createTopics(services.kafkaBrokers, [topic], 2);
    await createTopics(services.kafkaBrokers, [topic], 2); // idempotent

    const kafka = new Kafka({ clientId: 'smoke', brokers: services.kafkaBrokers, logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const groupId = isolatedGroupId();
    // disconnect() waits for the in-flight fetch long-poll: keep it short in tests (default 5 s).
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      const messages = Array.from({ length: 6 }, (_, i) => ({
        key: `user-${i}`,
        value: JSON.stringify({ i }),
        headers: { 'content-type': 'application/json' },
      }));
      await producer.send({ topic, messages });

      const seen: string[] = [];
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.push(message.key?.toString() ?? '');
          await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        },
      });
      await waitFor(() => seen.length === messages.length, { timeoutMs: 30_000, message: 'all 6 messages consumed' });
      expect([...seen].sort()).toEqual(messages.map((m) => m.key).sort());

      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await waitFor(
        async () => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const all = offsets?.partitions ?? [];
          const matches = all.every((p) => ends.find((e) => e.partition === p.partition)?.high === p.offset);
          return all.length === 2 && matches ? all : undefined;
        },
        { timeoutMs: 10_000, message: 'committed offsets at the log end' },
      );
      expect(committed.reduce((n, p) => n + Number(p.offset), 0)).toBe(messages.length);
    } finally {
      await consumer.disconnect();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    }
  });
});

describe('redis', () => {
  const prefix = isolatedRedisPrefix();
  const redis = new Redis(services.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('SET/GET and a Lua compare-and-set on an isolated prefix', async () => {
    await redis.connect();
    await redis.set(`${prefix}{p:1}:state`, 'v1');
    expect(await redis.get(`${prefix}{p:1}:state`)).toBe('v1');

    // KEYS[1] = key; ARGV[1] = expected, ARGV[2] = new value → 1 when swapped, 0 otherwise.
    const cas = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;
    expect(await redis.eval(cas, 1, `${prefix}{p:1}:state`, 'v1', 'v2')).toBe(1);
    expect(await redis.eval(cas, 1, `${prefix}{p:1}:state`, 'v1', 'v3')).toBe(0);
    expect(await redis.get(`${prefix}{p:1}:state`)).toBe('v2');
  });
});

describe('postgres', () => {
  it('queries and works inside an isolated schema', async () => {
    const isolated = await createIsolatedSchema(services.databaseUrl);
    const client = new pg.Client({ connectionString: isolated.url });
    try {
      await client.connect();
      const { rows } = await client.query<{ schema: string; one: number }>('SELECT current_schema() AS schema, 1 AS one');
      expect(rows[0]).toEqual({ schema: isolated.schema, one: 1 });
      await client.query('CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL)');
      await client.query("INSERT INTO things VALUES (1, 'a'), (2, 'b')");
      const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM things');
      expect(count.rows[0]?.n).toBe('2');
    } finally {
      await client.end();
      await isolated.drop();
    }
    const check = new pg.Client({ connectionString: services.databaseUrl });
    await check.connect();
    try {
      const left = await check.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [isolated.schema]);
      expect(left.rowCount).toBe(0);
    } finally {
      await check.end();
    }
  });
});
