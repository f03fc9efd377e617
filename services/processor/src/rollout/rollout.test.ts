import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { FakeClock } from '@tinycdp/common';
import { buildPlan, decodeProfile, profileView, type Definition, type Plan } from '@tinycdp/engine';
import { partitionForKey } from '@tinycdp/kafka';
import { FileLogEventReader, MemoryProfileRepository, MemoryRolloutStore, MemorySegmentMembers } from '@tinycdp/embedded';
import { waitFor } from '@tinycdp/testkit';
import type { EventLogReader, LogMessage, OutRecord, ProfileIndex, RolloutStore, SegmentMembersWriter } from '../ports';
import { processBatch, type BatchDeps } from '../pipeline/process-batch';
import { LiveFences } from './live-fences';
import { RolloutCoordinator } from './rollout-coordinator';
import { parseRecord, type BaseRecord } from './rollout-records';

// Compile-time: the embedded backends implement the processor's rollout ports.
const _ports: [EventLogReader, ProfileIndex, RolloutStore, SegmentMembersWriter] = [
  null as unknown as FileLogEventReader,
  null as unknown as MemoryProfileRepository,
  null as unknown as MemoryRolloutStore,
  null as unknown as MemorySegmentMembers,
];
void _ports;

const PARTITIONS = 3;
const TOPIC = 'events';
const NOW = Date.parse('2025-03-10T12:00:00Z');
const logger = pino({ level: 'silent' });

const spent: Definition = { kind: 'trait', key: 'spent_90d', expression: 'events.purchase.sum(properties.amount, 90d)', version: 1 };
const big: Definition = { kind: 'segment', key: 'big', rule: 'trait("spent_90d") >= 100', version: 1 };
const opened: Definition = { kind: 'segment', key: 'opened', rule: 'events.app_open.count_30d >= 1', version: 1 };

/** The events log in memory: partitions of JSON messages, read by position (the EventLogReader port). */
class ArrayLog implements EventLogReader {
  readonly parts: LogMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  append(key: string, value: unknown): void {
    const p = partitionForKey(key, PARTITIONS);
    const part = this.parts[p]!;
    part.push({ partition: p, offset: String(part.length), key, value: Buffer.from(JSON.stringify(value)), timestamp: String(NOW) });
  }
  async highWatermarks() {
    return new Map(this.parts.map((m, p) => [p, { low: 0, high: m.length }]));
  }
  async read(partition: number, from: number, max: number) {
    return this.parts[partition]!.slice(from, from + max);
  }
  async close() {}
}

interface World {
  log: ArrayLog;
  repo: MemoryProfileRepository;
  store: MemoryRolloutStore;
  members: MemorySegmentMembers;
  published: any[];
  setPlan(defs: Definition[]): void;
  plan(): Plan;
  /** The live consumer: processes everything not yet consumed, in chunks of `chunk` per partition. */
  drain(chunk?: number): Promise<void>;
  coordinator(opts?: { afterChunk?: () => void; owner?: string }): RolloutCoordinator;
  value(id: string, trait: string): unknown;
  base(): Promise<BaseRecord | null>;
}

const running: RolloutCoordinator[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

function world(): World {
  const clock = new FakeClock(NOW);
  const log = new ArrayLog();
  const repo = new MemoryProfileRepository(clock);
  const store = new MemoryRolloutStore();
  const members = new MemorySegmentMembers();
  const published: any[] = [];
  let plan = buildPlan([]).plan;
  const sink = { send: async (r: readonly OutRecord[]) => void published.push(...r.map((x) => JSON.parse(x.value))) };
  const deps: BatchDeps = {
    repo,
    changes: sink,
    dlq: { send: async () => undefined },
    plan: () => plan,
    numPartitions: PARTITIONS,
    topic: TOPIC,
    logger,
    members,
    fences: new LiveFences(store),
  };
  const consumed = new Array<number>(PARTITIONS).fill(0);
  const w: World = {
    log,
    repo,
    store,
    members,
    published,
    setPlan(defs) {
      plan = buildPlan(defs).plan;
      for (const c of running) c.notify();
    },
    plan: () => plan,
    async drain(chunk = 7) {
      for (let p = 0; p < PARTITIONS; p++) {
        while (consumed[p]! < log.parts[p]!.length) {
          const batch = log.parts[p]!.slice(consumed[p], consumed[p]! + chunk);
          await processBatch(deps, batch, clock.now());
          consumed[p]! += batch.length;
        }
      }
    },
    coordinator(opts = {}) {
      const c = new RolloutCoordinator({
        store,
        reader: log,
        index: repo,
        members,
        update: deps,
        plan: () => plan,
        topic: TOPIC,
        clock,
        logger,
        options: { pollMs: 10, chunkSize: 5, scanBatch: 4, statusEveryMs: 0, leaseTtlMs: 60_000, ...(opts.owner ? { owner: opts.owner } : {}) },
        ...(opts.afterChunk ? { afterChunk: opts.afterChunk } : {}),
      });
      running.push(c);
      c.start();
      return c;
    },
    value(id, trait) {
      const p = (repo as any).profiles.get(id);
      const fields = p ? Object.fromEntries(p.fields) : {};
      return profileView(decodeProfile(fields, id), plan, clock.now()).trait(trait);
    },
    base: async () => parseRecord<BaseRecord>((await store.loadCheckpoint()).base),
  };
  return w;
}

function purchases(w: World, users: number, perUser: number, tag: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < perUser; i++) {
    for (let u = 0; u < users; u++) {
      const amount = (u + 1) * 3 + i;
      const id = `u${u}`;
      totals.set(id, (totals.get(id) ?? 0) + amount);
      w.log.append(id, {
        type: 'track',
        userId: id,
        event: 'purchase',
        properties: { amount },
        messageId: `${tag}-${u}-${i}`,
        timestamp: new Date(NOW - (i + 1) * 3_600_000).toISOString(),
      });
    }
  }
  return totals;
}

