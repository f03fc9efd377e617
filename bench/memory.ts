/**
 * Memory benchmark: 1,000 profiles with 30 days of activity (identify with a plan, ~3 purchases, ~20
 * app_open each, timestamped across the last 30 days, in time order) through the real processor with
 * the seed definitions; then, per profile, `MEMORY USAGE` of its state hash and outbox list (what stays)
 * and of its `:m` dedupe zset (expires 24 h after the last event, reported apart), and `OBJECT ENCODING`
 * of every key under the run's prefix. Goal: < 1 KB per profile, every hash a listpack.
 * Run alone: `npx tsx bench/memory.ts [--quick]` (same size either way: it takes seconds).
 */
import { Redis } from 'ioredis';
import { redisKeys } from '@tinycdp/redis';
import { preload, rng, type Message } from './lib/events';
import { publishDefinitions, seedDefinitions, startProcessor } from './lib/processor-harness';
import { REDIS_URL, benchKafka, createTopics, deleteRedisPrefix, deleteTopics, escapeGlob, isolation, runStandalone } from './lib/stack';
import { median, percentile, round } from './lib/stats';

export interface MemoryBenchResult {
  profiles: number;
  events: number;
  /** Mean MEMORY USAGE of state hash + outbox per profile, bytes (goal < 1024). */
  bytes_per_profile: number;
  state_bytes_p50: number;
  state_bytes_max: number;
  outbox_bytes_per_profile: number;
  /** Mean MEMORY USAGE of the `:m` dedupe zset per profile (gone 24 h after the last event). */
  dedupe_bytes_per_profile: number;
  /** Profile hashes whose OBJECT ENCODING is not listpack (goal 0). */
  non_listpack_keys: number;
  /** Shared keys (not one profile's) that are hashes not in listpack, as `<key suffix>: <encoding>`. */
  non_listpack_shared: string[];
  /** `<type>:<encoding>` → number of keys under the prefix. */
  encodings: Record<string, number>;
  fields_per_profile_p50: number;
  fields_per_profile_max: number;
  /** Shared keys (schedule zsets, profile index, definitions), total bytes and per profile. */
  shared_bytes: number;
  shared_bytes_per_profile: number;
}

const PROFILES = 1_000;
const DAY = 86_400_000;
const PLANS = ['free', 'premium', 'enterprise', 'trial'];

function thirtyDays(now: number): Message[] {
  const rnd = rng(99);
  const out: Message[] = [];
  const context = { library: { name: 'analytics-node', version: '2.1.0' } };
  for (let u = 0; u < PROFILES; u++) {
    const userId = `m${u}`;
    const at = () => now - Math.floor(rnd() * 30 * DAY);
    let k = 0;
    const id = () => `${userId}-${k++}`;
    out.push({ key: userId, value: { type: 'identify', userId, messageId: id(), timestamp: new Date(now - 30 * DAY + 60_000).toISOString(), traits: { plan: PLANS[u % PLANS.length], email: `${userId}@example.com` }, context } });
    const purchases = 2 + Math.floor(rnd() * 3); // 2–4, ~3
    for (let i = 0; i < purchases; i++) {
      out.push({ key: userId, value: { type: 'track', userId, event: 'purchase', messageId: id(), timestamp: new Date(at()).toISOString(), properties: { amount: Math.round(rnd() * 40_000) / 100, currency: 'USD' }, context } });
    }
    const opens = 18 + Math.floor(rnd() * 5); // 18–22, ~20
    for (let i = 0; i < opens; i++) {
      out.push({ key: userId, value: { type: 'track', userId, event: 'app_open', messageId: id(), timestamp: new Date(at()).toISOString(), properties: {}, context } });
    }
  }
  // Replay in time order, as a live system would have received them.
  return out.sort((a, b) => String(a.value['timestamp']).localeCompare(String(b.value['timestamp'])));
}

