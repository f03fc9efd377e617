// Test support (not exported): the three HTTP edges — ingest, decide, admin — built in-process from
// their app factories against real backends (Kafka topic, Redis prefix, Postgres schema given by the
// test), sharing one Postgres-backed KeyVerifier and one captured pino logger. Used by the edge tests
// (auth matrix, bad-input corpus). Production code may not import @tinycdp/testkit, so the test passes
// the addresses and the isolated schema in.
import { Writable } from 'node:stream';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { createDecideApp, decideRedisOptions, type DecideApp } from '@tinycdp/decide';
import type { Definition } from '@tinycdp/engine';
import { startServer, type RunningServer, type ServerTimeouts } from '@tinycdp/http';
import { createIngestApp, KafkaSink, type IngestDeps } from '@tinycdp/ingest';
import { BatchingProducer, PRODUCER_CONFIG, ensureTopics } from '@tinycdp/kafka';
import { createKey, createPool, migrate, PgKeyVerifier, PgSqlClient } from '@tinycdp/postgres';
import { RedisDefinitionCache } from '@tinycdp/redis';
import { createAdminApp, type AdminDeps } from '../app';
import type { SchemaForTest } from './test-app';

export interface EdgeSecrets {
  readonly write: string;
  readonly read: string;
  readonly admin: string;
  readonly revokedWrite: string;
  readonly revokedRead: string;
  readonly revokedAdmin: string;
}

export interface EdgeStack {
  readonly ingest: RunningServer;
  readonly decide: { url: string; port: number; app: DecideApp };
  readonly admin: RunningServer;
  readonly secrets: EdgeSecrets;
  readonly db: PgSqlClient;
  readonly verifier: PgKeyVerifier;
  /** Every log line any of the three apps wrote (pino JSON, level trace and up). */
  readonly logs: string[];
  readonly logger: Logger;
  readonly eventsTopic: string;
  readonly redis: Redis;
  close(): Promise<void>;
}

export interface EdgeStackOptions {
  readonly kafkaBrokers: readonly string[];
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly schema: SchemaForTest;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
  readonly ingest?: Partial<Pick<IngestDeps, 'rateLimit' | 'limits'>>;
  readonly admin?: Partial<Pick<AdminDeps, 'rateLimit' | 'bodyLimit'>>;
  readonly timeouts?: ServerTimeouts;
}

/** What decide serves: one boolean flag on one segment, and a string flag. */
export const EDGE_DEFINITIONS: Definition[] = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'segment', key: 'buyers', rule: 'trait("buys") >= 1', version: 1 },
  { kind: 'flag', key: 'beta', enabled: true, valueType: 'boolean', rules: [{ when: 'segment("buyers")', value: true }], default: false, version: 1 },
  { kind: 'flag', key: 'color', enabled: true, valueType: 'string', rules: [], default: 'gray', version: 1 },
];

/**
 * What `startIsolatedEdgeStack` needs from @tinycdp/testkit. This file may not import testkit (lint), so
 * the test passes the module in (`import * as testkit from '@tinycdp/testkit'`).
 */
export interface EdgeTestkit {
  getServices(): { readonly kafkaBrokers: readonly string[]; readonly redisUrl: string; readonly databaseUrl: string };
  createIsolatedSchema(databaseUrl: string): Promise<SchemaForTest>;
  isolatedTopicPrefix(): string;
  isolatedRedisPrefix(): string;
}

/** The edges on this test run's shared backends, in a fresh schema, topic prefix and Redis prefix. */
export async function startIsolatedEdgeStack(
  testkit: EdgeTestkit,
  opts: Pick<EdgeStackOptions, 'ingest' | 'admin' | 'timeouts'> = {},
): Promise<EdgeStack> {
  const services = testkit.getServices();
  return startEdgeStack({
    kafkaBrokers: services.kafkaBrokers,
    redisUrl: services.redisUrl,
    databaseUrl: services.databaseUrl,
    schema: await testkit.createIsolatedSchema(services.databaseUrl),
    topicPrefix: testkit.isolatedTopicPrefix(),
    redisPrefix: testkit.isolatedRedisPrefix(),
    ...opts,
  });
}

