// The processor process: the only place that reads the environment and opens connections.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { ensureTopics, topicNames, topicSettingsFromConfig, topicSpecs, connectSchemaRegistry, wireRecordSink } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import { createProcessor } from './app';
import { KafkaDefinitionSource, kafkaSink } from './consumer/kafka-sources';
import { kafkaEventSource } from './consumer/kafka-event-source';
import { KafkaEventLogReader } from './consumer/kafka-log-reader';
import { fetchThreads, parseConfig } from './config';
import { startProcessorHttp } from './http/server';
import { EpochGuardedRepository, RedisEpochGuard } from './safety/redis-epoch';
import { boundedSink } from './safety/bounded-sink';
import { EpochGuardedRolloutStore, EpochGuardedSegmentMembers } from './safety/epoch-guarded-rollout';

async function main() {
  const config = parseConfig(process.env);
  const logger = pino({ level: config.LOG_LEVEL }).child({ service: 'processor' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const connection = { clientId: 'tinycdp-processor', brokers: config.KAFKA_BROKERS.split(',') };
  const kafka = new Kafka({ ...connection, logLevel: logLevel.WARN });
  const topics = topicNames(config.TINYCDP_TOPIC_PREFIX);
  const admin = kafka.admin();
  await admin.connect();
  const settings = topicSettingsFromConfig({ partitions: config.TINYCDP_PARTITIONS, replicationFactor: config.TINYCDP_REPLICATION_FACTOR });
  const ensured = await ensureTopics(admin, topicSpecs(topics, settings));
  // An existing topic keeps its partition count; the consumer works from the actual one (numPartitions below).
  for (const m of ensured.partitionMismatches) logger.warn(m, 'topic_partitions_differ');
  const meta = await admin.fetchTopicMetadata({ topics: [topics.events] });
  // A group that never committed replays the log from the beginning: it may (re)create the state epoch.
  const committed = await admin.fetchOffsets({ groupId: config.TINYCDP_PROCESSOR_GROUP, topics: [topics.events] });
  const freshGroup = committed.every((t) => t.partitions.every((p) => p.offset === '-1'));
  await admin.disconnect();
  const numPartitions = meta.topics[0]?.partitions.length ?? config.TINYCDP_PARTITIONS;

  const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // With a schema registry: register the topic schemas (refuse to start if it fails), decode the wire
  // format as well as plain JSON, write segment changes in the wire format.
  const schemas = config.SCHEMA_REGISTRY_URL
    ? await connectSchemaRegistry({ url: config.SCHEMA_REGISTRY_URL, topics, clientId: 'tinycdp-processor' })
    : null;
  if (schemas) logger.info({ url: schemas.url, ids: schemas.ids }, 'schema_registry_connected');

  const repo = new RedisProfileStore(redis, config.TINYCDP_REDIS_PREFIX);
  // Pauses (retriable errors, nothing committed) if Redis comes back empty; see safety/redis-epoch.ts.
  const epoch = new RedisEpochGuard(redis, config.TINYCDP_REDIS_PREFIX, logger.child({ component: 'epoch' }), { registry });
  await epoch.ensure(async () => freshGroup);
  const sourceOptions = { sessionTimeoutMs: config.TINYCDP_SESSION_TIMEOUT_MS, fetchMb: config.TINYCDP_FETCH_MB };
  const events = kafkaEventSource(
    fetchThreads(config.TINYCDP_FETCH_THREAD),
    kafka,
    connection,
    topics.events,
    config.TINYCDP_PROCESSOR_GROUP,
    logger,
    sourceOptions,
  );
  const changesProducer = events.producer ?? producer;
  const processor = createProcessor({
    events: events.source,
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new EpochGuardedRepository(repo, epoch),
    changes: schemas
      ? wireRecordSink(changesProducer, topics.segmentChanges, schemas.encoder('segmentChanges'))
      : kafkaSink(changesProducer, topics.segmentChanges),
    ...(schemas ? { decodeValue: schemas.decodeValue } : {}),
    // Oversized poison values are cut so the DLQ always takes them (else one message stops its partition).
    dlq: boundedSink(kafkaSink(producer, topics.eventsDlq)),
    materializer: new RedisDefinitionCache(redis, config.TINYCDP_REDIS_PREFIX),
    eventsTopic: topics.events,
    numPartitions,
    clock: systemClock,
    logger,
    registry,
    scheduleIntervalMs: config.TINYCDP_SCHEDULE_INTERVAL_MS,
    // The rollout's lease/checkpoint/fences/status and the membership index: same guard as the profiles.
    members: new EpochGuardedSegmentMembers(new RedisSegmentMembers(redis, config.TINYCDP_REDIS_PREFIX), epoch),
    rollout: {
      store: new EpochGuardedRolloutStore(new RedisRolloutStore(redis, config.TINYCDP_REDIS_PREFIX), epoch),
      reader: new KafkaEventLogReader(kafka, topics.events, logger.child({ component: 'backfill' }), {
        groupPrefix: `${config.TINYCDP_PROCESSOR_GROUP}-backfill`,
      }),
      index: repo,
      options: { chunkSize: config.TINYCDP_BACKFILL_CHUNK, scanBatch: config.TINYCDP_ROLLOUT_BATCH },
    },
  });
  await processor.start();
  const server = await startProcessorHttp({ port: config.PORT, processor, redis, registry, checks: { redisEpoch: () => epoch.health() } });
  logger.info({ port: config.PORT }, 'processor_listening');

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'processor_stopping');
    server.close();
    await processor.stop();
    await producer.disconnect();
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
