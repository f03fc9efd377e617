/**
 * Issue 7 / 5 and 1(e): a bounded soak (≈40 s of load, inside CI's budget) with ingest and the processor
 * up in-process, wired like main.ts (epoch guard, bounded DLQ sink), at a steady rate over HTTP:
 * - memory (RSS, heap) stays flat and processor lag stays bounded and drains to 0 — figures are printed;
 * - a slow subscriber of segment-changes (sleeps on every message, never commits) does not slow the
 *   processor: its own lag grows while the processor's stays ~0 and a normal subscriber keeps up.
 * Longer soaks belong in bench/ (same wiring, minutes instead of seconds).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import type { Definition } from '@tinycdp/engine';
import { startServer, staticKeyVerifier, type RunningServer } from '@tinycdp/http';
import { createIngestApp, KafkaSink } from '@tinycdp/ingest';
import { BatchingProducer, DEFAULT_TOPIC_SETTINGS, DefinitionsWriter, PRODUCER_CONFIG, ensureTopics, topicNames, topicSpecs } from '@tinycdp/kafka';
import { RedisProfileStore } from '@tinycdp/redis';
import { deleteTopics, getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';
import { boundedSink } from './safety/bounded-sink';
import { EpochGuardedRepository, RedisEpochGuard } from './safety/redis-epoch';

// Live heap = heapUsed right after a full GC (V8 collects lazily, more so on a busy machine, so raw
// heapUsed climbs without any leak). The flag is set at run time; `gc` comes from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const LOAD_MS = 40_000;
const REQUESTS_PER_SECOND = 25;
const EVENTS_PER_REQUEST = 8; // 200 events/s
const USERS = 400;

const services = getServices();
const topics = topicNames(isolatedTopicPrefix());
const redisPrefix = isolatedRedisPrefix();
const group = isolatedGroupId();
const kafka = new Kafka({ clientId: 'soak-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl, { enableAutoPipelining: true });
// Every tick flips the parity segment: a steady stream of segment changes.
const defs: Definition[] = [
  { kind: 'trait', key: 'ticks', expression: 'events.tick.count_1d', version: 1 },
  { kind: 'segment', key: 'odd_ticks', rule: 'trait("ticks") % 2 == 1', version: 1 },
];

let producer: Producer;
let ingestProducer: Producer;
let processor: Processor;
let guard: RedisEpochGuard;
let ingest: RunningServer;
let live: Consumer;
let slow: Consumer;
let liveChanges = 0;
let slowHandled = 0;
const slowGroup = isolatedGroupId();

async function groupLag(groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const c = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return high.reduce((s, h) => s + Number(h.high) - Math.max(c.get(h.partition) ?? -1, Number(h.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: 3 }));
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
  await new DefinitionsWriter(producer, topics.definitions).publish(defs.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })));

  const logger = pino({ level: 'silent' });
  guard = new RedisEpochGuard(redis, redisPrefix, logger);
  await guard.ensure(async () => true);
  processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, group, logger),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new EpochGuardedRepository(new RedisProfileStore(redis, redisPrefix), guard),
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: boundedSink(kafkaSink(producer, topics.eventsDlq)),
    eventsTopic: topics.events,
    numPartitions: 3,
    clock: systemClock,
    logger,
    registry: new Registry(),
  });
  await processor.start();

  ingestProducer = kafka.producer(PRODUCER_CONFIG);
  await ingestProducer.connect();
  ingest = await startServer(
    createIngestApp({
      sink: new KafkaSink({ producer: new BatchingProducer(ingestProducer), topic: topics.events }),
      keys: staticKeyVerifier([{ secret: 'soak-key', id: 'soak', scope: 'write' }]),
      clock: systemClock,
      logger,
      registry: new Registry(),
    }),
  );

  live = kafka.consumer({ groupId: isolatedGroupId() });
  await live.connect();
  await live.subscribe({ topic: topics.segmentChanges, fromBeginning: true });
  await live.run({ eachMessage: async () => void liveChanges++ });
  // The slow subscriber: 1 s per message, never commits.
  slow = kafka.consumer({ groupId: slowGroup, sessionTimeout: 30_000 });
  await slow.connect();
  await slow.subscribe({ topic: topics.segmentChanges, fromBeginning: true });
  await slow.run({
    autoCommit: false,
    eachMessage: async ({ heartbeat }) => {
      slowHandled++;
      await new Promise((r) => setTimeout(r, 1_000));
      await heartbeat();
    },
  });
}, 120_000);

afterAll(async () => {
  await ingest?.close();
  await Promise.allSettled([slow?.disconnect(), live?.disconnect()]);
  await processor?.stop();
  guard?.close();
  await ingestProducer?.disconnect().catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await deleteTopics(services.kafkaBrokers, Object.values(topics)).catch(() => undefined);
}, 60_000);

interface Sample {
  readonly t: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly lag: number;
  readonly sent: number;
  readonly live: number;
  readonly slow: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('soak', () => {
  it('steady load: flat memory, bounded lag; a stalled segment-changes subscriber does not slow the processor', async () => {
    const started = Date.now();
    let sent = 0;
    let non200 = 0;
    let seq = 0;
    const samples: Sample[] = [];
    let stop = false;
    const sampler = (async () => {
      while (!stop) {
        const lag = (await processor.lag()).reduce((s, l) => s + l.lag, 0);
        gc();
        const m = process.memoryUsage();
        samples.push({ t: Date.now() - started, rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20, lag, sent, live: liveChanges, slow: slowHandled });
        await new Promise((r) => setTimeout(r, 2_000));
      }
    })();

    // Open-loop pacing: request i is due at i / rate; late requests are sent at once (no coordinated omission).
    const inflight = new Set<Promise<void>>();
    for (let i = 0; Date.now() - started < LOAD_MS; i++) {
      const due = started + (i * 1000) / REQUESTS_PER_SECOND;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch = Array.from({ length: EVENTS_PER_REQUEST }, () => {
        const n = seq++;
        return { type: 'track', userId: `soak${n % USERS}`, event: 'tick', messageId: `soak-${n}` };
      });
      const p = fetch(`${ingest.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: 'Bearer soak-key', 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      })
        .then(async (r) => {
          if (r.status !== 200) non200++;
          else sent += EVENTS_PER_REQUEST;
          await r.arrayBuffer();
        })
        .catch(() => void non200++)
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    const loadEnded = Date.now();
    await waitFor(async () => (await processor.lag()).reduce((s, l) => s + l.lag, 0) === 0, { timeoutMs: 30_000, intervalMs: 250, message: 'processor drained' });
    const drainMs = Date.now() - loadEnded;
    stop = true;
    await sampler;

    const changesHigh = (await (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return (await admin.fetchTopicOffsets(topics.segmentChanges)).reduce((s, p) => s + Number(p.high), 0);
      } finally {
        await admin.disconnect();
      }
    })());
    await waitFor(() => liveChanges >= changesHigh, { timeoutMs: 20_000, message: 'the normal subscriber has every change' });
    const slowLag = await groupLag(slowGroup, topics.segmentChanges);

    const loadSamples = samples.filter((s) => s.t <= LOAD_MS);
    const q = Math.max(1, Math.floor(loadSamples.length / 4));
    const rssEarly = median(loadSamples.slice(q, 2 * q).map((s) => s.rssMb));
    const rssLate = median(loadSamples.slice(-q).map((s) => s.rssMb));
    const heapEarly = median(loadSamples.slice(q, 2 * q).map((s) => s.heapMb));
    const heapLate = median(loadSamples.slice(-q).map((s) => s.heapMb));
    const lags = loadSamples.map((s) => s.lag);
    const report = {
      seconds: LOAD_MS / 1000,
      eventsPerSecond: REQUESTS_PER_SECOND * EVENTS_PER_REQUEST,
      eventsAccepted: sent,
      non200,
      lag: { median: median(lags), max: Math.max(...lags), drainMsAfterLoad: drainMs },
      rssMb: { early: +rssEarly.toFixed(1), late: +rssLate.toFixed(1), growth: +(rssLate - rssEarly).toFixed(1) },
      heapMb: { early: +heapEarly.toFixed(1), late: +heapLate.toFixed(1), growth: +(heapLate - heapEarly).toFixed(1) },
      segmentChanges: { produced: changesHigh, normalSubscriber: liveChanges, slowSubscriberHandled: slowHandled, slowSubscriberLag: slowLag },
    };
    console.log(`[soak] ${JSON.stringify(report)}`);
    console.log(`[soak] samples t(s)/rss(MB)/live heap(MB)/lag: ${samples.map((s) => `${(s.t / 1000).toFixed(0)}/${s.rssMb.toFixed(0)}/${s.heapMb.toFixed(0)}/${s.lag}`).join(' ')}`);

    expect(non200).toBe(0);
    expect(sent).toBeGreaterThanOrEqual(0.9 * (LOAD_MS / 1000) * REQUESTS_PER_SECOND * EVENTS_PER_REQUEST);
    // Lag: a few seconds of traffic at most, and back to 0 soon after the load.
    expect(report.lag.median).toBeLessThan(REQUESTS_PER_SECOND * EVENTS_PER_REQUEST * 2);
    expect(report.lag.max).toBeLessThan(REQUESTS_PER_SECOND * EVENTS_PER_REQUEST * 10);
    // Memory: no steady growth of the live heap; RSS only loosely (allocator and JIT pages, the other
    // clients in this worker, and whatever the machine is doing make it noisy).
    expect(report.heapMb.growth).toBeLessThan(25);
    expect(report.rssMb.growth).toBeLessThan(150);
    // The slow subscriber fell far behind without holding anything up.
    expect(changesHigh).toBeGreaterThan(1_000);
    expect(slowHandled).toBeLessThan(LOAD_MS / 1000 + 10);
    expect(slowLag).toBeGreaterThan(changesHigh * 0.9);
  }, 150_000);
});
