import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { isAppError } from '@tinycdp/common';
import { createTopics, deleteTopics, getServices, isolatedGroupId, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { BatchingProducer, PRODUCER_CONFIG } from './batching-producer';

const brokers = () => getServices().kafkaBrokers;
const topic = `${isolatedTopicPrefix()}batching`;
let kafka: Kafka;
let producer: Producer;
let consumer: Consumer;
const received: { partition: number; message: KafkaMessage }[] = [];

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'batching-producer-int', brokers: brokers(), logLevel: logLevel.NOTHING });
  await createTopics(brokers(), [topic], 3);
  producer = kafka.producer(PRODUCER_CONFIG);
  await producer.connect();
  consumer = kafka.consumer({ groupId: isolatedGroupId() });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void received.push({ partition, message }) });
});

afterAll(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  await deleteTopics(brokers(), [topic]).catch(() => undefined);
});

describe('BatchingProducer against a real broker', () => {
  it('coalesces 300 concurrent sends into few batches; every record lands once, in per-key order, with headers', async () => {
    const bp = new BatchingProducer(producer, { lingerMs: 5 });
    const calls = Array.from({ length: 300 }, (_, i) =>
      bp.send(topic, [{ key: `user-${i % 7}`, value: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } }]),
    );
    await Promise.all(calls); // resolved = acked by the broker
    expect(bp.batchCount).toBeLessThan(30);

    await waitFor(() => received.length >= 300, { timeoutMs: 30_000, message: '300 records consumed' });
    expect(received).toHaveLength(300);
    const byKey = new Map<string, number[]>();
    const partitionOfKey = new Map<string, number>();
    for (const { partition, message } of received) {
      const key = message.key?.toString() ?? '';
      expect(message.headers?.['content-type']?.toString()).toBe('application/json');
      const { i } = JSON.parse(message.value?.toString() ?? '{}') as { i: number };
      byKey.set(key, [...(byKey.get(key) ?? []), i]);
      expect(partitionOfKey.get(key) ?? partition).toBe(partition); // same key → same partition
      partitionOfKey.set(key, partition);
    }
    for (const [key, is] of byKey) {
      expect(is, key).toEqual([...is].sort((a, b) => a - b));
    }
  });

  it('rejects with a retriable unavailable AppError when the producer cannot write', async () => {
    const disconnected = kafka.producer(PRODUCER_CONFIG); // never connected
    const bp = new BatchingProducer(disconnected);
    const err = await bp.send(topic, [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(isAppError(err) && err.code === 'unavailable' && err.retriable).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });
});
