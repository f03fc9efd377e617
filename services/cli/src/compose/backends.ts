import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PGlite } from '@electric-sql/pglite';
import { systemClock } from '@tinycdp/common';
import { decodeProfile, type ProfileState } from '@tinycdp/engine';
import {
  BatchingProducer,
  DEFAULT_TOPIC_SETTINGS,
  DefinitionsWriter,
  PRODUCER_CONFIG,
  ThreadedProducer,
  ensureTopics,
  produceThread,
  topicNames,
  topicSettingsFromConfig,
  topicSpecs,
  type TopicNames,
} from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import {
  EmbeddedEventSink,
  FileEventLog,
  FileLogEventReader,
  LogRecordSink,
  MemoryDefinitionCache,
  MemoryProfileRepository,
  MemoryRolloutStore,
  MemorySegmentMembers,
} from '@tinycdp/embedded';
import { PGliteSqlClient, PgKeyVerifier, PgSqlClient, createPool, migrate, type SqlClient } from '@tinycdp/postgres';
import type { EventSink } from '@tinycdp/ingest';
import {
  KafkaDefinitionSource,
  KafkaEventLogReader,
  kafkaEventSource,
  fetchThreads,
  RedisEpochGuard,
  kafkaSink,
  type DefinitionSource,
  type EventLogReader,
  type EventSource,
  type ProfileRepository,
  type RecordSink,
} from '@tinycdp/processor';
import type { AllInOneConfig } from './config';
import { FileLogDefinitionSource, FileLogEventSource, fileLogDefinitionPublisher } from './embedded-sources';
import { SwappableRepository } from './swappable-repository';

/** The event log: Kafka, or the durable file log under the data dir. */
export interface LogBackend {
  readonly kind: 'kafka' | 'file';
  readonly topics: TopicNames;
  readonly numPartitions: number;
  readonly eventSink: EventSink;
  readonly changes: RecordSink;
  readonly dlq: RecordSink;
  readonly definitionPublisher: { publish(records: readonly { key: string; value: string | null }[]): Promise<void> };
  events(group: string, logger: Logger): EventSource;
  /** True when `group` has committed offsets on the events topic (a fresh group replays the whole log). */
  hasCommitted(group: string): Promise<boolean>;
  /** Reads the events topic by partition and offset (backfill of new aggregate series). */
  eventReader(group: string, logger: Logger): EventLogReader;
  definitions(): DefinitionSource;
  /** Every value of the segment-changes topic so far (embedded reconcile) — file log only. */
  readChanges?(): Promise<string[]>;
  /** Tails segment changes (the embedded HTTP stream); returns a stop function — file log only. */
  tailChanges?(onValue: (value: string, offset: string) => void, fromBeginning: boolean): Promise<() => Promise<void>>;
  /** Forgets a consumer group's offsets (embedded state is rebuilt from the start of the log). */
  resetGroup?(group: string): Promise<void>;
  close(): Promise<void>;
}

/** Profile state: Redis, or in memory (rebuilt from the log at start). */
export interface StateBackend {
  readonly kind: 'redis' | 'memory';
  readonly repo: ProfileRepository & {
    listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }>;
    countProfileIds(): Promise<number>;
  };
  readonly definitions: RedisDefinitionCache | MemoryDefinitionCache;
  readonly redis: Redis | null;
  readonly redisUrl: string | null;
  readonly prefix: string;
  /** Segment membership index (processor writes, admin reads). */
  readonly members: RedisSegmentMembers | MemorySegmentMembers;
  /** Rollout checkpoints, fences and status. */
  readonly rollout: RedisRolloutStore | MemoryRolloutStore;
  /** Redis state only: the state-loss guard the processor's writes go through (safety/redis-epoch.ts). */
  readonly epoch: RedisEpochGuard | null;
  /** Admin's profile reader. */
  getProfile(id: string): Promise<ProfileState | null>;
  close(): Promise<void>;
}

/** Definitions and API keys: Postgres, or PGlite under the data dir. */
export interface ConfigBackend {
  readonly kind: 'postgres' | 'pglite';
  readonly db: SqlClient;
  readonly keys: PgKeyVerifier;
  close(): Promise<void>;
}

