import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createTopics, deleteTopics, getServices, isolatedTopicPrefix } from '@tinycdp/testkit';
import { PRODUCER_CONFIG } from './batching-producer';
import { SEND_MAX_BYTES, sendRecords } from './send-records';

const brokers = () => getServices().kafkaBrokers;
const topic = `${isolatedTopicPrefix()}send-records`;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'send-records-int', brokers: brokers(), logLevel: logLevel.NOTHING });
  await createTopics(brokers(), [topic], 1); // one partition: everything of one call lands in one partition batch
  producer = kafka.producer(PRODUCER_CONFIG);
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await deleteTopics(brokers(), [topic]).catch(() => undefined);
});

describe('sendRecords against a real broker', () => {
  it('writes one call of 2.4 MB (more than the broker takes in one partition batch) completely and in order', async () => {
    const pad = 'x'.repeat(160);
    const records = Array.from({ length: 12_000 }, (_, i) => ({
      key: `profile-${i % 50}`,
      value: JSON.stringify({ i, pad }),
      headers: { 'content-type': 'application/json' },
    }));
    expect(records.reduce((s, r) => s + r.value.length, 0)).toBeGreaterThan(2 * 1024 * 1024);
    // What a single produce request of these does (the reason for sendRecords): the broker refuses it.
    const single = await producer.send({ topic, acks: -1, messages: records }).then(() => null, (e: unknown) => e);
    expect((single as { type?: string } | null)?.type).toBe('MESSAGE_TOO_LARGE');

    await sendRecords(producer, topic, records);

    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    expect(Number(offsets!.high) - Number(offsets!.low)).toBe(records.length);
    const seen: number[] = [];
    const consumer = kafka.consumer({ groupId: `${topic}-check`, maxBytes: SEND_MAX_BYTES });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${records.length}`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push((JSON.parse(message.value!.toString()) as { i: number }).i);
            if (seen.length === records.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(records.map((_, i) => i));
  });

  it('sends nothing for no records', async () => {
    await expect(sendRecords(producer, topic, [])).resolves.toBeUndefined();
  });
});
