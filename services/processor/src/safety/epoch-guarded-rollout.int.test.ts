/**
 * Issue 7: the rollout's Redis writes (lease, checkpoint, fences, status) and the membership index are
 * behind the same state-loss guard as the profiles. Real Redis (shared, isolated prefix) and Kafka
 * (isolated topics/group). "Redis came back empty" is simulated by deleting every key under the prefix,
 * the epoch marker included; "the marker is back" by setting it again (what a rebuild ends with).
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { buildPlan, type Definition } from '@tinycdp/engine';
import { DEFAULT_TOPIC_SETTINGS, DefinitionsWriter, ensureTopics, topicNames, topicSpecs } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers, redisKeys } from '@tinycdp/redis';
import { deleteTopics, getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from '../app';
import { KafkaEventLogReader } from '../consumer/kafka-log-reader';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from '../consumer/kafka-sources';
import { EpochGuardedRolloutStore, EpochGuardedSegmentMembers } from './epoch-guarded-rollout';
import { EpochGuardedRepository, RedisEpochGuard } from './redis-epoch';

const services = getServices();
const kafka = new Kafka({ clientId: 'epoch-rollout-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 3 });
const prefixes: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const p of prefixes) await wipe(p);
  redis.disconnect();
}, 60_000);

async function keysUnder(prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}*`)).sort();
}

/** "Redis restarted empty", for this prefix only: every key goes, the epoch marker included. */
async function wipe(prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}

const lost = { code: 'unavailable', retriable: true, details: { reason: 'redis_state_lost' } };