export async function openLogBackend(config: AllInOneConfig, logger: Logger): Promise<LogBackend> {
  const topics = topicNames(config.TINYCDP_TOPIC_PREFIX);
  if (config.KAFKA_BROKERS) {
    // Short timeouts and few retries: when the broker is down, ingest must answer 503 in about two
    // seconds (measured by services/ingest/src/kafka-outage.int.test.ts), not hang for kafkajs' 30 s.
    const connection = { clientId: 'tinycdp', brokers: config.KAFKA_BROKERS.split(','), connectionTimeout: 1_000, requestTimeout: 5_000 };
    const retry = { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 };
    const kafka = new Kafka({ ...connection, logLevel: logLevel.WARN, retry });
    const admin = kafka.admin();
    await admin.connect();
    const settings = topicSettingsFromConfig({ partitions: config.TINYCDP_PARTITIONS, replicationFactor: config.TINYCDP_REPLICATION_FACTOR });
    const ensured = await ensureTopics(admin, topicSpecs(topics, settings));
    // An existing topic keeps its partition count; numPartitions below is the actual one.
    for (const m of ensured.partitionMismatches) logger.warn(m, 'topic_partitions_differ');
    const meta = await admin.fetchTopicMetadata({ topics: [topics.events] });
    const numPartitions = meta.topics[0]?.partitions.length ?? config.TINYCDP_PARTITIONS;
    const producer: Producer = kafka.producer(PRODUCER_CONFIG);
    await producer.connect();
    // As services/ingest: the events' producer on a thread of its own from 2 cores (TINYCDP_PRODUCE_THREAD).
    const eventsProducer = produceThread(config.TINYCDP_PRODUCE_THREAD) ? new ThreadedProducer({ ...connection, retry }) : producer;
    if (eventsProducer !== producer) await eventsProducer.connect();
    const batching = new BatchingProducer(eventsProducer, { ackTimeoutMs: 5_000 });
    const { KafkaSink } = await import('@tinycdp/ingest');
    return {
      kind: 'kafka',
      topics,
      numPartitions,
      eventSink: new KafkaSink({ producer: batching, topic: topics.events, admin }),
      changes: kafkaSink(producer, topics.segmentChanges),
      dlq: kafkaSink(producer, topics.eventsDlq),
      definitionPublisher: new DefinitionsWriter(producer, topics.definitions),
      // As services/processor: the consumer on Kafka threads of its own from 2 cores (TINYCDP_FETCH_THREAD).
      events: (group, log) => kafkaEventSource(fetchThreads(config.TINYCDP_FETCH_THREAD), kafka, connection, topics.events, group, log).source,
      async hasCommitted(group) {
        const committed = await admin.fetchOffsets({ groupId: group, topics: [topics.events] });
        return committed.some((t) => t.partitions.some((p) => p.offset !== '-1'));
      },
      eventReader: (group, log) => new KafkaEventLogReader(kafka, topics.events, log, { groupPrefix: `${group}-backfill` }),
      definitions: () => new KafkaDefinitionSource(kafka, topics.definitions),
      async close() {
        await batching.flush();
        if (eventsProducer !== producer) await eventsProducer.disconnect();
        await producer.disconnect();
        await admin.disconnect();
      },
    };
  }

  const dir = join(resolve(config.TINYCDP_DATA_DIR), 'eventlog');
  const log = await FileEventLog.open(dir, { lingerMs: 2 });
  for (const r of log.recovery) logger.warn(r, 'event_log_tail_recovered');
  const parts = Math.min(config.TINYCDP_PARTITIONS, 4);
  await log.createTopic(topics.events, { partitions: parts, retentionMs: DEFAULT_TOPIC_SETTINGS.eventsRetentionMs });
  await log.createTopic(topics.eventsDlq, { partitions: 1 });
  await log.createTopic(topics.segmentChanges, { partitions: 1, retentionMs: DEFAULT_TOPIC_SETTINGS.changesRetentionMs });
  await log.createTopic(topics.definitions, { partitions: 1 });
  return {
    kind: 'file',
    topics,
    numPartitions: log.partitions(topics.events),
    eventSink: new EmbeddedEventSink(log, topics.events),
    changes: new LogRecordSink(log, topics.segmentChanges),
    dlq: new LogRecordSink(log, topics.eventsDlq),
    definitionPublisher: fileLogDefinitionPublisher(log, topics.definitions),
    events: (group, lg) => new FileLogEventSource(log, topics.events, group, (err) => lg.error({ err }, 'event_batch_failed')),
    hasCommitted: async (group) => (await log.committed(group, topics.events)).size > 0,
    eventReader: () => new FileLogEventReader(log, topics.events),
    definitions: () => new FileLogDefinitionSource(log, topics.definitions),
    async readChanges() {
      const out: string[] = [];
      for (let p = 0; p < log.partitions(topics.segmentChanges); p++) {
        const { low, high } = log.offsets(topics.segmentChanges, p);
        for (let off = low; off < high; ) {
          const batch = await log.read(topics.segmentChanges, p, off, 5000);
          if (batch.length === 0) break;
          for (const r of batch) if (r.value) out.push(r.value.toString('utf8'));
          off = Number(batch[batch.length - 1]!.offset) + 1;
        }
      }
      return out;
    },
    async tailChanges(onValue, fromBeginning) {
      const c = await log.tail(
        topics.segmentChanges,
        async (messages) => {
          for (const m of messages) if (m.value) onValue(m.value.toString('utf8'), m.offset);
        },
        { fromBeginning },
      );
      return () => c.stop();
    },
    resetGroup: (group) => log.deleteGroup(group),
    close: () => log.close(),
  };
}

