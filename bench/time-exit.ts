/**
 * Time-exit benchmark: segment `events.ping.count_1m >= 1`, processor with scheduleIntervalMs 1000;
 * 200 users ping once (produced straight to Kafka). Each user enters; with no further event, the
 * 1-minute window empties at the next UTC minute boundary after the ping (the due instant), and the
 * processor's schedule must emit `exited` (reason `time`). Reports how late each exit's `at` is after
 * its due instant (max, p50) and when it was consumed. Goal: max ≤ 60 s.
 * Takes up to ~75 s of wall time (the next minute boundary is up to a minute away), mostly idle.
 * Run alone: `npx tsx bench/time-exit.ts`.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { publishDefinitions, startProcessor } from './lib/processor-harness';
import { REDIS_URL, benchKafka, createTopics, deleteRedisPrefix, deleteTopics, isolation, runStandalone, sleep, until } from './lib/stack';
import { percentile, round } from './lib/stats';

export interface TimeExitBenchResult {
  users: number;
  /** max over users of (exited.at − due instant), seconds (goal ≤ 60). */
  max_late_s: number;
  p50_late_s: number;
  /** max of (consumed from segment-changes − due instant), seconds. */
  max_consumed_late_s: number;
  exits_by_time: number;
  schedule_interval_ms: number;
}

const USERS = 200;
const MINUTE = 60_000;

interface Change {
  profileId: string;
  status: 'entered' | 'exited';
  at: string;
  reason: string;
  consumedAt: number;
}

export async function runTimeExitBench(_opts: { quick: boolean }): Promise<TimeExitBenchResult> {
  const kafka = benchKafka('bench-time-exit');
  const iso = isolation('timeexit');
  const redis = new Redis(REDIS_URL);
  const producer = kafka.producer();
  const changes = new Map<string, { entered?: Change; exited?: Change }>();
  const consumer = kafka.consumer({ groupId: iso.group('changes'), maxWaitTimeInMs: 100 });
  let processor: Awaited<ReturnType<typeof startProcessor>> | null = null;
  try {
    await createTopics(kafka, iso, 6);
    await producer.connect();
    await publishDefinitions(producer, iso.topics.definitions, [
      { kind: 'segment', key: 'pinged_this_minute', rule: 'events.ping.count_1m >= 1', version: 1 },
    ]);
    await consumer.connect();
    await consumer.subscribe({ topic: iso.topics.segmentChanges, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const c = { ...(JSON.parse(message.value!.toString('utf8')) as Omit<Change, 'consumedAt'>), consumedAt: Date.now() };
        const e = changes.get(c.profileId) ?? {};
        if (c.status === 'entered') e.entered ??= c;
        else e.exited ??= c;
        changes.set(c.profileId, e);
      },
    });
    processor = await startProcessor({ kafka, iso, numPartitions: 6, scheduleIntervalMs: 1000 });

    // A ping in the last seconds of a minute could be applied after its window already closed (no
    // entry, so no exit to measure): start early in a minute.
    if (Date.now() % MINUTE > 45_000) await sleep(MINUTE - (Date.now() % MINUTE) + 500);
    const pingAt = Date.now();
    const due = Math.floor(pingAt / MINUTE) * MINUTE + MINUTE;
    const ids = Array.from({ length: USERS }, (_, i) => `t${i}`);
    await producer.send({
      topic: iso.topics.events,
      acks: -1,
      messages: ids.map((userId) => ({
        key: userId,
        value: JSON.stringify({ type: 'track', userId, event: 'ping', messageId: randomUUID(), timestamp: new Date(pingAt).toISOString() }),
      })),
    });
    await until(() => ids.every((id) => changes.get(id)?.entered), 45_000, `${USERS} entries`, 50);
    await until(() => ids.every((id) => changes.get(id)?.exited), due - Date.now() + 90_000, `${USERS} time exits`, 200);

    const late = ids.map((id) => Date.parse(changes.get(id)!.exited!.at) - due);
    const consumedLate = ids.map((id) => changes.get(id)!.exited!.consumedAt - due);
    const early = late.filter((x) => x < 0).length;
    if (early > 0) throw new Error(`${early} exits stamped before their due instant`);
    return {
      users: USERS,
      max_late_s: round(Math.max(...late) / 1000, 3),
      p50_late_s: round(percentile(late, 50) / 1000, 3),
      max_consumed_late_s: round(Math.max(...consumedLate) / 1000, 3),
      exits_by_time: ids.filter((id) => changes.get(id)!.exited!.reason === 'time').length,
      schedule_interval_ms: 1000,
    };
  } finally {
    await processor?.stop();
    await consumer.disconnect();
    await producer.disconnect();
    await deleteRedisPrefix(redis, iso.redisPrefix).catch(() => undefined);
    redis.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

runStandalone(import.meta.url, runTimeExitBench);
