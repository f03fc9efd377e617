/**
 * Starts the real processor (services/processor createProcessor) wired the way its main.ts wires it —
 * kafkaEventSource (the Kafka thread or not, as main.ts decides), KafkaDefinitionSource, kafkaSink,
 * RedisProfileStore and RedisDefinitionCache over an auto-pipelining ioredis client, an idempotent
 * producer for changes — against isolated topics, group and Redis prefix. The event source and the
 * profile repository are wrapped (not changed) to count handled messages and time each I/O stage, so
 * scenarios can tell exactly when the last event was applied.
 */
import type { Kafka, Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import type { Definition } from '@tinycdp/engine';
import { DefinitionsWriter, type RecordProducer } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import { createProcessor, type Processor } from '../../services/processor/src/app';
import { KafkaDefinitionSource, kafkaSink } from '../../services/processor/src/consumer/kafka-sources';
import type { EventSource, LogMessage, ProfileRepository, RecordSink } from '../../services/processor/src/ports';
import { KAFKA_BROKERS, REDIS_URL, type Isolation } from './stack';
import { kafkaEventSource } from '../../services/processor/src/consumer/kafka-event-source';
import { fetchThreads } from '../../services/processor/src/config';

/** The seed definitions of issue 8 (traits, segments, one flag). */
export function seedDefinitions(): Definition[] {
  return [
    { kind: 'trait', key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3', version: 1 },
    { kind: 'trait', key: 'total_spent', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 },
    { kind: 'segment', key: 'vip_users', rule: 'frequent_buyer == true', version: 1 },
    { kind: 'segment', key: 'recent_buyers', rule: 'events.purchase.count_30d >= 1', version: 1 },
    { kind: 'segment', key: 'high_value', rule: 'trait("total_spent") >= 500', version: 1 },
    { kind: 'segment', key: 'active', rule: 'events.app_open.unique_days_14d >= 5', version: 1 },
    { kind: 'segment', key: 'premium', rule: 'profile.plan in ["premium","enterprise"]', version: 1 },
    {
      kind: 'flag',
      key: 'premium_features',
      enabled: true,
      valueType: 'boolean',
      rules: [{ when: 'segment("vip_users")', value: true }],
      default: false,
      version: 1,
    },
  ];
}

export async function publishDefinitions(producer: Producer, topic: string, defs: readonly Definition[]): Promise<void> {
  await new DefinitionsWriter(producer, topic).publish(defs.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })));
}

/** Summed wall time (ms) and calls per stage; batches of different partitions overlap, so sums can exceed wall time. */
export type StageTimes = Record<string, { ms: number; calls: number }>;

function timed<T extends object>(target: T, names: readonly (keyof T & string)[], prefix: string, times: StageTimes): T {
  const wrapped = Object.create(target) as T;
  for (const name of names) {
    const fn = (target[name] as (...a: unknown[]) => Promise<unknown>).bind(target);
    const key = `${prefix}.${name}`;
    times[key] = { ms: 0, calls: 0 };
    (wrapped as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return await fn(...args);
      } finally {
        const s = times[key]!;
        s.ms += performance.now() - t0;
        s.calls++;
      }
    };
  }
  return wrapped;
}

