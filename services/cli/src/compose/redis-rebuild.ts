import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers, redisKeys } from '@tinycdp/redis';
import { partitionForKey, topicNames } from '@tinycdp/kafka';
import {
  KafkaDefinitionSource,
  KafkaEventLogReader,
  KafkaEventSource,
  createProcessor,
  foldPublished,
  kafkaSink,
  reconcileWithPublished,
  type PublishedProfile,
  type RecordSink,
} from '@tinycdp/processor';

export interface RedisRebuildOptions {
  readonly brokers: string[];
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
  /** The live processors' consumer group: must have no members; its offsets are moved past the replay. */
  readonly group: string;
  readonly logger: Logger;
  /** Replay progress (events applied of the log's events when the rebuild started); awaited. */
  readonly onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Test hook: runs when the staging state is complete, right before the switch-over (live keys still old). */
  readonly beforeSwitch?: (stagingPrefix: string) => Promise<void>;
}

export interface RedisRebuildResult {
  /** Profiles in the rebuilt state. */
  readonly profiles: number;
  /** Segment changes published by the reconciliation (what subscribers had not been told). */
  readonly changes: number;
  /** Events in the log when the rebuild started. */
  readonly events: number;
  /** Keys renamed onto their live names in the switch-over. */
  readonly keys: number;
}

/** Where a rebuild stages its state: under the live prefix, so every staging key keeps its live key's hash tag. */
export function stagingPrefix(redisPrefix: string): string {
  return `${redisPrefix}rebuild:`;
}

/**
 * Rebuilds Redis profile state from the event log (e.g. after Redis lost its data) and switches over
 * atomically. Processors must be stopped meanwhile (throws when the live group still has members).
 *
 * 1. The log is replayed from the beginning with a private consumer group into a STAGING prefix
 *    (`<prefix>rebuild:`; every staging key is its live key with `rebuild:` after the prefix, so both
 *    share the hash tag `{p:<id>}`, `{sched:<n>}`, …). The replay is wired like a live processor
 *    (profiles, links, schedules, segment membership index, rollout checkpoint) except that segment
 *    changes are held back (published before) and dead letters are sent only for offsets the live group
 *    never committed. Definitions are materialized into the live `{defs}` hash, as the live processors
 *    do; nothing writes the epoch marker until the switch.
 * 2. Subscribers are told only what they were not told yet (reconciled against the segment-changes
 *    topic, written into the staging state before it goes live).
 * 3. Switch-over in ONE MULTI/EXEC: UNLINK every live key of the state (profiles, outboxes, message
 *    ids, links, schedules, profile index, membership sets, rollout checkpoint and fences, the epoch
 *    marker), RENAME every staging key onto its live name, SET a new epoch marker (processors' state
 *    guard resumes). Kept: the definitions hash `{defs}` and the rollout lease. `{defs}:status` is
 *    replaced by the replay's when it wrote one (it describes the rollout of the state being switched in).
 *    Until EXEC the live keys are untouched: decide keeps answering from the old state (or, after a wipe,
 *    with defaults); after it, from the new one — never from a half-built one. EXEC blocks Redis for its
 *    duration (roughly a microsecond per key).
 * 4. The live group's offsets are moved to where the replay stopped, so processors resume right after it.
 *
 * Needs a standalone Redis primary: the transaction spans many hash slots, which Redis Cluster refuses
 * (CROSSSLOT), so on a cluster the switch-over fails before changing anything. One rebuild at a time per
 * prefix. On failure before the switch the staging keys are deleted and the live state is as it was.
 * @throws Error when the live group has members, Kafka or Redis fail, or the switch-over is refused.
 */