export async function runMemoryBench(_opts: { quick: boolean }): Promise<MemoryBenchResult> {
  const kafka = benchKafka('bench-memory');
  const iso = isolation('memory');
  const redis = new Redis(REDIS_URL);
  const producer = kafka.producer();
  let processor: Awaited<ReturnType<typeof startProcessor>> | null = null;
  try {
    await createTopics(kafka, iso, 6);
    await producer.connect();
    await publishDefinitions(producer, iso.topics.definitions, seedDefinitions());
    const messages = thirtyDays(Date.now());
    await preload(producer, iso.topics.events, messages);
    processor = await startProcessor({ kafka, iso, numPartitions: 6 });
    await processor.source.reached(messages.length, 240_000);
    await processor.stop();
    processor = null;

    const keys = redisKeys(iso.redisPrefix);
    const ids = Array.from({ length: PROFILES }, (_, u) => `m${u}`);
    const pipe = redis.pipeline();
    for (const id of ids) {
      pipe.call('MEMORY', 'USAGE', keys.profile(id), 'SAMPLES', '0');
      pipe.call('MEMORY', 'USAGE', keys.outbox(id), 'SAMPLES', '0');
      pipe.call('MEMORY', 'USAGE', keys.messageIds(id), 'SAMPLES', '0');
      pipe.hlen(keys.profile(id));
    }
    const res = (await pipe.exec())!;
    const state: number[] = [];
    const outbox: number[] = [];
    const dedupe: number[] = [];
    const fields: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const v = (j: number) => Number(res[i * 4 + j]![1] ?? 0);
      state.push(v(0));
      outbox.push(v(1));
      dedupe.push(v(2));
      fields.push(v(3));
    }
    const missing = state.filter((b) => b === 0).length;
    if (missing > 0) throw new Error(`${missing} of ${PROFILES} profiles have no state hash`);

    // Every key under the prefix: type and encoding.
    const encodings: Record<string, number> = {};
    let nonListpack = 0;
    const nonListpackShared: string[] = [];
    let shared = 0;
    const profileKeys = new Set(ids.flatMap((id) => [keys.profile(id), keys.outbox(id), keys.messageIds(id)]));
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${escapeGlob(iso.redisPrefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length === 0) continue;
      const p = redis.pipeline();
      for (const k of batch) {
        p.type(k);
        p.object('ENCODING', k);
        p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      }
      const r = (await p.exec())!;
      batch.forEach((k, i) => {
        const type = String(r[i * 3]![1]);
        const enc = String(r[i * 3 + 1]![1]);
        encodings[`${type}:${enc}`] = (encodings[`${type}:${enc}`] ?? 0) + 1;
        const own = profileKeys.has(k);
        if (type === 'hash' && enc !== 'listpack') {
          if (own) nonListpack++;
          else nonListpackShared.push(`${k.slice(iso.redisPrefix.length)}: ${enc}`);
        }
        if (!own) shared += Number(r[i * 3 + 2]![1] ?? 0);
      });
    } while (cursor !== '0');

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      profiles: PROFILES,
      events: messages.length,
      bytes_per_profile: Math.round(mean(state) + mean(outbox)),
      state_bytes_p50: median(state),
      state_bytes_max: Math.max(...state),
      outbox_bytes_per_profile: round(mean(outbox), 1),
      dedupe_bytes_per_profile: Math.round(mean(dedupe)),
      non_listpack_keys: nonListpack,
      non_listpack_shared: nonListpackShared,
      encodings,
      fields_per_profile_p50: median(fields),
      fields_per_profile_max: percentile(fields, 100),
      shared_bytes: shared,
      shared_bytes_per_profile: round(shared / PROFILES, 1),
    };
  } finally {
    await processor?.stop();
    await producer.disconnect();
    await deleteRedisPrefix(redis, iso.redisPrefix).catch(() => undefined);
    redis.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

runStandalone(import.meta.url, runMemoryBench);
