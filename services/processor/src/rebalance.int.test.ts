/**
 * Issue 7 / 1(a): two processors (child processes running main.ts) in one consumer group while events
 * stream; a second member joining starts a rebalance, and one member is SIGKILLed right as the group
 * rebalances. Afterwards: no event lost or counted twice (exact counts), no segment change lost, and
 * duplicates only as exact copies with the same sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { buildPlan, decodeProfile, profileView, type Definition } from '@tinycdp/engine';
import { topicNames } from '@tinycdp/kafka';
import { RedisProfileStore } from '@tinycdp/redis';
import { deleteTopics, getServices, isolatedGroupId, isolatedRedisPrefix, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import { startPipelineFixture, type PipelineFixture } from './test-support/pipeline-fixture';

const services = getServices();
const prefix = isolatedTopicPrefix();
const topics = topicNames(prefix);
const redisPrefix = isolatedRedisPrefix();
const group = isolatedGroupId();
const kafka = new Kafka({ clientId: 'rebalance-int', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
const redis = new Redis(services.redisUrl);
const store = new RedisProfileStore(redis, redisPrefix);
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const defs: Definition[] = [
  { kind: 'trait', key: 'buys', expression: 'events.purchase.count_30d', version: 1 },
  { kind: 'segment', key: 'buyer10', rule: 'events.purchase.count_30d >= 10', version: 1 },
  { kind: 'segment', key: 'buyer20', rule: 'trait("buys") >= 20', version: 1 },
];
const { plan } = buildPlan(defs);
const USERS = 48;
const PER_USER = 25;
const PARTITIONS = 6;

type Change = { profileId: string; segment: string; status: string; sequence: number };
let pipeline: PipelineFixture<Change>;
let producer: Producer;
let changes: Change[];
const children: ChildProcess[] = [];

interface Member {
  readonly child: ChildProcess;
  /** Times (ms) this member logged `partitions_assigned`, with the partitions. */
  readonly assignments: { at: number; partitions: number[] }[];
}

function startMember(name: string): Member {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs], {
    env: {
      ...process.env,
      // Plain JSON on the topics (this test reads changes as JSON), even where the shell exported a registry.
      SCHEMA_REGISTRY_URL: undefined,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      REDIS_URL: services.redisUrl,
      TINYCDP_TOPIC_PREFIX: prefix,
      TINYCDP_REDIS_PREFIX: redisPrefix,
      TINYCDP_PROCESSOR_GROUP: group,
      TINYCDP_PARTITIONS: String(PARTITIONS),
      TINYCDP_SESSION_TIMEOUT_MS: '6000',
      PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const member: Member = { child, assignments: [] };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as { msg?: string; partitions?: number[] };
      if (l.msg === 'partitions_assigned') member.assignments.push({ at: Date.now(), partitions: l.partitions ?? [] });
    } catch {
      // not JSON
    }
  });
  void name;
  return member;
}

function kill(m: Member): Promise<void> {
  return new Promise((resolve) => {
    if (m.child.exitCode !== null || m.child.signalCode !== null) return resolve();
    m.child.once('exit', () => resolve());
    m.child.kill('SIGKILL');
  });
}

async function counted(): Promise<number> {
  const loaded = await store.load(Array.from({ length: USERS }, (_, u) => ({ id: `rb${u}` })));
  let n = 0;
  for (const [id, p] of loaded) if (p.rev > 0) n += Number(profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys'));
  return n;
}

beforeAll(async () => {
  pipeline = await startPipelineFixture({ kafka, topics, partitions: PARTITIONS, definitions: defs, changesGroupId: isolatedGroupId() });
  ({ producer, changes } = pipeline);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await pipeline?.stop();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await deleteTopics(services.kafkaBrokers, Object.values(topics)).catch(() => undefined);
});

describe('two processors, one killed during a rebalance', () => {
  it('keeps exact counts and every segment change', async () => {
    const a = startMember('a');
    await waitFor(() => a.assignments.length >= 1, { timeoutMs: 60_000, message: 'member a joined' });
    const now = new Date().toISOString();
    let sent = 0;
    // The last rounds wait for the kill, so it always lands while events are still arriving (a busy
    // machine may take long to boot the second member).
    let markKilled: () => void = () => undefined;
    const killed = new Promise<void>((r) => (markKilled = r));
    const producing = (async () => {
      for (let round = 0; round < PER_USER; round++) {
        if (round === PER_USER - 8) await killed;
        await producer.send({
          topic: topics.events,
          acks: -1,
          messages: Array.from({ length: USERS }, (_, u) => ({
            key: `rb${u}`,
            value: JSON.stringify({ type: 'track', userId: `rb${u}`, event: 'purchase', messageId: `rb${u}-${round}`, timestamp: now }),
          })),
        });
        sent += USERS;
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    await waitFor(async () => (await counted()) > 0, { timeoutMs: 30_000, message: 'a makes progress' });

    // b joins: the group rebalances; a rejoins (its second assignment) — kill a right then.
    const b = startMember('b');
    const before = a.assignments.length;
    await waitFor(() => a.assignments.length > before || b.assignments.length > 0, { timeoutMs: 60_000, intervalMs: 10, message: 'rebalance after b joined' });
    const killedAt = await counted();
    await kill(a);
    markKilled();
    // b takes over every partition once a's session expires.
    await waitFor(() => b.assignments.some((x) => x.partitions.length === PARTITIONS), { timeoutMs: 60_000, message: 'b owns every partition' });
    // And a comes back: one more rebalance with work in flight.
    const a2 = startMember('a2');
    await waitFor(() => a2.assignments.length >= 1, { timeoutMs: 60_000, message: 'a2 joined' });
    await producing;
    expect(sent).toBe(USERS * PER_USER);
    expect(killedAt, 'the kill happened while events were still being applied').toBeLessThan(USERS * PER_USER);

    await waitFor(
      async () => {
        const loaded = await store.load(Array.from({ length: USERS }, (_, u) => ({ id: `rb${u}` })));
        return [...loaded].every(([id, p]) => p.rev > 0 && profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys') === PER_USER);
      },
      { timeoutMs: 120_000, intervalMs: 500, message: `every user counted exactly ${PER_USER} times` },
    );
    const loaded = await store.load(Array.from({ length: USERS }, (_, u) => ({ id: `rb${u}` })));
    for (const [id, p] of loaded) expect(profileView(decodeProfile(p.fields, id), plan, Date.now()).trait('buys'), id).toBe(PER_USER);

    await waitFor(() => new Set(changes.map((c) => `${c.profileId}/${c.segment}`)).size === USERS * 2, {
      timeoutMs: 30_000,
      message: 'an entry per user and segment',
    });
    const bySeq = new Map<string, (typeof changes)[number]>();
    let duplicates = 0;
    for (const c of changes) {
      const k = `${c.profileId}/${c.sequence}`;
      const prev = bySeq.get(k);
      if (prev) {
        duplicates++;
        expect(prev).toEqual(c);
      }
      bySeq.set(k, c);
    }
    const distinct = [...bySeq.values()];
    expect(distinct.filter((c) => c.status === 'entered')).toHaveLength(USERS * 2);
    expect(distinct.filter((c) => c.status === 'exited')).toHaveLength(0);
    console.log(
      `[rebalance] killed a at ${killedAt}/${USERS * PER_USER} applied; b assignments ${b.assignments.map((x) => x.partitions.length).join(',')}; ` +
        `a2 assignments ${a2.assignments.map((x) => x.partitions.length).join(',')}; changes ${changes.length} (duplicates ${duplicates})`,
    );
  }, 280_000);
});