export async function startEdgeStack(o: EdgeStackOptions): Promise<EdgeStack> {
  const logs: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(line);
        cb();
      },
    }),
  );

  const pool = createPool({ connectionString: o.databaseUrl, schema: o.schema.schema, max: 5 });
  await migrate(pool);
  const db = new PgSqlClient(pool);
  const verifier = new PgKeyVerifier(db, { ttlMs: 0, onError: (err) => logger.warn({ err }, 'key_verification_db_error') });
  const mk = async (scope: 'write' | 'read' | 'admin', name: string) => (await createKey(db, scope, name)).key;
  const revoke = async (scope: 'write' | 'read' | 'admin') => {
    const k = await createKey(db, scope, `revoked ${scope}`);
    await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [k.id]);
    return k.key;
  };
  const secrets: EdgeSecrets = {
    write: await mk('write', 'edge writer'),
    read: await mk('read', 'edge reader'),
    admin: await mk('admin', 'edge admin'),
    revokedWrite: await revoke('write'),
    revokedRead: await revoke('read'),
    revokedAdmin: await revoke('admin'),
  };

  const kafka = new Kafka({ clientId: 'edge-stack', brokers: [...o.kafkaBrokers], logLevel: logLevel.NOTHING });
  const eventsTopic = `${o.topicPrefix}events`;
  const kadmin: Admin = kafka.admin();
  await kadmin.connect();
  await ensureTopics(kadmin, [{ topic: eventsTopic, numPartitions: 1, replicationFactor: 1, configEntries: [] }]);
  const producer: Producer = kafka.producer(PRODUCER_CONFIG);
  await producer.connect();
  const ingest = await startServer(
    createIngestApp({
      sink: new KafkaSink({ producer: new BatchingProducer(producer), topic: eventsTopic, admin: kadmin }),
      keys: verifier,
      clock: systemClock,
      logger,
      registry: new Registry(),
      ...(o.ingest ?? {}),
    }),
    0,
    '127.0.0.1',
    o.timeouts,
  );

  const redis = new Redis(o.redisUrl);
  const cache = new RedisDefinitionCache(redis, o.redisPrefix);
  for (const d of EDGE_DEFINITIONS) await cache.put(`${d.kind}:${d.key}`, d.version, JSON.stringify(d));
  const decideRedis = new Redis(o.redisUrl, decideRedisOptions(200));
  decideRedis.on('error', () => undefined);
  const decideApp = createDecideApp({
    redis: decideRedis,
    keys: verifier,
    prefix: o.redisPrefix,
    clock: systemClock,
    logger,
    registry: new Registry(),
    redisTimeoutMs: 200,
  });
  const decided = await decideApp.listen(0, '127.0.0.1');

  const admin = await startServer(
    createAdminApp({ db, keys: verifier, logger, registry: new Registry(), ...(o.admin ?? {}) }),
    0,
    '127.0.0.1',
    o.timeouts,
  );

  return {
    ingest,
    decide: { url: decided.url, port: decided.port, app: decideApp },
    admin,
    secrets,
    db,
    verifier,
    logs,
    logger,
    eventsTopic,
    redis,
    async close() {
      await Promise.allSettled([ingest.close(), admin.close(), decideApp.close()]);
      await producer.disconnect().catch(() => undefined);
      await kadmin.deleteTopics({ topics: [eventsTopic] }).catch(() => undefined);
      await kadmin.disconnect().catch(() => undefined);
      const keys = await redis.keys(`${o.redisPrefix}*`).catch(() => [] as string[]);
      if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
      decideRedis.disconnect();
      await pool.end().catch(() => undefined);
      await o.schema.drop().catch(() => undefined);
    },
  };
}
