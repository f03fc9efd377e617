/**
 * The event-log contract: what the services rely on from Kafka, stated once and run against both the
 * embedded FileEventLog (file-event-log.test.ts) and real Kafka through kafkajs (kafka-event-log.int.test.ts).
 * Partition placement, per-partition order and dense offsets, consumer-group commit/resume across a
 * restart, and at-least-once redelivery of whatever was not committed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionForKey } from '@tinycdp/kafka';
import type { AppendRecord, AppendResult } from '../file-event-log';
import type { LogRecord } from '../log-consumer';
import { eventually } from './eventually';

/** The surface both logs expose to the suite. */
export interface ContractLog {
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Keyed records only (a null key's partition is the log's choice). Resolves once durable/acked. */
  append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]>;
  /** Every record of a partition from `fromOffset` to the end as of the call, in offset order. */
  readAll(topic: string, partition: number, fromOffset: number): Promise<LogRecord[]>;
  /** Starts a group consumer over all partitions; resolves once it is consuming. */
  consume(opts: {
    group: string;
    topic: string;
    fromBeginning: boolean;
    handler: (messages: LogRecord[], partition: number) => Promise<void>;
  }): Promise<{ stop(): Promise<void> }>;
  /** Committed next-to-consume offsets of a group; partitions without a commit are absent. */
  committed(group: string, topic: string): Promise<Map<number, number>>;
}

export interface EventLogFixture {
  /** The log as of now (a restart replaces it). */
  readonly log: ContractLog;
  /** A topic / group name no other test uses. */
  unique(label: string): string;
  /** Drops every client/handle and opens the same log again, as a process restart would. */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

const PARTITIONS = 3;
const text = (m: LogRecord) => (m.value === null ? null : m.value.toString('utf8'));

export function eventLogContract(name: string, make: () => Promise<EventLogFixture>): void {
  describe(`EventLog contract: ${name}`, () => {
    let fx: EventLogFixture;
    let topic: string;
    beforeEach(async () => {
      fx = await make();
      topic = fx.unique('t');
      await fx.log.createTopic(topic, PARTITIONS);
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('places each key on the partition Kafka’s default partitioner picks, and reports where it went', async () => {
      const keys = ['user-1', 'anon-2', 'a@b.c', 'ünïcödé', 'x'.repeat(300), ...Array.from({ length: 40 }, () => randomUUID())];
      const results = await fx.log.append(
        topic,
        keys.map((key) => ({ key, value: `v:${key}` })),
      );
      expect(results).toHaveLength(keys.length);
      results.forEach((r, i) => expect(r.partition).toBe(partitionForKey(keys[i]!, PARTITIONS)));
      for (let p = 0; p < PARTITIONS; p++) {
        const stored = await fx.log.readAll(topic, p, 0);
        const expected = keys.filter((k) => partitionForKey(k, PARTITIONS) === p);
        expect(stored.map((m) => m.key)).toEqual(expected);
      }
    });

    it('reads records back per partition in append order with dense offsets from 0, bytes intact', async () => {
      const binary = randomBytes(256);
      const batches: AppendRecord[][] = [
        [
          { key: 'k1', value: 'one', headers: { 'content-type': 'application/json', error: 'ünï' } },
          { key: 'k2', value: binary },
          { key: 'k1', value: null },
        ],
        [{ key: 'k1', value: '' }, { key: 'k3', value: JSON.stringify({ n: 1, s: '✓' }) }],
      ];
      const before = Date.now();
      const results: AppendResult[] = [];
      for (const b of batches) results.push(...(await fx.log.append(topic, b)));
      // Concurrent appends of one key still land in call order per call, and all get distinct offsets.
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => fx.log.append(topic, [{ key: `c${i % 4}`, value: `c${i}` }])),
      );
      results.push(...concurrent.flat());
      const all: AppendRecord[] = [...batches.flat(), ...Array.from({ length: 20 }, (_, i) => ({ key: `c${i % 4}`, value: `c${i}` }))];

      for (let p = 0; p < PARTITIONS; p++) {
        const stored = await fx.log.readAll(topic, p, 0);
        expect(stored.map((m) => m.offset)).toEqual(stored.map((_, i) => String(i)));
        const mine = results.map((r, i) => ({ r, rec: all[i]! })).filter((x) => x.r.partition === p);
        expect(mine.map((x) => x.r.offset).sort((a, b) => a - b)).toEqual(stored.map((_, i) => i));
        for (const { r, rec } of mine) {
          const m = stored[r.offset]!;
          expect(m.partition).toBe(p);
          expect(m.key).toBe(rec.key);
          const want = rec.value === null ? null : Buffer.isBuffer(rec.value) ? rec.value : Buffer.from(rec.value);
          if (want === null) expect(m.value).toBeNull();
          else expect(Buffer.compare(m.value!, want)).toBe(0);
          for (const [h, v] of Object.entries(rec.headers ?? {})) expect(m.headers[h]).toBe(v);
          expect(Number(m.timestamp)).toBeGreaterThanOrEqual(before - 5000);
          expect(Number(m.timestamp)).toBeLessThanOrEqual(Date.now() + 5000);
        }
      }
      // Per key, append order is kept.
      const k1 = (await fx.log.readAll(topic, partitionForKey('k1', PARTITIONS), 0)).filter((m) => m.key === 'k1');
      expect(k1.map(text)).toEqual(['one', null, '']);
      // Reading from the middle starts there.
      const p1 = results[0]!.partition;
      const tail = await fx.log.readAll(topic, p1, 1);
      expect(tail[0]?.offset).toBe('1');
    });

    it('a group resumes after a restart from what it committed, never seeing committed records again', async () => {
      const group = fx.unique('g');
      const first = Array.from({ length: 12 }, (_, i) => ({ key: `u${i}`, value: `first-${i}` }));
      const placed = await fx.log.append(topic, first);

      const got: string[] = [];
      const c1 = await fx.log.consume({
        group,
        topic,
        fromBeginning: true,
        handler: async (ms) => {
          got.push(...ms.map((m) => text(m)!));
        },
      });
      await eventually(() => got.length >= first.length, 'the first records');
      await c1.stop();
      expect([...got].sort()).toEqual(first.map((r) => r.value).sort());

      const high = new Map<number, number>();
      for (const r of placed) high.set(r.partition, Math.max(high.get(r.partition) ?? 0, r.offset + 1));
      const committed = await fx.log.committed(group, topic);
      for (const [p, h] of high) expect(committed.get(p)).toBe(h);

      await fx.restart();
      const second = Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, value: `second-${i}` }));
      await fx.log.append(topic, second);
      const again: string[] = [];
      const c2 = await fx.log.consume({
        group,
        topic,
        fromBeginning: true,
        handler: async (ms) => {
          again.push(...ms.map((m) => text(m)!));
        },
      });
      await eventually(() => again.length >= second.length, 'the second records');
      await c2.stop();
      expect([...again].sort()).toEqual(second.map((r) => r.value).sort());
    });