describe('rollout store and membership index behind the Redis epoch guard', () => {
  it('refuses every rollout write (nothing written) while the marker is missing, proceeds once it is back', async () => {
    const prefix = isolatedRedisPrefix();
    prefixes.push(prefix);
    const keys = redisKeys(prefix);
    const guard = new RedisEpochGuard(redis, prefix, pino({ level: 'silent' }));
    cleanups.push(async () => guard.close());
    expect(await guard.ensure(async () => true)).toBe('ok');
    const store = new EpochGuardedRolloutStore(new RedisRolloutStore(redis, prefix), guard);
    const members = new EpochGuardedSegmentMembers(new RedisSegmentMembers(redis, prefix), guard);

    // Marker present: writes go through.
    expect(await store.acquireLease('owner-a', 10_000)).toBe(true);
    expect(await store.saveCheckpoint('owner-a', { base: '{"planId":"p1"}' })).toBe(true);
    expect(await store.claimFences([{ series: 's1', partition: 0, offset: 5 }])).toEqual([5]);
    await store.writeStatus({ 'trait:t': '{"status":"live"}' });
    await members.apply([{ segment: 'seg', profileId: 'p1', status: 'entered' }]);
    expect(await keysUnder(prefix)).toEqual(
      [keys.epoch(), keys.rolloutLease(), keys.rolloutState(), keys.rolloutFences('s1'), keys.definitionStatus(), keys.segmentMembers('seg')].sort(),
    );

    // Redis comes back empty.
    await wipe(prefix);
    await expect(store.loadCheckpoint()).rejects.toMatchObject(lost);
    expect(guard.state).toBe('lost');
    await expect(store.acquireLease('owner-a', 10_000)).rejects.toMatchObject(lost);
    await expect(store.saveCheckpoint('owner-a', { base: '{"planId":"p2"}' })).rejects.toMatchObject(lost);
    await expect(store.claimFences([{ series: 's1', partition: 0, offset: 9 }])).rejects.toMatchObject(lost);
    await expect(store.clearFences(['s1'])).rejects.toMatchObject(lost);
    await expect(store.writeStatus({ 'trait:t': '{"status":"backfilling"}' })).rejects.toMatchObject(lost);
    await expect(members.apply([{ segment: 'seg', profileId: 'p2', status: 'entered' }])).rejects.toMatchObject(lost);
    await expect(members.drop(['seg'])).rejects.toMatchObject(lost);
    expect(await keysUnder(prefix), 'nothing written into the emptied Redis').toEqual([]);

    // The marker is back (a rebuild ended): the same store and guard proceed.
    await redis.set(keys.epoch(), 'rebuilt-by-test');
    expect(await store.loadCheckpoint()).toEqual({});
    expect(guard.state).toBe('ok');
    expect(await store.acquireLease('owner-a', 10_000)).toBe(true);
    expect(await store.claimFences([{ series: 's1', partition: 0, offset: 9 }])).toEqual([9]);
    expect(await store.saveCheckpoint('owner-a', { base: '{"planId":"p2"}' })).toBe(true);
    expect(await store.loadCheckpoint()).toEqual({ base: '{"planId":"p2"}' });
    await store.writeStatus({ 'trait:t': '{"status":"live"}' });
    expect(await store.readStatus(['trait:t'])).toEqual(['{"status":"live"}']);
    await members.apply([{ segment: 'seg', profileId: 'p2', status: 'entered' }]);
    expect(await redis.zrange(keys.segmentMembers('seg'), 0, -1)).toEqual(['p2']);
    await store.clearFences(['s1']);
    expect(await redis.exists(keys.rolloutFences('s1'))).toBe(0);
    await store.releaseLease('owner-a');
    expect(await redis.exists(keys.rolloutLease())).toBe(0);
  });

  it('a running coordinator pauses while the marker is missing (no lease, checkpoint, fence or status written) and resumes when it is back', async () => {
    const topics = topicNames(isolatedTopicPrefix());
    const prefix = isolatedRedisPrefix();
    prefixes.push(prefix);
    const keys = redisKeys(prefix);
    const group = isolatedGroupId();
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: 2 }));
    await admin.disconnect();
    const producer: Producer = kafka.producer();
    await producer.connect();
    cleanups.push(async () => {
      await producer.disconnect();
      await deleteTopics(services.kafkaBrokers, Object.values(topics));
    });
    const publish = (defs: readonly Definition[]) =>
      new DefinitionsWriter(producer, topics.definitions).publish(defs.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })));
    const logLines: { msg?: string; err?: { code?: string } }[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as { msg?: string });
          cb();
        },
      }),
    );

    const v1: Definition[] = [
      { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
      { kind: 'segment', key: 'buyer', rule: 'events.purchase.count_30d >= 1', version: 1 },
    ];
    // v2 adds a series the live state never kept: a rollout with a backfill (fences, checkpoints, status).
    const v2: Definition[] = [...v1, { kind: 'trait', key: 'spent', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 }];
    await publish(v1);

    // Wired as main.ts wires it.
    const raw = new RedisRolloutStore(redis, prefix);
    const profiles = new RedisProfileStore(redis, prefix);
    const guard = new RedisEpochGuard(redis, prefix, logger.child({ component: 'epoch' }), { maxAgeMs: 500 });
    expect(await guard.ensure(async () => true)).toBe('ok');
    const processor: Processor = createProcessor({
      events: new KafkaEventSource(kafka, topics.events, group, logger, { chunkSize: 500, sessionTimeoutMs: 6_000 }),
      definitions: new KafkaDefinitionSource(kafka, topics.definitions),
      repo: new EpochGuardedRepository(profiles, guard),
      changes: kafkaSink(producer, topics.segmentChanges),
      dlq: kafkaSink(producer, topics.eventsDlq),
      materializer: new RedisDefinitionCache(redis, prefix),
      eventsTopic: topics.events,
      numPartitions: 2,
      clock: systemClock,
      logger,
      registry: new Registry(),
      scheduleIntervalMs: 500,
      members: new EpochGuardedSegmentMembers(new RedisSegmentMembers(redis, prefix), guard),
      rollout: {
        store: new EpochGuardedRolloutStore(raw, guard),
        reader: new KafkaEventLogReader(kafka, topics.events, logger, { groupPrefix: `${group}-backfill` }),
        index: profiles,
        options: { pollMs: 100, leaseTtlMs: 3_000, statusEveryMs: 0, chunkSize: 50 },
      },
    });
    cleanups.push(async () => {
      await processor.stop();
      guard.close();
    });
    await processor.start();
    const baseId = async () => {
      const b = (await raw.loadCheckpoint()).base;
      return b ? (JSON.parse(b) as { planId: string }).planId : null;
    };
    await waitFor(async () => (await baseId()) === buildPlan(v1).plan.planId, { timeoutMs: 30_000, message: 'v1 adopted as the rollout base' });
    await producer.send({
      topic: topics.events,
      acks: -1,
      messages: ['u1', 'u2', 'u3'].map((u) => ({
        key: u,
        value: JSON.stringify({ type: 'track', userId: u, event: 'purchase', properties: { amount: 10 }, messageId: `${u}-1`, timestamp: new Date().toISOString() }),
      })),
    });
    await waitFor(async () => (await redis.zcard(keys.segmentMembers('buyer'))) === 3, { timeoutMs: 30_000, message: 'members indexed' });
    // Every batch finished (offsets committed only after its writes): nothing of the live path in flight.
    await waitFor(async () => (await processor.lag()).every((l) => l.lag === 0), { timeoutMs: 15_000, message: 'events committed' });

    // Redis comes back empty; then a definitions change asks for a rollout.
    const rolloutKeys = async () => (await keysUnder(prefix)).filter((k) => k !== keys.definitions()); // the definitions copy is not the rollout's
    await wipe(prefix);
    const tried = () => logLines.filter((l) => l.msg === 'rollout_failed' || l.msg === 'rollout_interrupted').length;
    const triedBefore = tried();
    await publish(v2);
    await waitFor(() => tried() > triedBefore, { timeoutMs: 15_000, message: 'the coordinator looked at the new plan' });
    expect(await rolloutKeys(), 'no rollout or membership key written into the emptied Redis').toEqual([]);
    expect(logLines.filter((l) => l.msg === 'rollout_failed').at(-1)?.err).toMatchObject({ code: 'unavailable' });
    expect(guard.state).toBe('lost');
    expect(logLines.some((l) => l.msg === 'redis_state_lost_rebuild_required')).toBe(true);
    // Longer than the lease TTL: the renewals are refused too and the lease is given up.
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      expect(await rolloutKeys(), 'no rollout or membership key written into the emptied Redis').toEqual([]);
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor(() => logLines.some((l) => l.msg === 'rollout_lease_lost'), { timeoutMs: 10_000, message: 'lease given up' });
    expect(await rolloutKeys()).toEqual([]);

    // The marker is back: the same coordinator takes the lease again and records v2 as its base.
    await redis.set(keys.epoch(), 'rebuilt-by-test');
    await waitFor(async () => (await baseId()) === buildPlan(v2).plan.planId, { timeoutMs: 30_000, message: 'coordinator resumed: v2 base written' });
    expect(guard.state).toBe('ok');
    expect(await redis.exists(keys.rolloutLease())).toBe(1);
    const [status] = await raw.readStatus(['trait:spent']);
    expect(JSON.parse(status!)).toMatchObject({ status: 'live', planId: buildPlan(v2).plan.planId });
  }, 120_000);
});