const add = (a: Map<string, number>, b: Map<string, number>) => new Map([...a].map(([k, v]) => [k, v + (b.get(k) ?? 0)]));

describe('rollout of a definitions change (memory backends)', () => {
  it('backfills a new series from the log exactly, with live traffic on both sides of the fences', async () => {
    const w = world();
    const before = purchases(w, 12, 4, 'old');
    await w.drain();
    w.coordinator();
    await waitFor(async () => (await w.base())?.planId === w.plan().planId, { message: 'base adopted' });

    // Events the live path has not consumed yet when the plan changes, and events after it.
    const pending = purchases(w, 12, 2, 'mid');
    w.setPlan([spent, big]);
    await w.drain(3);
    const after = purchases(w, 12, 1, 'new');
    await w.drain();
    await waitFor(async () => (await w.base())?.planId === w.plan().planId, { message: 'rollout finished', timeoutMs: 5000 });

    const expected = add(add(before, pending), after);
    for (const [id, total] of expected) expect([id, w.value(id, 'spent_90d')]).toEqual([id, total]);
    const members = new Set(await w.members.page('big', null, 100));
    for (const [id, total] of expected) expect([id, members.has(id)]).toEqual([id, total >= 100]);
    const entered = w.published.filter((c) => c.segment === 'big' && c.status === 'entered');
    expect(new Set(entered.map((c) => c.profileId)).size).toBe(entered.length);
    expect(entered.length).toBe([...expected.values()].filter((t) => t >= 100).length);
    const status = JSON.parse((await w.store.readStatus(['trait:spent_90d']))[0]!);
    expect(status).toMatchObject({ status: 'live', version: 1, phase: 'done' });
    expect(status.processed).toBe(status.total);
    expect(status.total).toBe(12);
  });

  it('resumes after a crash between merging a chunk and its checkpoint without counting twice', async () => {
    const w = world();
    const totals = purchases(w, 10, 5, 'old');
    await w.drain();
    const first = w.coordinator({ owner: 'first' });
    await waitFor(async () => (await w.base()) !== null);
    let chunks = 0;
    await first.stop();
    const crashing = w.coordinator({
      owner: 'crashing',
      afterChunk: () => {
        if (++chunks >= 3) throw new Error('simulated crash'); // every retry crashes at the same point
      },
    });
    w.setPlan([spent, big]);
    await waitFor(() => chunks >= 3, { message: 'crash point reached' });
    await crashing.stop();
    const run = JSON.parse((await w.store.loadCheckpoint()).run!);
    expect(run.chunk).not.toBeNull(); // the crashed chunk was merged, not checkpointed
    w.coordinator({ owner: 'second' });
    await waitFor(async () => (await w.base())?.planId === w.plan().planId, { message: 'resumed rollout finished' });
    for (const [id, total] of totals) expect([id, w.value(id, 'spent_90d')]).toEqual([id, total]);
  });

  it('exits every member of a deleted segment, drops its index and status, prunes unused series', async () => {
    const w = world();
    w.setPlan([spent, big, opened]);
    w.coordinator();
    await waitFor(async () => (await w.base())?.planId === w.plan().planId);
    purchases(w, 6, 3, 'p');
    for (let u = 0; u < 6; u++) w.log.append(`u${u}`, { type: 'track', userId: `u${u}`, event: 'app_open', messageId: `o${u}`, timestamp: new Date(NOW).toISOString() });
    await w.drain();
    expect(await w.members.count('opened')).toBe(6);
    const openedSeries = buildPlan([opened]).plan.series[0]!.id;
    expect((w.repo as any).profiles.get('u0').fields.has(`c:${openedSeries}:d${Math.floor(NOW / 86_400_000).toString(36)}`)).toBe(true);

    w.setPlan([spent, big]);
    await waitFor(async () => (await w.base())?.planId === w.plan().planId);
    const exits = w.published.filter((c) => c.segment === 'opened' && c.status === 'exited');
    expect(exits.map((c) => c.profileId).sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    expect(exits.every((c) => c.reason === 'definition')).toBe(true);
    expect(await w.members.count('opened')).toBe(0);
    expect(await w.store.readStatus(['segment:opened'])).toEqual([null]);
    for (let u = 0; u < 6; u++) {
      const fields = [...(w.repo as any).profiles.get(`u${u}`).fields.keys()] as string[];
      expect(fields.filter((f) => f.includes(openedSeries) || f === 'm:opened')).toEqual([]);
    }
  });

  it('adopts the current plan as the base on a first start (no backfill of what the live path built)', async () => {
    const w = world();
    w.setPlan([spent]);
    const totals = purchases(w, 3, 2, 'x');
    await w.drain();
    w.coordinator();
    await waitFor(async () => (await w.base())?.planId === w.plan().planId);
    for (const [id, total] of totals) expect(w.value(id, 'spent_90d')).toBe(total);
    expect(JSON.parse((await w.store.readStatus(['trait:spent_90d']))[0]!).status).toBe('live');
  });
});
