/**
 * ThreadedProducer against the real broker: records sent through the thread (encoded by
 * encodeRecordBatch, or by kafkajs when compressed) read back exactly — keys, values, headers, per-key
 * order, partition by key as kafkajs' own producer places them; BatchingProducer over it; a broker that
 * is not there fails the connect (retriable); after the thread is gone the next send starts another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { isAppError } from '@tinycdp/common';
import { createTopics, deleteTopics, getServices, isolatedGroupId, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { BatchingProducer } from './batching-producer';
import { partitionForKey } from './partitioner';
import { ThreadedProducer } from './threaded-producer';

const brokers = () => getServices().kafkaBrokers;
const topic = `${isolatedTopicPrefix()}threaded`;
let kafka: Kafka;
let consumer: Consumer;
const received: { partition: number; message: KafkaMessage }[] = [];

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'threaded-producer-int', brokers: brokers(), logLevel: logLevel.NOTHING });
  await createTopics(brokers(), [topic], 3);
  consumer = kafka.consumer({ groupId: isolatedGroupId() });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void received.push({ partition, message }) });
});

afterAll(async () => {
  await consumer?.disconnect();
  await deleteTopics(brokers(), [topic]).catch(() => undefined);
});

describe('ThreadedProducer', () => {
  it('produces every record exactly as given, plain and compressed, in per-key order, partitioned by key', async () => {
    const p = new ThreadedProducer({ clientId: 'threaded-producer-int', brokers: brokers() });
    await p.connect();
    try {
      expect(p.encoding).toBe(true);
      const bp = new BatchingProducer(p, { lingerMs: 5 });
      const value = (i: number) => JSON.stringify({ i, s: 'ünïcødé ✓'.repeat(i % 3), pad: 'x'.repeat((i * 37) % 3000) });
      await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          bp.send(topic, [{ key: `user-${i % 11}`, value: i % 2 === 0 ? value(i) : Buffer.from(value(i)), headers: { 'content-type': 'application/json', n: String(i), list: ['a', Buffer.from([0, 255])] } }]),
        ),
      );
      await p.sendBatch({ topicMessages: [{ topic, messages: [{ key: 'gz', value: 'compressed', headers: { n: '400' } }] }], acks: -1, timeout: 5000, compression: CompressionTypes.GZIP });
      await waitFor(() => received.length >= 401, { timeoutMs: 30_000, message: '401 records consumed' });
      expect(received).toHaveLength(401);
      const byKey = new Map<string, number[]>();
      for (const { partition, message } of received) {
        const key = message.key!.toString();
        const i = Number(message.headers!['n']!.toString());
        expect(partition).toBe(partitionForKey(key, 3));
        if (key === 'gz') {
          expect(message.value!.toString()).toBe('compressed');
          continue;
        }
        expect(message.value!.toString()).toBe(value(i));
        expect(message.headers!['content-type']!.toString()).toBe('application/json');
        expect((message.headers!['list'] as Buffer[]).map((b) => [...b])).toEqual([[97], [0, 255]]);
        byKey.set(key, [...(byKey.get(key) ?? []), i]);
      }
      for (const [key, is] of byKey) expect(is, key).toEqual([...is].sort((a, b) => a - b));
    } finally {
      await p.disconnect();
    }
    // Disconnected: the next send starts a thread again.
    await p.sendBatch({ topicMessages: [{ topic, messages: [{ key: 'again', value: 'v', headers: { n: '401' } }] }], acks: -1, timeout: 5000 });
    await p.disconnect();
    await waitFor(() => received.some((r) => r.message.key?.toString() === 'again'), { timeoutMs: 15_000, message: 'sent after a restart' });
  });

  it('fails to connect, retriably, when no broker answers; BatchingProducer turns a failed send into unavailable', async () => {
    const p = new ThreadedProducer({ clientId: 'threaded-producer-int', brokers: ['127.0.0.1:1'], connectionTimeout: 300, retry: { retries: 0 } });
    const err = await p.connect().catch((e: unknown) => e);
    expect(isAppError(err) && err.code === 'unavailable' && err.retriable).toBe(true);
    const sent = await new BatchingProducer(p).send(topic, [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(isAppError(sent) && sent.code === 'unavailable' && sent.retriable).toBe(true);
    await p.disconnect();
  });
});
