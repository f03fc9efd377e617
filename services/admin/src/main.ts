// The admin process: the only place that reads the environment and opens connections.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '@tinycdp/common';
import { startServer } from '@tinycdp/http';
import { createPool, ensureAdminKey, migrate, PgKeyVerifier, PgSqlClient } from '@tinycdp/postgres';
import { Redis } from 'ioredis';
import pino from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { createAdminApp } from './app';
import { createRedisReaders } from './features/rollout/create-rollout-readers';
import { parseConfig } from './config';
import { adminRegistry } from './metrics';
import type { DefinitionPublisher } from './outbox/definition-publisher.port';
import { OutboxRelay } from './outbox/outbox-relay';

/**
 * Starts admin. `publisher` (the Kafka definitions-topic writer) is supplied by the caller; without
 * it the outbox keeps filling and is relayed once an instance with a publisher runs — nothing is lost.
 */
export async function startAdmin(env: Record<string, string | undefined>, publisher?: DefinitionPublisher) {
  const config = parseConfig(env);
  const logger = pino({ level: config.LOG_LEVEL, redact: ['req.headers.authorization', 'headers.authorization'] }).child({
    service: 'admin',
  });
  collectDefaultMetrics({ register: adminRegistry });

  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'tinycdp-admin' });
  const db = new PgSqlClient(pool);
  if (config.TINYCDP_MIGRATE) {
    const { applied } = await migrate(pool);
    logger.info({ applied }, 'migrations_applied');
  }
  if (config.TINYCDP_ADMIN_KEY !== undefined) {
    const r = await ensureAdminKey(db, config.TINYCDP_ADMIN_KEY);
    if (r.revoked) logger.warn({ keyId: r.id }, 'admin_key_revoked'); // the env key exists but was revoked
    else logger.info({ keyId: r.id, created: r.created }, 'admin_key_ensured');
  }

  let producer: import('kafkajs').Producer | undefined;
  if (!publisher && config.KAFKA_BROKERS) {
    const { Kafka, logLevel } = await import('kafkajs');
    const { DefinitionsWriter, ensureTopics, topicNames, topicSettingsFromConfig, topicSpecs } = await import('@tinycdp/kafka');
    const kafka = new Kafka({ clientId: 'tinycdp-admin', brokers: config.KAFKA_BROKERS.split(','), logLevel: logLevel.WARN });
    const topics = topicNames(config.TINYCDP_TOPIC_PREFIX);
    const admin = kafka.admin();
    await admin.connect();
    const settings = topicSettingsFromConfig({ partitions: config.TINYCDP_PARTITIONS, replicationFactor: config.TINYCDP_REPLICATION_FACTOR });
    const ensured = await ensureTopics(admin, topicSpecs(topics, settings));
    // An existing topic keeps its partition count (re-partitioning would move profiles between partitions).
    for (const m of ensured.partitionMismatches) logger.warn(m, 'topic_partitions_differ');
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    publisher = new DefinitionsWriter(producer, topics.definitions);
  }
  const relay = publisher ? new OutboxRelay({ db, publisher, logger: logger.child({ component: 'outbox' }) }) : undefined;
  if (!relay) logger.warn({}, 'outbox_relay_disabled');
  // Without Redis, definitions show their stored status and the members routes answer 503.
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 }) : null;
  const readers = redis ? createRedisReaders(redis, config.TINYCDP_REDIS_PREFIX) : null;
  const keys = new PgKeyVerifier(db, { onError: (err) => logger.warn({ err }, 'key_verification_db_error') });
  const app = createAdminApp({
    db,
    keys,
    clock: systemClock,
    logger,
    ...(relay ? { onDefinitionsChanged: () => relay.notify() } : {}),
    ...(readers ? readers : {}),
  });
  relay?.start();
  const server = await startServer(app, config.PORT, '0.0.0.0');
  logger.info({ port: server.port }, 'admin_listening');

  return {
    server,
    async stop() {
      await server.close();
      await relay?.stop();
      await producer?.disconnect();
      await pool.end();
    },
  };
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isEntry) {
  startAdmin(process.env).then(
    (running) => {
      const shutdown = () => void running.stop().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
