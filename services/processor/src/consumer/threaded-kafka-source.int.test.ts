/**
 * ThreadedKafkaEventSource against the real broker: every record reaches the handler in offset order per
 * partition, a throwing handler gets the same records again, offsets are committed only for what the
 * handler finished (a successor in the group starts there), fetching ahead is bounded and keeps the
 * session alive, two sources in one group share the partitions (and two Kafka threads of one source
 * do), a partition given back after a rebalance waits for the call still running on it (and commits go
 * on after the rebalance), and a stopped source's thread serves the next source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import pino from 'pino';
import { INSTANCE_ASSIGNER } from '@tinycdp/kafka';
import { createTopics, deleteTopics, getServices, isolatedGroupId, isolatedTopicPrefix, waitFor } from '@tinycdp/testkit';
import type { LogMessage } from '../ports';
import { ThreadedKafkaEventSource, type ThreadedKafkaEventSourceOptions } from './threaded-kafka-source';

const services = getServices();
const connection = { clientId: 'threaded-source-int', brokers: services.kafkaBrokers };
const kafka = new Kafka({ ...connection, logLevel: logLevel.NOTHING });
const logger = pino({ level: 'silent' });
const PARTITIONS = 3;
const prefix = isolatedTopicPrefix();
let producer: Producer;
let topicNo = 0;

/** A fresh topic holding `perPartition` records in each partition, values "p<partition>-<i>". */
async function topicWith(perPartition: number, valueBytes = 0): Promise<string> {
  const topic = `${prefix}events${topicNo++}`;
  await createTopics(services.kafkaBrokers, [topic], PARTITIONS);
  const pad = 'x'.repeat(valueBytes);
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < perPartition; i += 500) {
      const n = Math.min(500, perPartition - i);
      await producer.send({ topic, messages: Array.from({ length: n }, (_, k) => ({ partition: p, key: `k${p}`, value: `p${p}-${i + k}${pad}` })) });
    }
  }
  return topic;
}

