import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { buildPlan, decodeProfile, profileView, type Definition } from '@tinycdp/engine';
import { DEFAULT_TOPIC_SETTINGS, DefinitionsWriter, ensureTopics, topicNames, topicSpecs } from '@tinycdp/kafka';
import { RedisDefinitionCache, RedisProfileStore, RedisRolloutStore, RedisSegmentMembers } from '@tinycdp/redis';
import { getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { createProcessor, type Processor } from './app';
import { KafkaEventLogReader } from './consumer/kafka-log-reader';
import { KafkaDefinitionSource, KafkaEventSource, kafkaSink } from './consumer/kafka-sources';

// Rollout of definition changes against real Kafka and Redis: events first, definitions later; the
// values must come out exact from the log (no event counted twice, none missed), with live traffic
// running, across a simulated crash of the backfill.
const services = getServices();
const kafka = new Kafka({ clientId: 'rollout-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

const spent: Definition = { kind: 'trait', key: 'spent_90d', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 };
const big: Definition = { kind: 'segment', key: 'big_spenders', rule: 'trait("spent_90d") >= 250', version: 1 };

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  redis.disconnect();
});

async function stack() {
  const topics = topicNames(isolatedTopicPrefix());
  const prefix = isolatedRedisPrefix();
  const group = isolatedGroupId();
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions: 3 }));
  await admin.disconnect();
  const producer: Producer = kafka.producer();
  await producer.connect();
  const changes: any[] = [];
  const changesConsumer: Consumer = kafka.consumer({ groupId: isolatedGroupId() });
  await changesConsumer.connect();
  await changesConsumer.subscribe({ topic: topics.segmentChanges, fromBeginning: true });
  await changesConsumer.run({ eachMessage: async ({ message }) => void changes.push(JSON.parse(message.value!.toString())) });
  const store = new RedisProfileStore(redis, prefix);
  const rolloutStore = new RedisRolloutStore(redis, prefix);
  const members = new RedisSegmentMembers(redis, prefix);
  const statuses: { field: string; status: any }[] = [];
  // The real store, recording every status report (to see backfilling → live).
  const recordingStore = Object.assign(Object.create(rolloutStore) as RedisRolloutStore, {
    writeStatus: async (set: Record<string, string>, del: readonly string[] = []) => {
      for (const [field, json] of Object.entries(set)) statuses.push({ field, status: JSON.parse(json) });
      await rolloutStore.writeStatus(set, del);
    },
  });
  const running: Processor[] = [];
  cleanups.push(async () => {
    for (const p of running) await p.stop().catch(() => undefined);
    await changesConsumer.disconnect();
    await producer.disconnect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  });

  const s = {
    topics,
    store,
    rolloutStore,
    members,
    changes,
    statuses,
    async start(afterChunk?: () => void) {
      const p = createProcessor({
        events: new KafkaEventSource(kafka, topics.events, group, logger),
        definitions: new KafkaDefinitionSource(kafka, topics.definitions),
        repo: store,
        changes: kafkaSink(producer, topics.segmentChanges),
        dlq: kafkaSink(producer, topics.eventsDlq),
        materializer: new RedisDefinitionCache(redis, prefix),
        eventsTopic: topics.events,
        numPartitions: 3,
        clock: systemClock,
        logger,
        registry: new Registry(),
        scheduleIntervalMs: 500,
        members,
        rollout: {
          store: recordingStore,
          reader: new KafkaEventLogReader(kafka, topics.events, logger),
          index: store,
          options: { pollMs: 100, chunkSize: 40, scanBatch: 15, statusEveryMs: 0, leaseTtlMs: 5000 },
          ...(afterChunk ? { afterChunk } : {}),
        },
      });
      running.push(p);
      await p.start();
      return p;
    },
    async stop(p: Processor) {
      await p.stop();
      running.splice(running.indexOf(p), 1);
    },
    async publishDefs(defs: { key: string; value: Definition | null }[]) {
      await new DefinitionsWriter(producer, topics.definitions).publish(
        defs.map((d) => ({ key: d.key, value: d.value === null ? null : JSON.stringify(d.value) })),
      );
    },
    /** Purchases for `users` users, `perUser` each; returns the amount per user. */
    async purchases(users: number, perUser: number, tag: string): Promise<Map<string, number>> {
      const totals = new Map<string, number>();
      const messages: { key: string; value: string }[] = [];
      for (let u = 0; u < users; u++) {
        for (let i = 0; i < perUser; i++) {
          const amount = 10 + ((u * 7 + i * 13) % 50);
          totals.set(`u${u}`, (totals.get(`u${u}`) ?? 0) + amount);
          messages.push({
            key: `u${u}`,
            value: JSON.stringify({
              type: 'track',
              userId: `u${u}`,
              event: 'purchase',
              properties: { amount },
              messageId: `${tag}-${u}-${i}`,
              timestamp: new Date(Date.now() - (i + 1) * 86_400_000).toISOString(),
            }),
          });
        }
      }
      await producer.send({ topic: topics.events, acks: -1, messages });
      return totals;
    },
    async value(id: string, defs: Definition[], trait: string) {
      const fields = (await store.load([{ id }])).get(id)!.fields;
      return profileView(decodeProfile(fields, id), buildPlan(defs).plan, Date.now()).trait(trait);
    },
    async baseId() {
      const b = (await rolloutStore.loadCheckpoint()).base;
      return b ? (JSON.parse(b) as { planId: string }).planId : null;
    },
    async waitProfiles(n: number) {
      await waitFor(async () => (await store.countProfileIds()) >= n, { timeoutMs: 30_000, message: `${n} profiles` });
    },
  };
  return s;
}

