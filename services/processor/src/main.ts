// The processor process: the only place that reads the environment and opens connections.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { DEFAULT_TOPIC_SETTINGS, ensureTopics, topicNames, topicSpecs } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import { createProcessor } from './app';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';
import { parseConfig } from './config';
import { startProcessorHttp } from './http/server';

async function main() {
  const config = parseConfig(process.env);
  const logger = pino({ level: config.LOG_LEVEL }).child({ service: 'processor' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const kafka = new Kafka({ clientId: 'tinycdp-processor', brokers: config.KAFKA_BROKERS.split(','), logLevel: logLevel.WARN });
  const topics = topicNames(config.TINYCDP_TOPIC_PREFIX);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: config.TINYCDP_PARTITIONS }));
  const meta = await admin.fetchTopicMetadata({ topics: [topics.events] });
  await admin.disconnect();
  const numPartitions = meta.topics[0]?.partitions.length ?? config.TINYCDP_PARTITIONS;

  const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const processor = createProcessor({
    events: new KafkaEventSource(kafka, topics.events, config.TINYCDP_PROCESSOR_GROUP, logger, 500, config.TINYCDP_SESSION_TIMEOUT_MS),
    definitions: new KafkaDefinitionSource(kafka, topics.definitions),
    repo: new RedisProfileStore(redis, config.TINYCDP_REDIS_PREFIX),
    changes: kafkaSink(producer, topics.segmentChanges),
    dlq: kafkaSink(producer, topics.eventsDlq),
    materializer: new RedisDefinitionCache(redis, config.TINYCDP_REDIS_PREFIX),
    eventsTopic: topics.events,
    numPartitions,
    clock: systemClock,
    logger,
    registry,
    scheduleIntervalMs: config.TINYCDP_SCHEDULE_INTERVAL_MS,
  });
  await processor.start();
  const server = await startProcessorHttp({ port: config.PORT, processor, redis, registry });
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
