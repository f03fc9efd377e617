import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import pino from 'pino';
import { systemClock } from '@tinycdp/common';
import { DIGEST_HEADER, eventDigest, parseDigest, type CdpEvent } from '@tinycdp/events';
import { startServer, staticKeyVerifier, type RunningServer } from '@tinycdp/http';
import { BatchingProducer, PRODUCER_CONFIG } from '@tinycdp/kafka';
import { createTopics, deleteTopics, getServices, isolatedGroupId, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createIngestApp } from './app';
import { KafkaSink } from './adapters/kafka-sink';

const brokers = () => getServices().kafkaBrokers;
const topic = `${isolatedTopicPrefix()}events`;
let producer: Producer;
let admin: Admin;
let consumer: Consumer;
let srv: RunningServer;
const received: KafkaMessage[] = [];

beforeAll(async () => {
  const kafka = new Kafka({ clientId: 'ingest-int', brokers: brokers(), logLevel: logLevel.NOTHING });
  await createTopics(brokers(), [topic], 3);
  producer = kafka.producer(PRODUCER_CONFIG);
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const app = createIngestApp({
    sink: new KafkaSink({ producer: new BatchingProducer(producer), topic, admin }),
    keys: staticKeyVerifier([{ secret: 'wk', id: 'k1', scope: 'write' }]),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  srv = await startServer(app);
  consumer = kafka.consumer({ groupId: isolatedGroupId() });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(message) });
});

afterAll(async () => {
  await srv?.close();
  await consumer?.disconnect();
  await admin?.disconnect();
  await producer?.disconnect().catch(() => undefined);
  await deleteTopics(brokers(), [topic]).catch(() => undefined);
});

async function post(path: string, body: unknown): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer wk' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json(), retryAfter: r.headers.get('retry-after') };
}

describe('ingest → Kafka', () => {
  it('health reports the event log reachable', async () => {
    const r = await fetch(`${srv.url}/ingest/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', checks: { eventLog: { status: 'ok' } } });
  });

  it('every accepted event is on the topic, keyed userId ?? anonymousId, value the CdpEvent JSON', async () => {
    expect((await post('/v1/track', { userId: 'u1', event: 'Order Completed', properties: { amount: 5 }, messageId: 'm-track' })).status).toBe(200);
    expect((await post('/v1/identify', { externalId: 'u2', traits: { plan: 'pro' } })).status).toBe(200);
    const batch = await post('/v1/batch', {
      batch: [
        { type: 'page', anonymousId: 'a1', name: 'Home', messageId: 'm-page' },
        { type: 'track', userId: 7, event: 'bad' },
        { type: 'alias', userId: 'u1', previousId: 'a1', messageId: 'm-alias' },
      ],
    });
    expect(batch).toMatchObject({ status: 200, body: { success: true, accepted: 2 } });

    await waitFor(() => received.length >= 4, { timeoutMs: 30_000, message: '4 events on the topic' });
    expect(received).toHaveLength(4);
    const events = received.map((m) => ({
      key: m.key?.toString(),
      contentType: m.headers?.['content-type']?.toString(),
      digest: m.headers?.[DIGEST_HEADER]?.toString(),
      value: JSON.parse(m.value?.toString() ?? 'null') as CdpEvent,
    }));
    const byId = new Map(events.map((e) => [e.value.messageId, e]));
    expect(byId.get('m-track')).toMatchObject({ key: 'u1', contentType: 'application/json', value: { type: 'track', event: 'Order Completed', properties: { amount: 5 } } });
    expect(byId.get('m-page')).toMatchObject({ key: 'a1', value: { type: 'page', name: 'Home', userId: null } });
    expect(byId.get('m-alias')).toMatchObject({ key: 'u1', value: { type: 'alias', previousId: 'a1' } });
    const identify = events.find((e) => e.value.type === 'identify');
    expect(identify).toMatchObject({ key: 'u2', value: { userId: 'u2', traits: { plan: 'pro' } } });
    // Track, page and screen events carry their digest (the processor may skip parsing the value).
    for (const e of events) expect(e.digest).toBe(eventDigest(e.value) ?? undefined);
    expect(parseDigest(byId.get('m-track')!.digest!)).toMatchObject({ type: 'track', messageId: 'm-track', userId: 'u1', event: 'Order Completed' });
    expect(byId.get('m-page')!.digest).toBeDefined();
    expect([identify!.digest, byId.get('m-alias')!.digest]).toEqual([undefined, undefined]);
    for (const e of events) {
      expect(Object.keys(e.value).sort()).toEqual(
        ['anonymousId', 'context', 'event', 'groupId', 'messageId', 'name', 'originalTimestamp', 'previousId', 'properties', 'receivedAt', 'sentAt', 'timestamp', 'traits', 'type', 'userId'],
      );
    }
  });

  it('accepts a batch at the size limit for one user (over 1 MiB once normalized, in one partition) and writes all of it', async () => {
    const before = received.length;
    const items = Array.from({ length: 2_500 }, (_, i) => ({ type: 'track', userId: 'big-batch-user', event: 'e', messageId: `big-${i}`, properties: { p: 'x'.repeat(100) } }));
    const body = JSON.stringify({ batch: items });
    expect(body.length).toBeLessThan(500 * 1024); // within the documented 500 KB per batch
    const r = await post('/v1/batch', { batch: items });
    expect(r).toMatchObject({ status: 200, body: { accepted: 2_500 } });
    await waitFor(() => received.length >= before + 2_500, { timeoutMs: 30_000, message: '2,500 events on the topic' });
    const ids = received.slice(before).map((m) => (JSON.parse(m.value!.toString()) as CdpEvent).messageId);
    expect(ids).toEqual(items.map((e) => e.messageId)); // one key: one partition, in order
  });

  it('answers 503 with Retry-After, not 200, when Kafka cannot take the write', async () => {
    await producer.disconnect();
    const r = await post('/v1/track', { userId: 'u1', event: 'lost?' });
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe('1');
    expect(r.body).toMatchObject({ error: { code: 'unavailable' } });
  });
});