const add = (a: Map<string, number>, b: Map<string, number>) => new Map([...a].map(([k, v]) => [k, v + (b.get(k) ?? 0)]));

describe('rollout against real Kafka and Redis', () => {
  it('backfills a trait defined after its events, enters the segment with reason backfill/definition, then exits members of a deleted segment', async () => {
    const s = await stack();
    const before = await s.purchases(50, 6, 'old');
    const p = await s.start();
    await s.waitProfiles(50);
    await waitFor(async () => (await s.baseId()) !== null, { message: 'base adopted' });

    await s.publishDefs([
      { key: 'trait:spent_90d', value: spent },
      { key: 'segment:big_spenders', value: big },
    ]);
    // Live traffic during the rollout: applied by the live path above the fences.
    const during = await s.purchases(50, 1, 'during');
    const target = buildPlan([spent, big]).plan.planId;
    await waitFor(async () => (await s.baseId()) === target, { timeoutMs: 60_000, intervalMs: 100, message: 'rollout finished' });
    await waitFor(async () => (await s.store.load([{ id: 'u49', messageIds: ['during-49-0'] }])).get('u49')!.seen.size === 1, {
      timeoutMs: 20_000,
      message: 'live events applied',
    });

    const expected = add(before, during);
    for (const [id, total] of expected) expect([id, await s.value(id, [spent, big], 'spent_90d')]).toEqual([id, total]);

    const shouldBeIn = [...expected].filter(([, t]) => t >= 250).map(([id]) => id).sort();
    expect(shouldBeIn.length).toBeGreaterThan(5);
    expect(shouldBeIn.length).toBeLessThan(50);
    await waitFor(() => new Set(s.changes.filter((c) => c.segment === 'big_spenders' && c.status === 'entered').map((c) => c.profileId)).size === shouldBeIn.length, {
      timeoutMs: 20_000,
      message: 'entries published',
    });
    const entries = s.changes.filter((c) => c.segment === 'big_spenders' && c.status === 'entered');
    expect([...new Set(entries.map((c) => c.profileId))].sort()).toEqual(shouldBeIn);
    for (const c of entries) expect(['backfill', 'definition', 'event']).toContain(c.reason);
    expect(entries.filter((c) => c.reason === 'backfill' || c.reason === 'definition').length).toBeGreaterThan(0);
    expect((await s.members.page('big_spenders', null, 100)).sort()).toEqual(shouldBeIn);

    const reports = s.statuses.filter((r) => r.field === 'trait:spent_90d').map((r) => r.status);
    expect(reports[0].status).toBe('backfilling');
    const last = reports[reports.length - 1];
    expect(last).toMatchObject({ status: 'live', phase: 'done', planId: target });
    expect(last.processed).toBe(last.total);
    expect(last.total).toBeGreaterThanOrEqual(50);
    expect(last.eventsProcessed).toBeGreaterThanOrEqual(300);
    expect(reports.some((r) => r.status === 'backfilling' && r.phase === 'backfill' && r.eventsProcessed > 0)).toBe(true);

    // (b) Delete the segment: every member exits with an event, memberships and the index go away.
    await s.publishDefs([{ key: 'segment:big_spenders', value: null }]);
    const after = buildPlan([spent]).plan.planId;
    await waitFor(async () => (await s.baseId()) === after, { timeoutMs: 30_000, message: 'deletion rolled out' });
    await waitFor(() => s.changes.filter((c) => c.segment === 'big_spenders' && c.status === 'exited').length >= shouldBeIn.length, {
      timeoutMs: 20_000,
      message: 'exits published',
    });
    const exits = s.changes.filter((c) => c.segment === 'big_spenders' && c.status === 'exited');
    expect(exits.map((c) => c.profileId).sort()).toEqual(shouldBeIn);
    expect(exits.every((c) => c.reason === 'definition')).toBe(true);
    expect(await redis.exists(s.members.keys.segmentMembers('big_spenders'))).toBe(0);
    for (const id of shouldBeIn) {
      const fields = (await s.store.load([{ id }])).get(id)!.fields;
      expect(fields['m:big_spenders']).toBeUndefined();
    }
    expect(await s.rolloutStore.readStatus(['segment:big_spenders'])).toEqual([null]);
    expect(await s.value('u0', [spent], 'spent_90d')).toBe(expected.get('u0'));
    void p;
  }, 120_000);

  it('resumes a backfill stopped mid-way by a crash and ends with exact values', async () => {
    const s = await stack();
    const totals = await s.purchases(30, 8, 'old');
    const first = await s.start();
    await s.waitProfiles(30);
    await waitFor(async () => (await s.baseId()) !== null, { message: 'base adopted' });
    await s.stop(first);

    // This instance crashes (every time) after merging its third chunk, before checkpointing it.
    let chunks = 0;
    const crashing = await s.start(() => {
      if (++chunks >= 3) throw new Error('simulated crash');
    });
    await s.publishDefs([{ key: 'trait:spent_90d', value: spent }]);
    await waitFor(() => chunks >= 4, { timeoutMs: 30_000, message: 'crashed chunk retried' });
    await s.stop(crashing);
    const run = JSON.parse((await s.rolloutStore.loadCheckpoint()).run!);
    expect(run.phase).toBe('backfill');
    expect(run.chunk).not.toBeNull();

    await s.start();
    const target = buildPlan([spent]).plan.planId;
    await waitFor(async () => (await s.baseId()) === target, { timeoutMs: 60_000, message: 'resumed rollout finished' });
    for (const [id, total] of totals) expect([id, await s.value(id, [spent], 'spent_90d')]).toEqual([id, total]);
  }, 120_000);
});