    it('redelivers a batch whose handler failed, and nothing after it is lost', async () => {
      const group = fx.unique('g');
      const records = Array.from({ length: 9 }, (_, i) => ({ key: `r${i}`, value: `v${i}` }));
      await fx.log.append(topic, records);
      const deliveries = new Map<string, number>();
      let failed = false;
      const c = await fx.log.consume({
        group,
        topic,
        fromBeginning: true,
        handler: async (ms) => {
          for (const m of ms) deliveries.set(text(m)!, (deliveries.get(text(m)!) ?? 0) + 1);
          if (!failed && ms.some((m) => text(m) === 'v4')) {
            failed = true;
            throw new Error('handler fault (test)');
          }
        },
      });
      await eventually(
        () => records.every((r) => (deliveries.get(r.value) ?? 0) >= 1) && (deliveries.get('v4') ?? 0) >= 2,
        'every record, and v4 twice',
        30_000,
      );
      await c.stop();
      expect(failed).toBe(true);
    });

    it('redelivers to the next consumer of the group whatever a stopped one never committed', async () => {
      const group = fx.unique('g');
      const records = Array.from({ length: 8 }, (_, i) => ({ key: `s${i}`, value: `v${i}` }));
      await fx.log.append(topic, records);
      const seenByDoomed = new Set<string>();
      const doomed = await fx.log.consume({
        group,
        topic,
        fromBeginning: true,
        handler: async (ms) => {
          ms.forEach((m) => seenByDoomed.add(text(m)!));
          throw new Error('crashes before every commit (test)');
        },
      });
      await eventually(() => seenByDoomed.size >= 1, 'a first delivery');
      await doomed.stop();

      await fx.restart();
      const got = new Set<string>();
      const c = await fx.log.consume({
        group,
        topic,
        fromBeginning: true,
        handler: async (ms) => {
          ms.forEach((m) => got.add(text(m)!));
        },
      });
      await eventually(() => got.size >= records.length, 'all records on the second consumer', 30_000);
      await c.stop();
      expect([...got].sort()).toEqual(records.map((r) => r.value).sort());
    });
  });
}