/** Counts messages the processor's handler finished (state, changes and DLQ durable), with timestamps. */
class CountingSource implements EventSource {
  handled = 0;
  /** When the group assigned partitions (before the first fetch): rates run from here, fetches included. */
  joinedAt = 0;
  /** When the handler got its first batch (the first fetch decoded). */
  firstAt = 0;
  lastAt = 0;
  /** The partitions of the latest assignment. */
  partitions: number[] = [];
  /** Every handler call: start and end (ms since the group assignment) and its size. */
  readonly calls: { start: number; end: number; messages: number }[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(
    private readonly inner: EventSource,
    private readonly times: StageTimes,
  ) {
    times['handler'] = { ms: 0, calls: 0 };
  }

  start(handler: (messages: readonly LogMessage[]) => Promise<void>, onAssignment: (partitions: number[]) => void) {
    return this.inner.start(async (messages) => {
      const t0 = performance.now();
      if (this.firstAt === 0) this.firstAt = t0;
      await handler(messages);
      const t1 = performance.now();
      const s = this.times['handler']!;
      s.ms += t1 - t0;
      s.calls++;
      this.handled += messages.length;
      this.lastAt = t1;
      this.calls.push({ start: t0 - this.joinedAt, end: t1 - this.joinedAt, messages: messages.length });
      this.waiters = this.waiters.filter((w) => {
        if (this.handled < w.n) return true;
        w.resolve();
        return false;
      });
    }, (partitions) => {
      this.partitions = partitions;
      if (this.joinedAt === 0) this.joinedAt = performance.now();
      onAssignment(partitions);
    });
  }

  stop() {
    return this.inner.stop();
  }

  lag() {
    return this.inner.lag();
  }

  /** Resolves once `n` messages were handled; rejects after `timeoutMs`. */
  reached(n: number, timeoutMs: number): Promise<void> {
    if (this.handled >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`processor handled ${this.handled} of ${n} messages within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

export interface RunningProcessor {
  readonly processor: Processor;
  readonly groupId: string;
  readonly source: CountingSource;
  readonly stages: StageTimes;
  readonly redis: Redis;
  /** Starts handling events after `startPaused`. */
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Starts a processor over `iso`'s topics with a fresh group (or `groupId`) and `redisPrefix`
 * (default the isolation's). Resolves after definitions are loaded and the consumer is running.
 */
export async function startProcessor(opts: {
  kafka: Kafka;
  iso: Isolation;
  numPartitions: number;
  groupId?: string;
  redisPrefix?: string;
  scheduleIntervalMs?: number;
  /** Event value decoder (schema registry wire format); default plain JSON. */
  decodeValue?: (value: Buffer) => unknown;
  /** Kafka threads (ThreadedKafkaEventSource; 0: the Kafka client on the pipeline thread); default as main.ts decides (TINYCDP_FETCH_THREAD, auto). */
  fetchThreads?: number;
  /** Join the group but handle nothing until `resume()`. */
  startPaused?: boolean;
  /** Segment-changes sink over the processor's producer; default plain JSON (kafkaSink). */
  changesSink?: (producer: RecordProducer) => RecordSink;
}): Promise<RunningProcessor> {
  const { kafka, iso } = opts;
  const prefix = opts.redisPrefix ?? iso.redisPrefix;
  const groupId = opts.groupId ?? iso.group('processor');
  const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' });
  // As services/processor/src/main.ts builds them.
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const stages: StageTimes = {};
  const repo = timed(
    new RedisProfileStore(redis, prefix) as unknown as ProfileRepository,
    ['load', 'write', 'ackPending', 'schedule', 'resolveLinks', 'link'],
    'redis',
    stages,
  );
  // As main.ts: with the Kafka thread, segment changes are produced there.
  const events = kafkaEventSource(
    opts.fetchThreads ?? fetchThreads(process.env.TINYCDP_FETCH_THREAD),
    kafka,
    { clientId: 'bench-processor', brokers: [...KAFKA_BROKERS] },
    iso.topics.events,
    groupId,
    logger,
    { startPaused: opts.startPaused ?? false },
  );
  const changesProducer = events.producer ?? producer;
  const changes = timed<RecordSink>(
    opts.changesSink?.(changesProducer) ?? kafkaSink(changesProducer, iso.topics.segmentChanges),
    ['send'],
    'kafka.changes',
    stages,
  );
  const source = new CountingSource(events.source, stages);
  const processor = createProcessor({
    events: source,
    definitions: new KafkaDefinitionSource(kafka, iso.topics.definitions),
    repo,
    changes,
    dlq: kafkaSink(producer, iso.topics.eventsDlq),
    materializer: new RedisDefinitionCache(redis, prefix),
    eventsTopic: iso.topics.events,
    numPartitions: opts.numPartitions,
    clock: systemClock,
    logger,
    registry: new Registry(),
    ...(opts.scheduleIntervalMs === undefined ? {} : { scheduleIntervalMs: opts.scheduleIntervalMs }),
    ...(opts.decodeValue ? { decodeValue: opts.decodeValue } : {}),
  });
  await processor.start();
  return {
    processor,
    groupId,
    source,
    stages,
    redis,
    resume: () => events.source.resume(),
    async stop() {
      await processor.stop();
      await producer.disconnect();
      redis.disconnect();
    },
  };
}
