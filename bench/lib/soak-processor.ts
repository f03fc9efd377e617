/**
 * The processor of the soak scenario (bench/soak.ts), in its own process so its memory is measured
 * alone and the forced GC of every sample pauses only it (not ingest or decide, whose latencies are
 * measured). Wired as services/processor/src/main.ts wires it: the Redis epoch guard around the profile
 * repository, the rollout store and the membership index; the bounded DLQ sink; the definitions copy
 * decide reads; the rollout coordinator with its Kafka log reader. No HTTP server (loopback only, and
 * nothing to probe: lag and memory come over IPC).
 *
 * Protocol (bench/lib/child.ts forkWorker): argv[2] = SoakProcessorSetup JSON; `{ready: true}` once the
 * definitions are loaded and the consumer runs; each `{cmd: 'sample'}` is answered with a
 * SoakProcessorSample; `{cmd: 'exit'}` stops the processor and exits.
 */
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import type { TopicNames } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import { createProcessor } from '../../services/processor/src/app';
import { KafkaEventLogReader } from '../../services/processor/src/consumer/kafka-log-reader';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from '../../services/processor/src/consumer/kafka-sources';
import { boundedSink } from '../../services/processor/src/safety/bounded-sink';
import { EpochGuardedRolloutStore, EpochGuardedSegmentMembers } from '../../services/processor/src/safety/epoch-guarded-rollout';
import { EpochGuardedRepository, RedisEpochGuard } from '../../services/processor/src/safety/redis-epoch';
import { serveParent, workerMain } from './child';

export interface SoakProcessorSetup {
  readonly brokers: readonly string[];
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly numPartitions: number;
}

export interface SoakProcessorSample {
  /** Wall clock (ms since the epoch) when the sample was taken. */
  readonly at: number;
  readonly rssMb: number;
  /** heapUsed right after a full GC: the live heap. */
  readonly heapMb: number;
  /** How long the forced GC took (it pauses this process only). */
  readonly gcMs: number;
  /** Consumer lag summed over partitions (high watermark − committed), as the processor reports it. */
  readonly lag: number;
  /** Log messages the processor finished (tinycdp_processor_messages_total). */
  readonly messages: number;
  /** Messages sent to the DLQ so far (must stay 0 with valid events). */
  readonly dlq: number;
}

// V8 collects lazily (more so on a busy machine): raw heapUsed climbs without a leak. The flag is set at
// run time; `gc` comes from a fresh context (as services/processor/src/soak.int.test.ts does).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function counter(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function main(setup: SoakProcessorSetup): Promise<void> {
  const logger = pino({ level: process.env.BENCH_LOG ?? 'error' }, pino.destination(2));
  const registry = new Registry();
  const kafka = new Kafka({ clientId: 'bench-soak-processor', brokers: [...setup.brokers], logLevel: logLevel.NOTHING });
  const { topics, redisPrefix: prefix } = setup;
  const redis = new Redis(setup.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const repo = new RedisProfileStore(redis, prefix);
  const epoch = new RedisEpochGuard(redis, prefix, logger.child({ component: 'epoch' }), { registry });
  await epoch.ensure(async () => true); // a fresh group over fresh topics
  const processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, setup.groupId, logger),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new EpochGuardedRepository(repo, epoch),
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: boundedSink(kafkaSink(producer, topics.eventsDlq)),
    materializer: new RedisDefinitionCache(redis, prefix),
    eventsTopic: topics.events,
    numPartitions: setup.numPartitions,
    clock: systemClock,
    logger,
    registry,
    members: new EpochGuardedSegmentMembers(new RedisSegmentMembers(redis, prefix), epoch),
    rollout: {
      store: new EpochGuardedRolloutStore(new RedisRolloutStore(redis, prefix), epoch),
      reader: new KafkaEventLogReader(kafka, topics.events, logger.child({ component: 'backfill' }), { groupPrefix: `${setup.groupId}-backfill` }),
      index: repo,
    },
  });
  await processor.start();

  const sample = async (): Promise<SoakProcessorSample> => {
    const lag = (await processor.lag()).reduce((s, l) => s + l.lag, 0);
    const t0 = performance.now();
    gc();
    const gcMs = performance.now() - t0;
    const m = process.memoryUsage();
    return {
      at: performance.timeOrigin + performance.now(),
      rssMb: m.rss / 2 ** 20,
      heapMb: m.heapUsed / 2 ** 20,
      gcMs,
      lag,
      messages: await counter(registry, 'tinycdp_processor_messages_total'),
      dlq: await counter(registry, 'tinycdp_processor_dlq_total'),
    };
  };

  serveParent<{ cmd: 'sample' }>(sample, async () => {
    await processor.stop().catch(() => undefined);
    epoch.close();
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
    process.exit(0);
  });
}

workerMain('soak-processor.ts', main);