export async function openStateBackend(config: AllInOneConfig, logger: Logger): Promise<StateBackend> {
  const prefix = config.TINYCDP_REDIS_PREFIX;
  if (config.REDIS_URL) {
    const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
    const repo = new RedisProfileStore(redis, prefix);
    const epoch = new RedisEpochGuard(redis, prefix, logger.child({ component: 'epoch' }));
    return {
      kind: 'redis',
      repo,
      definitions: new RedisDefinitionCache(redis, prefix),
      members: new RedisSegmentMembers(redis, prefix),
      rollout: new RedisRolloutStore(redis, prefix),
      epoch,
      redis,
      redisUrl: config.REDIS_URL,
      prefix,
      async getProfile(id) {
        const p = (await repo.load([{ id }])).get(id)!;
        return p.rev === 0 ? null : decodeProfile(p.fields, id);
      },
      async close() {
        epoch.close();
        redis.disconnect();
      },
    };
  }
  const repo = new SwappableRepository(new MemoryProfileRepository(systemClock));
  return {
    kind: 'memory',
    repo,
    definitions: new MemoryDefinitionCache(),
    members: new MemorySegmentMembers(),
    rollout: new MemoryRolloutStore(),
    epoch: null,
    redis: null,
    redisUrl: null,
    prefix,
    async getProfile(id) {
      const p = (await repo.load([{ id }])).get(id)!;
      return p.rev === 0 ? null : decodeProfile(p.fields, id);
    },
    async close() {},
  };
}

export async function openConfigBackend(config: AllInOneConfig, logger: Logger): Promise<ConfigBackend> {
  const runMigrations = config.TINYCDP_MIGRATE === 'true' || config.TINYCDP_MIGRATE === '1';
  let db: SqlClient;
  let close: () => Promise<void>;
  let kind: ConfigBackend['kind'];
  if (config.DATABASE_URL) {
    const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'tinycdp' });
    db = new PgSqlClient(pool);
    close = () => pool.end();
    kind = 'postgres';
  } else {
    const dir = join(resolve(config.TINYCDP_DATA_DIR), 'pglite');
    await mkdir(dir, { recursive: true });
    const pg = new PGlite(dir);
    await pg.waitReady;
    db = new PGliteSqlClient(pg);
    close = () => pg.close();
    kind = 'pglite';
  }
  if (runMigrations || kind === 'pglite') {
    const { applied } = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations_applied');
  }
  const keys = new PgKeyVerifier(db, { onError: (err) => logger.warn({ err }, 'key_verification_db_error') });
  return { kind, db, keys, close };
}