async function committed(topic: string, group: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

function source(topic: string, group: string, options: ThreadedKafkaEventSourceOptions = {}) {
  return new ThreadedKafkaEventSource(kafka, connection, topic, group, logger, { sessionTimeoutMs: 6000, ...options });
}

/** Per partition, the values handled, in handling order. */
function recorder() {
  const seen = new Map<number, string[]>();
  return {
    seen,
    total: () => [...seen.values()].reduce((s, v) => s + v.length, 0),
    record(messages: readonly LogMessage[]) {
      for (const m of messages) {
        const list = seen.get(m.partition) ?? [];
        list.push(m.value!.toString('utf8').replace(/x+$/, ''));
        seen.set(m.partition, list);
      }
    },
  };
}

const expected = (p: number, n: number) => Array.from({ length: n }, (_, i) => `p${p}-${i}`);

/** Waits until `r` saw `n` records per partition, then checks they came in offset order. */
async function handledInOrder(r: ReturnType<typeof recorder>, n: number, timeoutMs = 30_000) {
  await waitFor(() => r.total() === PARTITIONS * n, { timeoutMs, message: 'all records handled' });
  for (let p = 0; p < PARTITIONS; p++) expect(r.seen.get(p)).toEqual(expected(p, n));
}

/** Waits until the group committed `n` on every partition. */
async function committedUpTo(topic: string, group: string, n: number, timeoutMs = 15_000) {
  await waitFor(async () => (await committed(topic, group)).every((o) => o === n), { timeoutMs, message: 'offsets committed' });
}

/** Starts `s` with `handler`, runs `body`, and stops `s` whatever happens. */
async function whileRunning(
  s: ThreadedKafkaEventSource,
  handler: (messages: readonly LogMessage[]) => Promise<void>,
  onAssignment: (partitions: number[]) => void,
  body: () => Promise<void>,
) {
  await s.start(handler, onAssignment);
  try {
    await body();
  } finally {
    await s.stop();
  }
}

beforeAll(async () => {
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await deleteTopics(services.kafkaBrokers, Array.from({ length: topicNo }, (_, i) => `${prefix}events${i}`));
});

describe('ThreadedKafkaEventSource', () => {
  it('hands every record to the handler once, in offset order per partition, and commits up to the end', async () => {
    const topic = await topicWith(3000);
    const group = isolatedGroupId();
    const r = recorder();
    const assigned: number[][] = [];
    const s = source(topic, group, { chunkSize: 700 });
    await whileRunning(s, async (messages) => {
      expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
      expect(messages.length).toBeLessThanOrEqual(700);
      r.record(messages);
    }, (p) => assigned.push(p), async () => {
      await handledInOrder(r, 3000);
      expect(assigned.at(-1)).toEqual([0, 1, 2]);
      await committedUpTo(topic, group, 3000);
      const lag = await s.lag();
      expect(lag.map((l) => l.lag)).toEqual([0, 0, 0]);
    });
  });

  it('reads plain record batches in place on its Kafka thread and compressed ones through kafkajs: the same records either way, from any committed offset', async () => {
    const topic = `${prefix}events${topicNo++}`;
    await createTopics(services.kafkaBrokers, [topic], PARTITIONS);
    // Per partition: plain, gzip-compressed, plain record batches.
    for (const [from, n, compression] of [[0, 300, CompressionTypes.None], [300, 200, CompressionTypes.GZIP], [500, 300, CompressionTypes.None]] as const) {
      for (let p = 0; p < PARTITIONS; p++) {
        const messages = Array.from({ length: n }, (_, k) => ({ partition: p, key: `k${p}`, value: `p${p}-${from + k}`, headers: { n: String(from + k) } }));
        await producer.send({ topic, compression, messages });
      }
    }
    const r = recorder();
    const s = source(topic, isolatedGroupId());
    await whileRunning(s, async (messages) => r.record(messages), () => undefined, async () => {
      await handledInOrder(r, 800);
      expect(s.codecs).toEqual({ rawBatches: true, batchEncoding: true });
    });

    // A group whose committed offsets fall inside batches (plain and compressed) gets exactly the rest.
    const group = isolatedGroupId();
    const admin = kafka.admin();
    await admin.connect();
    const starts = [150, 420, 799];
    try {
      await admin.setOffsets({ groupId: group, topic, partitions: starts.map((offset, partition) => ({ partition, offset: String(offset) })) });
    } finally {
      await admin.disconnect();
    }
    const rest = recorder();
    await whileRunning(source(topic, group), async (messages) => rest.record(messages), () => undefined, async () => {
      await waitFor(() => rest.total() === starts.reduce((sum, o) => sum + 800 - o, 0), { timeoutMs: 30_000, message: 'the rest handled' });
      for (let p = 0; p < PARTITIONS; p++) expect(rest.seen.get(p)).toEqual(expected(p, 800).slice(starts[p]));
    });
  });

  it('gives a throwing handler the same records again and commits only after it succeeded', async () => {
    const topic = await topicWith(400);
    const group = isolatedGroupId();
    const r = recorder();
    let failures = 0;
    const s = source(topic, group);
    await whileRunning(s, async (messages) => {
      if (messages[0]!.partition === 1 && failures < 3) {
        failures++;
        throw new Error('redis unavailable (simulated)');
      }
      r.record(messages);
    }, () => undefined, async () => {
      await handledInOrder(r, 400);
      expect(failures).toBe(3);
      await committedUpTo(topic, group, 400);
    });
  });

  it('commits nothing past what the handler finished: a successor in the group goes on from there, nothing lost', async () => {
    const topic = await topicWith(2000);
    const group = isolatedGroupId();
    const first = recorder();
    let calls = 0;
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const s1 = source(topic, group, { chunkSize: 250 });
    await s1.start(async (messages) => {
      // Two calls per partition go through; the third waits until the source is being stopped.
      if (++calls > 2 * PARTITIONS) await blocked;
      first.record(messages);
    }, () => undefined);
    await waitFor(() => calls > 2 * PARTITIONS, { timeoutMs: 30_000, message: 'a blocked handler call' });
    const stopping = s1.stop();
    release();
    await stopping;
    // Committed offsets (-1: none) are exactly what the first source handled per partition (it finished its calls).
    const after = (await committed(topic, group)).map((o) => Math.max(o, 0));
    for (let p = 0; p < PARTITIONS; p++) expect(after[p]).toBe(first.seen.get(p)?.length ?? 0);
    expect(after.some((o) => o < 2000)).toBe(true);

    const second = recorder();
    const s2 = source(topic, group);
    await whileRunning(s2, async (messages) => second.record(messages), () => undefined, async () => {
      await waitFor(() => second.total() === 3 * 2000 - first.total(), { timeoutMs: 30_000, message: 'the rest handled by the successor' });
      for (let p = 0; p < PARTITIONS; p++) expect([...(first.seen.get(p) ?? []), ...(second.seen.get(p) ?? [])]).toEqual(expected(p, 2000));
    });
  });

  it('fetches ahead at most maxQueuedMb while a slow handler works, and keeps its group session', async () => {
    // 3 × 1500 records of ~1 KB: 4.5 MB against 1 MB fetched ahead; the handler takes ~8 s in all
    // (longer than the 6 s session, so the fetch thread must heartbeat while it waits).
    const topic = await topicWith(1500, 1000);
    const group = isolatedGroupId();
    const r = recorder();
    const s = source(topic, group, { fetchMb: 1, maxQueuedMb: 1, chunkSize: 100 });
    let assignments = 0;
    let maxQueued = 0;
    await whileRunning(s, async (messages) => {
      maxQueued = Math.max(maxQueued, s.queuedBytes());
      await new Promise((res) => setTimeout(res, 180));
      r.record(messages);
    }, () => assignments++, async () => {
      await handledInOrder(r, 1500, 60_000);
      expect(assignments).toBe(1); // no rebalance: the session stayed alive
      // It did fetch ahead, and no more than the limit plus the one batch it hands over before waiting.
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(2 * 1_048_576);
    });
  });

  it('started paused, holds its partitions and handles nothing until resumed', async () => {
    const topic = await topicWith(300);
    const r = recorder();
    let held: number[] = [];
    const s = source(topic, isolatedGroupId(), { startPaused: true });
    await whileRunning(s, async (messages) => r.record(messages), (p) => (held = p), async () => {
      await waitFor(() => held.length === PARTITIONS, { timeoutMs: 30_000, message: 'partitions assigned' });
      await new Promise((res) => setTimeout(res, 1500));
      expect(r.total()).toBe(0);
      s.resume();
      await waitFor(() => r.total() === 3 * 300, { timeoutMs: 30_000, message: 'all records handled after resume' });
    });
  });

  it('shares the partitions between two sources in one group, every record handled', async () => {
    const topic = await topicWith(1500);
    const group = isolatedGroupId();
    const r = recorder();
    const held = [new Set<number>(), new Set<number>()];
    const a = source(topic, group, { chunkSize: 200 });
    const b = source(topic, group, { chunkSize: 200 });
    const slow = async (messages: readonly LogMessage[]) => {
      await new Promise((res) => setTimeout(res, 20));
      r.record(messages);
    };
    await a.start(slow, (p) => (held[0] = new Set(p)));
    await b.start(slow, (p) => (held[1] = new Set(p)));
    try {
      await waitFor(() => held[0]!.size + held[1]!.size === PARTITIONS && held[0]!.size > 0 && held[1]!.size > 0, {
        timeoutMs: 30_000,
        message: 'both sources holding partitions',
      });
      await committedUpTo(topic, group, 1500, 60_000);
      // At least once: a record handed to one before the rebalance may come again through the other.
      for (let p = 0; p < PARTITIONS; p++) expect(new Set(r.seen.get(p))).toEqual(new Set(expected(p, 1500)));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('with two Kafka threads: each a member of the group holding its share, every record handled, offsets committed to the end', async () => {
    const topic = await topicWith(1500);
    const group = isolatedGroupId();
    const r = recorder();
    let held: number[] = [];
    const s = source(topic, group, { threads: 2, chunkSize: 400 });
    await whileRunning(s, async (messages) => {
      expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
      r.record(messages);
    }, (p) => (held = p), async () => {
      await committedUpTo(topic, group, 1500, 60_000);
      expect(held).toEqual([0, 1, 2]);
      // At least once: a record the first thread took before the second one joined may come again.
      for (let p = 0; p < PARTITIONS; p++) expect(new Set(r.seen.get(p))).toEqual(new Set(expected(p, 1500)));
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups([group]);
        expect(groups[0]!.members).toHaveLength(2);
      } finally {
        await admin.disconnect();
      }
    });
  });

  it('two sources with two Kafka threads each share six partitions three and three (partitions go by source, then by thread)', async () => {
    const topic = `${prefix}events${topicNo++}`;
    await createTopics(services.kafkaBrokers, [topic], 6);
    const group = isolatedGroupId();
    const held = [[] as number[], [] as number[]];
    const a = source(topic, group, { threads: 2 });
    const b = source(topic, group, { threads: 2 });
    await a.start(async () => undefined, (p) => (held[0] = p));
    await b.start(async () => undefined, (p) => (held[1] = p));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const { groups } = await admin.describeGroups([group]);
          return groups[0]!.state === 'Stable' && groups[0]!.members.length === 4 && held[0]!.length === 3 && held[1]!.length === 3;
        },
        { timeoutMs: 60_000, message: 'four members, three partitions per source' },
      );
      expect([...held[0]!, ...held[1]!].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const { groups } = await admin.describeGroups([group]);
      expect(groups[0]!.protocol).toBe(INSTANCE_ASSIGNER);
    } finally {
      await admin.disconnect();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("serves the next source with a stopped source's thread: same thread, its own topic and group, every record, in order", async () => {
    const first = source(await topicWith(200), isolatedGroupId());
    const r1 = recorder();
    let thread: number | null = null;
    await whileRunning(first, async (messages) => r1.record(messages), () => undefined, async () => {
      thread = first.threadId;
      expect(thread).not.toBeNull();
      await handledInOrder(r1, 200);
    });
    expect(first.threadId).toBeNull();

    const topic = await topicWith(500);
    const group = isolatedGroupId();
    const r2 = recorder();
    const second = source(topic, group, { chunkSize: 150 });
    await whileRunning(second, async (messages) => r2.record(messages), () => undefined, async () => {
      expect(second.threadId).toBe(thread);
      await handledInOrder(r2, 500);
      await committedUpTo(topic, group, 500);
      // Nothing of the first source's topic came through again.
      expect(r2.total()).toBe(PARTITIONS * 500);
    });
  });

  it('a partition given back after a rebalance waits for the call still running on it: one call per partition at a time', async () => {
    const topic = await topicWith(300);
    const group = isolatedGroupId();
    const r = recorder();
    const active = new Map<number, number>();
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    let held: number[] = [];
    const a = source(topic, group);
    await a.start(async (messages) => {
      const p = messages[0]!.partition;
      active.set(p, (active.get(p) ?? 0) + 1);
      most = Math.max(most, active.get(p)!);
      await gate;
      r.record(messages);
      active.set(p, active.get(p)! - 1);
    }, (p) => (held = p));
    // A member that never finishes a call, so it commits nothing: what it took comes back unprocessed.
    const b = source(topic, group);
    try {
      await waitFor(() => active.size === PARTITIONS, { timeoutMs: 30_000, message: 'a call under way on every partition' });
      await b.start(async () => {
        throw new Error('not this one');
      }, () => undefined);
      await waitFor(() => held.length > 0 && held.length < PARTITIONS, { timeoutMs: 30_000, message: 'some partitions taken away' });
      await b.stop();
      await waitFor(() => held.length === PARTITIONS, { timeoutMs: 30_000, message: 'partitions given back' });
      // The given-back partitions' records came again; their calls must wait for the ones still running.
      await new Promise((res) => setTimeout(res, 1500));
      expect(most).toBe(1);
      release();
      await waitFor(() => [...Array(PARTITIONS).keys()].every((p) => new Set(r.seen.get(p)).size === 300), {
        timeoutMs: 30_000,
        message: 'every record handled',
      });
      await committedUpTo(topic, group, 300);
      expect(most).toBe(1);
    } finally {
      release();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
