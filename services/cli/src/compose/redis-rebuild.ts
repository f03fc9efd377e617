import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { RedisDefinitionCache, RedisProfileStore } from '@tinycdp/redis';
import { topicNames } from '@tinycdp/kafka';
import {
  KafkaDefinitionSource,
  KafkaEventSource,
  createProcessor,
  foldPublished,
  kafkaSink,
  reconcileWithPublished,
  type RecordSink,
} from '@tinycdp/processor';

export interface RedisRebuildOptions {
  readonly brokers: string[];
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
  /** The live processors' consumer group: must have no members; its offsets are moved to the end. */
  readonly group: string;
  readonly logger: Logger;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Rebuilds Redis profile state from the event log (e.g. after Redis lost its data): deletes the
 * prefix's profile keys, replays `tinycdp.events` from the beginning with a private consumer group
 * (segment changes held back: they were published before), publishes only what subscribers were not
 * told yet (reconcile against the segment-changes topic), and moves the live group's offsets to where
 * the replay ended so processors resume right after it. Processors must be stopped meanwhile.
 * Throws when the live group still has members.
 */
export async function rebuildRedisState(o: RedisRebuildOptions): Promise<{ profiles: number; changes: number; events: number }> {
  const kafka = new Kafka({ clientId: 'tinycdp-rebuild', brokers: o.brokers, logLevel: logLevel.WARN });
  const topics = topicNames(o.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  const redis = new Redis(o.redisUrl, { enableAutoPipelining: true });
  const producer = kafka.producer();
  try {
    const groups = await admin.describeGroups([o.group]);
    const members = groups.groups[0]?.members.length ?? 0;
    if (members > 0) throw new Error(`consumer group ${o.group} has ${members} live member(s): stop the processors first`);

    const high = await admin.fetchTopicOffsets(topics.events);
    const total = high.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    const numPartitions = high.length;

    // 1. Drop the old view (profiles, links, schedules, outboxes, dedupe ids) under this prefix.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${o.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      const drop = keys.filter((k) => !k.endsWith('{defs}'));
      if (drop.length > 0) await redis.unlink(...drop);
    } while (cursor !== '0');

    // 2. Replay with a private group, changes held back.
    await producer.connect();
    const repo = new RedisProfileStore(redis, o.redisPrefix);
    const held: RecordSink = { send: async () => undefined };
    const replayGroup = `${o.group}.rebuild.${Date.now()}`;
    const processor = createProcessor({
      events: new KafkaEventSource(kafka, topics.events, replayGroup, o.logger),
      definitions: new KafkaDefinitionSource(kafka, topics.definitions),
      repo,
      changes: held,
      dlq: { send: async () => undefined }, // dead letters were written by the first pass
      materializer: new RedisDefinitionCache(redis, o.redisPrefix),
      eventsTopic: topics.events,
      numPartitions,
      clock: systemClock,
      logger: o.logger,
      registry: new Registry(),
    });
    await processor.start();
    const target = new Map(high.map((p) => [p.partition, Number(p.high)]));
    for (;;) {
      const lag = await processor.lag();
      const done = lag.reduce((n, l) => n + Math.min(Math.max(Number(l.committed), 0), target.get(l.partition) ?? 0), 0);
      o.onProgress?.(done, total);
      if (lag.every((l) => Number(l.committed) >= (target.get(l.partition) ?? 0))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await processor.stop();

    // 3. Tell subscribers only what changed relative to what they were told.
    const published = foldPublished(await readTopic(kafka, admin, topics.segmentChanges));
    const ids: string[] = [];
    let c = '0';
    do {
      const page = await repo.listProfileIds(c, 1000);
      ids.push(...page.ids);
      c = page.cursor;
    } while (c !== '0');
    const r = await reconcileWithPublished({ ...processor.updateDeps, changes: kafkaSink(producer, topics.segmentChanges) }, published, ids, systemClock.now());

    // 4. Live processors resume right after what the replay applied.
    await admin.setOffsets({ groupId: o.group, topic: topics.events, partitions: high.map((p) => ({ partition: p.partition, offset: p.high })) });
    await admin.deleteGroups([replayGroup]).catch(() => undefined);
    return { profiles: ids.length, changes: r.changes, events: total };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
    redis.disconnect();
  }
}

/** Every value of a topic from its beginning up to its end as of now. */
async function readTopic(kafka: Kafka, admin: ReturnType<Kafka['admin']>, topic: string): Promise<string[]> {
  const high = await admin.fetchTopicOffsets(topic);
  const target = new Map(high.map((p) => [p.partition, BigInt(p.high)]));
  const pending = new Set(high.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => p.partition));
  const out: string[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `tinycdp-read-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (BigInt(m.offset) < (target.get(batch.partition) ?? 0n) && m.value) out.push(m.value.toString('utf8'));
          }
          const last = batch.messages[batch.messages.length - 1];
          if (last && BigInt(last.offset) + 1n >= (target.get(batch.partition) ?? 0n)) pending.delete(batch.partition);
          if (pending.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}
