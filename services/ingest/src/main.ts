// The only file of the ingest service that reads process.env and opens connections.
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import pino from 'pino';
import { systemClock } from '@tinycdp/common';
import { startServer } from '@tinycdp/http';
import { PgKeyVerifier, PgSqlClient, createPool } from '@tinycdp/postgres';
import { BatchingProducer, PRODUCER_CONFIG, ThreadedProducer, connectSchemaRegistry, type KafkaConnection, ensureTopics, topicNames, topicSettingsFromConfig, topicSpecs } from '@tinycdp/kafka';
import { createIngestApp } from './app';
import { KafkaSink } from './adapters/kafka-sink';
import { loadIngestConfig } from './config';

async function main(): Promise<void> {
  const config = loadIngestConfig(process.env);
  const logger = pino({ name: 'ingest', level: config.logLevel });

  const connection: KafkaConnection = {
    clientId: 'tinycdp-ingest',
    brokers: [...config.kafkaBrokers],
    // Short timeouts and few retries: when the broker is down, ingest must answer 503 in about two
    // seconds (measured by services/ingest/src/kafka-outage.int.test.ts), not hang for kafkajs' 30 s.
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  };
  const kafka = new Kafka({ ...connection, logLevel: kafkaLogLevel.WARN });
  const admin = kafka.admin();
  const producer = config.produceThread ? new ThreadedProducer(connection) : kafka.producer(PRODUCER_CONFIG);
  await admin.connect();
  const names = topicNames(config.topicPrefix);
  const ensured = await ensureTopics(admin, topicSpecs(names, topicSettingsFromConfig(config)));
  // An existing topic keeps its partition count (re-partitioning would move profiles between partitions).
  for (const m of ensured.partitionMismatches) logger.warn(m, 'topic_partitions_differ');
  // With a schema registry: register the topic schemas (refuse to start if it fails), write the wire format.
  const schemas = config.schemaRegistryUrl ? await connectSchemaRegistry({ url: config.schemaRegistryUrl, topics: names, clientId: 'tinycdp-ingest' }) : null;
  if (schemas) logger.info({ url: schemas.url, ids: schemas.ids }, 'schema_registry_connected');
  await producer.connect();
  const batching = new BatchingProducer(producer, { ackTimeoutMs: 5_000 });

  // Keys are verified against Postgres with a short cache; known keys keep working through a brief outage.
  const pool = createPool({ connectionString: config.databaseUrl, applicationName: 'tinycdp-ingest', max: 4 });
  const keys = new PgKeyVerifier(new PgSqlClient(pool), { onError: (err) => logger.warn({ err }, 'key_verification_db_error') });

  const app = createIngestApp({
    sink: new KafkaSink({ producer: batching, topic: names.events, admin, ...(schemas ? { encoder: schemas.encoder('events') } : {}) }),
    keys,
    clock: systemClock,
    logger,
  });
  const server = await startServer(app, config.port, '0.0.0.0');
  logger.info({ port: server.port, topic: names.events, produceThread: config.produceThread }, 'ingest_started');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ingest_stopping');
    await server.close(); // stop taking requests; in-flight ones finish
    await batching.flush();
    await producer.disconnect();
    await admin.disconnect();
    await pool.end();
    logger.info('ingest_stopped');
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Config errors and start-up failures: print and refuse to start.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