export async function rebuildRedisState(o: RedisRebuildOptions): Promise<RedisRebuildResult> {
  const kafka = new Kafka({ clientId: 'tinycdp-rebuild', brokers: o.brokers, logLevel: logLevel.WARN });
  const topics = topicNames(o.topicPrefix);
  const staging = stagingPrefix(o.redisPrefix);
  const admin = kafka.admin();
  await admin.connect();
  const redis = new Redis(o.redisUrl, { enableAutoPipelining: true });
  const producer = kafka.producer();
  let switched = false;
  try {
    const groups = await admin.describeGroups([o.group]);
    const members = groups.groups[0]?.members.length ?? 0;
    if (members > 0) throw new Error(`consumer group ${o.group} has ${members} live member(s): stop the processors first`);

    const marks = await admin.fetchTopicOffsets(topics.events);
    const total = marks.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    const liveCommitted = await committedOffsets(admin, o.group, topics.events);

    // A staging state left by a rebuild that crashed is not trusted: start from nothing.
    await unlinkAll(redis, await scanKeys(redis, staging));

    // 1. Replay into the staging prefix with a private group, changes held back.
    await producer.connect();
    const repo = new RedisProfileStore(redis, staging);
    const rollout = new RedisRolloutStore(redis, staging);
    const held: RecordSink = { send: async () => undefined };
    const replayGroup = `${o.group}.rebuild.${Date.now()}`;
    const processor = createProcessor({
      events: new KafkaEventSource(kafka, topics.events, replayGroup, o.logger),
      definitions: new KafkaDefinitionSource(kafka, topics.definitions),
      repo,
      changes: held,
      dlq: newDeadLetters(kafkaSink(producer, topics.eventsDlq), liveCommitted),
      materializer: new RedisDefinitionCache(redis, o.redisPrefix),
      eventsTopic: topics.events,
      numPartitions: marks.length,
      clock: systemClock,
      logger: o.logger,
      registry: new Registry(),
      members: new RedisSegmentMembers(redis, staging),
      rollout: {
        store: rollout,
        reader: new KafkaEventLogReader(kafka, topics.events, o.logger.child({ component: 'backfill' }), { groupPrefix: `${replayGroup}-backfill` }),
        index: repo,
      },
    });
    await processor.start();
    try {
      const target = new Map(marks.map((p) => [p.partition, { high: Number(p.high), low: Number(p.low) }]));
      const reached = (partition: number, committed: number) => {
        const t = target.get(partition);
        return !t || t.high <= t.low || committed >= t.high;
      };
      for (;;) {
        const lag = await processor.lag();
        const done = lag.reduce((n, l) => {
          const t = target.get(l.partition);
          return t ? n + Math.max(0, Math.min(Number(l.committed), t.high) - t.low) : n;
        }, 0);
        await o.onProgress?.(done, total);
        if (lag.every((l) => reached(l.partition, Number(l.committed)))) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      // The replay's rollout coordinator adopts its plan as the state's base on its first look (bounded:
      // without it the live processors adopt theirs, the same plan unless definitions changed meanwhile).
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await rollout.loadCheckpoint()).base === undefined) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await processor.stop();
    }
    const resumeAt = await committedOffsets(admin, replayGroup, topics.events);

    // 2. Tell subscribers only what changed relative to what they were told. Merged-away profiles that
    // subscribers already saw leave every segment are not recreated; those still in a segment get their
    // exits and are then removed again.
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const page = await repo.listProfileIds(cursor, 1000);
      for (const id of page.ids) ids.add(id);
      cursor = page.cursor;
    } while (cursor !== '0');
    const published = new Map<string, PublishedProfile>();
    const gone: string[] = [];
    for (const [id, p] of foldPublished(await readTopic(kafka, admin, topics.segmentChanges))) {
      if (ids.has(id)) published.set(id, p);
      else if (Object.keys(p.segments).length > 0) {
        published.set(id, p);
        gone.push(id);
      }
    }
    const r = await reconcileWithPublished({ ...processor.updateDeps, changes: kafkaSink(producer, topics.segmentChanges) }, published, ids, systemClock.now());
    for (const id of gone) await repo.remove(id);
    await repo.schedule(gone.map((id) => ({ partition: partitionForKey(id, marks.length), id, dueAt: null })));

    await o.beforeSwitch?.(staging);

    // 3. Switch over.
    const keys = await switchOver(redis, o.redisPrefix, staging);
    switched = true;
    o.logger.info({ keys, profiles: ids.size }, 'redis_state_switched_over');

    // 4. Live processors resume right after what the replay applied.
    const partitions = marks.map((p) => {
      const at = resumeAt.get(p.partition) ?? -1;
      return { partition: p.partition, offset: String(at >= 0 ? at : Number(p.high)) };
    });
    try {
      await admin.setOffsets({ groupId: o.group, topic: topics.events, partitions });
    } catch (err) {
      throw new Error(
        `state switched over, but the offsets of ${o.group} could not be moved (${(err as Error).message}): processors will re-read events the state already holds (message-id dedupe covers 24 h); run the rebuild again before starting them`,
        { cause: err },
      );
    }
    await admin.deleteGroups([replayGroup]).catch(() => undefined);
    return { profiles: ids.size, changes: r.changes, events: total, keys };
  } finally {
    if (!switched) await unlinkAll(redis, await scanKeys(redis, staging).catch(() => [])).catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
    redis.disconnect();
  }
}

