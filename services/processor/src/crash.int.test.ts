import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { buildPlan, decodeProfile, profileView } from '@tinycdp/engine';
import { topicNames } from '@tinycdp/kafka';
import { RedisProfileStore } from '@tinycdp/redis';
import { freePort, getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { startPipelineFixture, type PipelineFixture } from './test-support/pipeline-fixture';

// SIGKILL the processor several times in the middle of a stream; after restarts every count must be
// exact and no segment change lost (duplicates only with the same sequence).
const services = getServices();
const prefix = isolatedTopicPrefix();
const topics = topicNames(prefix);
const redisPrefix = isolatedRedisPrefix();
const group = isolatedGroupId();
const kafka = new Kafka({ clientId: 'crash-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const store = new RedisProfileStore(redis, redisPrefix);
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const defs = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'segment', key: 'buyer10', rule: 'events.purchase.count_30d >= 10', version: 1 },
  { kind: 'segment', key: 'buyer25', rule: 'trait("buys") >= 25', version: 1 },
];
const USERS = 40;
// Long enough (≈ 40 s of streaming) that all three kills land while events are still arriving.
const PER_USER = 120;

let pipeline: PipelineFixture<any>;
let producer: Producer;
let changes: any[];
let child: ChildProcess | null = null;

function startProcessor(): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', mainTs], {
    env: {
      ...process.env,
      // Plain JSON on the topics (this test reads changes as JSON), even where the shell exported a registry.
      SCHEMA_REGISTRY_URL: undefined,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      REDIS_URL: services.redisUrl,
      TINYCDP_TOPIC_PREFIX: prefix,
      TINYCDP_REDIS_PREFIX: redisPrefix,
      TINYCDP_PROCESSOR_GROUP: group,
      TINYCDP_PARTITIONS: '3',
      TINYCDP_SESSION_TIMEOUT_MS: '6000',
      PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return p;
}

beforeAll(async () => {
  void freePort;
  pipeline = await startPipelineFixture({ kafka, topics, partitions: 3, definitions: defs, changesGroupId: isolatedGroupId() });
  ({ producer, changes } = pipeline);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await pipeline?.stop();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('processor crash safety', () => {
  it('keeps exact counts and every segment change across repeated SIGKILLs', async () => {
    child = startProcessor();
    const now = new Date().toISOString();
    const { plan } = buildPlan(defs as any);
    const ids = Array.from({ length: USERS }, (_, u) => ({ id: `cu${u}` }));
    const applied = async () => {
      const loaded = await store.load(ids);
      let n = 0;
      for (const [id, p] of loaded) if (p.rev > 0) n += Number(profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys'));
      return n;
    };
    // The producer streams in the background while the processor is killed three times, each time
    // right after it was seen making progress (so the kill lands while it is working).
    let sent = 0;
    const producing = (async () => {
      for (let round = 0; round < PER_USER; round++) {
        await producer.send({
          topic: topics.events,
          acks: -1,
          messages: Array.from({ length: USERS }, (_, u) => ({
            key: `cu${u}`,
            value: JSON.stringify({ type: 'track', userId: `cu${u}`, event: 'purchase', messageId: `cu${u}-${round}`, timestamp: now }),
          })),
        });
        sent += USERS;
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const killedAt: number[] = [];
    for (let k = 0; k < 3; k++) {
      const before = await applied();
      await waitFor(async () => (await applied()) > before, { timeoutMs: 60_000, intervalMs: 20, message: `progress before kill ${k + 1}` });
      child.kill('SIGKILL');
      killedAt.push(await applied());
      child = startProcessor();
    }
    await producing;
    expect(sent).toBe(USERS * PER_USER);
    // Kills happened while events were still arriving, not after the fact.
    expect(killedAt[2]!).toBeLessThan(USERS * PER_USER);

    await waitFor(
      async () => {
        const loaded = await store.load(Array.from({ length: USERS }, (_, u) => ({ id: `cu${u}` })));
        return [...loaded].every(([id, p]) => p.rev > 0 && profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys') === PER_USER);
      },
      { timeoutMs: 120_000, intervalMs: 500, message: `every user counted exactly ${PER_USER} times` },
    );
    // Counts never overshoot, even after more redeliveries settle.
    const loaded = await store.load(Array.from({ length: USERS }, (_, u) => ({ id: `cu${u}` })));
    for (const [id, p] of loaded) expect(profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys')).toBe(PER_USER);

    await waitFor(() => new Set(changes.map((c) => `${c.profileId}/${c.segment}`)).size === USERS * 2, {
      timeoutMs: 30_000,
      message: 'an entry per user and segment',
    });
    const bySeq = new Map<string, any>();
    for (const c of changes) {
      const k = `${c.profileId}/${c.sequence}`;
      const prev = bySeq.get(k);
      if (prev) expect(prev).toEqual(c); // a duplicate is the same change, same sequence
      bySeq.set(k, c);
    }
    const distinct = [...bySeq.values()];
    expect(distinct.filter((c) => c.status === 'entered')).toHaveLength(USERS * 2);
    expect(distinct.filter((c) => c.status === 'exited')).toHaveLength(0);
  }, 240_000);
});