/**
 * One MULTI/EXEC: unlink the live state, rename the staging keys onto their live names, set a new epoch
 * marker. Returns how many keys were renamed. @throws Error when Redis refuses any command of it.
 */
async function switchOver(redis: Redis, prefix: string, staging: string): Promise<number> {
  const live = redisKeys(prefix);
  const stage = redisKeys(staging);
  // Configuration, not state: the definitions hash (decide's), and the rollout lease (it expires by itself).
  const keep = new Set([live.definitions(), live.rolloutLease()]);
  // The staged status replaces the live one when there is one; without it the live one stays.
  const stagedKeys = await scanKeys(redis, staging);
  const stagedStatus = stagedKeys.includes(stage.definitionStatus());
  if (!stagedStatus) keep.add(live.definitionStatus());
  const drop = (await scanKeys(redis, prefix)).filter((k) => !k.startsWith(staging) && !keep.has(k));
  const renames = stagedKeys.filter((k) => k !== stage.rolloutLease() && k !== stage.definitions() && k !== stage.epoch());
  const leftovers = stagedKeys.filter((k) => !renames.includes(k));

  const tx = redis.multi();
  if (drop.length > 0) tx.unlink(...drop);
  if (leftovers.length > 0) tx.unlink(...leftovers);
  for (const k of renames) tx.rename(k, prefix + k.slice(staging.length));
  tx.set(live.epoch(), `${new Date().toISOString()}/${randomUUID()}`);
  const res = await tx.exec();
  if (res === null) throw new Error('switch-over transaction aborted');
  const failed = res.find(([err]) => err !== null);
  if (failed) throw new Error(`switch-over command failed: ${failed[0]!.message} (is this Redis Cluster? only a standalone primary is supported)`);
  return renames.length;
}

/** Every key under `prefix` (SCAN, so Redis keeps serving meanwhile). */
async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const out = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const k of keys) out.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...out];
}

async function unlinkAll(redis: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
}

/** Committed offset per partition of `group` on `topic` (-1: none). */
async function committedOffsets(admin: Admin, group: string, topic: string): Promise<Map<number, number>> {
  const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** Forwards only dead letters of offsets the live group never committed (the others were sent by it). */
function newDeadLetters(sink: RecordSink, committed: ReadonlyMap<number, number>): RecordSink {
  return {
    async send(records) {
      const fresh = records.filter((r) => {
        const partition = Number(r.headers?.['original-partition']);
        const offset = Number(r.headers?.['original-offset']);
        return !(Number.isFinite(partition) && Number.isFinite(offset) && offset < (committed.get(partition) ?? -1));
      });
      if (fresh.length > 0) await sink.send(fresh);
    },
  };
}

/** Every value of a topic from its beginning up to its end as of now. */
async function readTopic(kafka: Kafka, admin: Admin, topic: string): Promise<string[]> {
  const high = await admin.fetchTopicOffsets(topic);
  const target = new Map(high.map((p) => [p.partition, BigInt(p.high)]));
  const pending = new Set(high.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => p.partition));
  const out: string[] = [];
  if (pending.size === 0) return out;
  const groupId = `tinycdp-read-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
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
  } finally {
    await consumer.disconnect();
  }
  await admin.deleteGroups([groupId]).catch(() => undefined);
  return out;
}
