/**
 * The ProfileRepository contract (services/processor/src/ports.ts): one suite, run against every
 * implementation — MemoryProfileRepository (memory-profile-repository.test.ts) and RedisProfileStore on a
 * real Redis (redis-profile-repository.int.test.ts). It pins the semantics of RedisProfileStore +
 * apply-profile.lua, quirks included, because embedded mode must behave exactly like production.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProfileIndex, ProfileRepository, ProfileWrite } from '../ports';

export interface ProfileRepositoryFixture {
  readonly repo: ProfileRepository & Partial<ProfileIndex>;
  /** Removes whatever the test wrote (keys, connections). */
  cleanup(): Promise<void>;
}

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.now();

function write(id: string, expectedRev: number, w: Partial<Omit<ProfileWrite, 'id' | 'expectedRev'>> = {}): ProfileWrite {
  return { id, expectedRev, set: w.set ?? {}, del: w.del ?? [], messageIds: w.messageIds ?? [], changes: w.changes ?? [] };
}

/** Defines the suite. `makeRepo` is called before every test and must give an empty, isolated store. */
export function profileRepositoryContract(name: string, makeRepo: () => Promise<ProfileRepositoryFixture>): void {
  describe(`ProfileRepository contract: ${name}`, () => {
    let fx: ProfileRepositoryFixture;
    let repo: ProfileRepository & Partial<ProfileIndex>;
    // Ids with characters that need encoding in Redis keys, unique per test.
    const id = (label: string) => `${label}:{x} ${randomUUID().slice(0, 8)}`;

    beforeEach(async () => {
      fx = await makeRepo();
      repo = fx.repo;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    async function one(pid: string, messageIds?: string[]) {
      const m = await repo.load([{ id: pid, ...(messageIds ? { messageIds } : {}) }]);
      const p = m.get(pid);
      if (!p) throw new Error(`load did not return ${pid}`);
      return p;
    }

    describe('load', () => {
      it('gives an absent profile rev 0, no fields, nothing seen, nothing pending', async () => {
        const p = await one(id('absent'), ['m1']);
        expect(p.rev).toBe(0);
        expect(p.fields).toEqual({});
        expect([...p.seen]).toEqual([]);
        expect(p.pending).toEqual([]);
      });

      it('returns one entry per requested id', async () => {
        const [a, b] = [id('a'), id('b')];
        expect((await repo.write(write(a, 0, { set: { f: '1' } }), NOW)).ok).toBe(true);
        const m = await repo.load([{ id: a }, { id: b }]);
        expect([...m.keys()].sort()).toEqual([a, b].sort());
        expect(m.get(a)!.rev).toBe(1);
        expect(m.get(b)!.rev).toBe(0);
      });
    });

    describe('write', () => {
      it('round-trips fields and bumps the revision by one per write', async () => {
        const pid = id('rt');
        const r1 = await repo.write(write(pid, 0, { set: { a: '1', b: 'x', 'ü:{}': 'ü' } }), NOW);
        expect(r1).toEqual({ ok: true, rev: 1, pending: [] });
        expect(await one(pid)).toMatchObject({ rev: 1, fields: { a: '1', b: 'x', 'ü:{}': 'ü' } });

        const r2 = await repo.write(write(pid, 1, { set: { a: '2', c: '' }, del: ['b'] }), NOW);
        expect(r2).toEqual({ ok: true, rev: 2, pending: [] });
        const p = await one(pid);
        expect(p.rev).toBe(2);
        expect(p.fields).toEqual({ a: '2', c: '', 'ü:{}': 'ü' });
      });

      it('applies set before del (a field in both ends up deleted), and never exposes the revision as a field', async () => {
        const pid = id('setdel');
        await repo.write(write(pid, 0, { set: { a: '1', b: '2' } }), NOW);
        await repo.write(write(pid, 1, { set: { a: 'new' }, del: ['a', 'missing'] }), NOW);
        const p = await one(pid);
        expect(p.fields).toEqual({ b: '2' });
        expect(p.fields).not.toHaveProperty('_rev');
      });

      it('a write with nothing to set still creates the profile and bumps the revision', async () => {
        const pid = id('empty');
        expect(await repo.write(write(pid, 0), NOW)).toEqual({ ok: true, rev: 1, pending: [] });
        expect((await one(pid)).rev).toBe(1);
      });

      it('refuses a stale revision: reports the current one and writes nothing', async () => {
        const pid = id('cas');
        await repo.write(write(pid, 0, { set: { a: '1' }, changes: ['c1'] }), NOW);
        const stale = await repo.write(
          write(pid, 0, { set: { a: 'lost', b: 'lost' }, del: ['a'], messageIds: ['m-lost'], changes: ['c-lost'] }),
          NOW,
        );
        expect(stale).toEqual({ ok: false, currentRev: 1 });
        const ahead = await repo.write(write(pid, 7, { set: { a: 'lost' } }), NOW);
        expect(ahead).toEqual({ ok: false, currentRev: 1 });
        const p = await one(pid, ['m-lost']);
        expect(p).toMatchObject({ rev: 1, fields: { a: '1' }, pending: ['c1'] });
        expect([...p.seen]).toEqual([]);
      });

      it('refuses a non-zero expected revision on an absent profile with currentRev 0', async () => {
        const pid = id('cas0');
        expect(await repo.write(write(pid, 3, { set: { a: '1' } }), NOW)).toEqual({ ok: false, currentRev: 0 });
        expect((await one(pid)).rev).toBe(0);
      });

      it('lets exactly one of two writers with the same expected revision win', async () => {
        const pid = id('race');
        const results = await Promise.all([
          repo.write(write(pid, 0, { set: { w: 'a' } }), NOW),
          repo.write(write(pid, 0, { set: { w: 'b' } }), NOW),
        ]);
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.find((r) => !r.ok)).toEqual({ ok: false, currentRev: 1 });
      });
    });

    describe('message-id dedupe', () => {
      it('reports, of the ids asked about, exactly those applied by earlier writes', async () => {
        const pid = id('dedupe');
        await repo.write(write(pid, 0, { messageIds: ['m1', 'm2'] }), NOW);
        await repo.write(write(pid, 1, { messageIds: ['m3'] }), NOW + 1000);
        const p = await one(pid, ['m1', 'm3', 'm4']);
        expect([...p.seen].sort()).toEqual(['m1', 'm3']);
        expect([...(await one(pid)).seen]).toEqual([]);
        expect([...(await one(pid, [])).seen]).toEqual([]);
      });

      it('keeps ids per profile', async () => {
        const [a, b] = [id('da'), id('db')];
        await repo.write(write(a, 0, { messageIds: ['m1'] }), NOW);
        const m = await repo.load([
          { id: a, messageIds: ['m1'] },
          { id: b, messageIds: ['m1'] },
        ]);
        expect([...m.get(a)!.seen]).toEqual(['m1']);
        expect([...m.get(b)!.seen]).toEqual([]);
      });

      it('forgets ids applied more than 24 h before a later write', async () => {
        const pid = id('retention');
        await repo.write(write(pid, 0, { messageIds: ['old'] }), NOW - DAY - 5000);
        await repo.write(write(pid, 1, { messageIds: ['recent'] }), NOW - DAY + 60_000);
        await repo.write(write(pid, 2, { messageIds: ['new'] }), NOW);
        const p = await one(pid, ['old', 'recent', 'new']);
        expect([...p.seen].sort()).toEqual(['new', 'recent']);
      });

      it('re-applying an id refreshes its time', async () => {
        const pid = id('refresh');
        await repo.write(write(pid, 0, { messageIds: ['m'] }), NOW - DAY + 1000);
        await repo.write(write(pid, 1, { messageIds: ['m'] }), NOW - 1000);
        await repo.write(write(pid, 2, { messageIds: ['other'] }), NOW + 5000);
        expect([...(await one(pid, ['m'])).seen]).toEqual(['m']);
      });
    });

    describe('outbox', () => {
      it('accumulates changes across writes and returns all pending ones on every successful write', async () => {
        const pid = id('outbox');
        expect(await repo.write(write(pid, 0, { changes: ['c1', 'c2'] }), NOW)).toEqual({ ok: true, rev: 1, pending: ['c1', 'c2'] });
        expect(await repo.write(write(pid, 1), NOW)).toEqual({ ok: true, rev: 2, pending: ['c1', 'c2'] });
        expect(await repo.write(write(pid, 2, { changes: ['c3'] }), NOW)).toEqual({
          ok: true,
          rev: 3,
          pending: ['c1', 'c2', 'c3'],
        });
        expect((await one(pid)).pending).toEqual(['c1', 'c2', 'c3']);
      });

      it('ackPending drops exactly the first N, leaving changes queued meanwhile', async () => {
        const pid = id('ack');
        await repo.write(write(pid, 0, { changes: ['c1', 'c2', 'c3'] }), NOW);
        await repo.ackPending([{ id: pid, count: 2 }]);
        expect((await one(pid)).pending).toEqual(['c3']);
        const r = await repo.write(write(pid, 1, { changes: ['c4'] }), NOW);
        expect(r).toEqual({ ok: true, rev: 2, pending: ['c3', 'c4'] });
        await repo.ackPending([{ id: pid, count: 0 }]);
        expect((await one(pid)).pending).toEqual(['c3', 'c4']);
        await repo.ackPending([{ id: pid, count: 5 }]);
        expect((await one(pid)).pending).toEqual([]);
        expect(await repo.write(write(pid, 2), NOW)).toEqual({ ok: true, rev: 3, pending: [] });
      });

      it('acks several profiles at once and ignores unknown ones', async () => {
        const [a, b, c] = [id('oa'), id('ob'), id('oc')];
        await repo.write(write(a, 0, { changes: ['a1', 'a2'] }), NOW);
        await repo.write(write(b, 0, { changes: ['b1'] }), NOW);
        await repo.ackPending([]);
        await repo.ackPending([
          { id: a, count: 1 },
          { id: b, count: 1 },
          { id: c, count: 3 },
        ]);
        expect((await one(a)).pending).toEqual(['a2']);
        expect((await one(b)).pending).toEqual([]);
        expect((await one(c)).pending).toEqual([]);
      });
    });

    describe('links', () => {
      it('links an anonymous id to the first user only', async () => {
        const anon = id('anon');
        const [u1, u2] = [id('u1'), id('u2')];
        expect(await repo.link(anon, u1)).toBe(u1);
        expect(await repo.link(anon, u2)).toBe(u1);
        expect(await repo.link(anon, u1)).toBe(u1);
      });

      it('resolveLinks returns only the linked ones', async () => {
        const [a1, a2, a3] = [id('a1'), id('a2'), id('a3')];
        const u = id('u');
        await repo.link(a1, u);
        await repo.link(a3, u);
        const m = await repo.resolveLinks([a1, a2, a3]);
        expect(Object.fromEntries(m)).toEqual({ [a1]: u, [a3]: u });
        expect((await repo.resolveLinks([])).size).toBe(0);
      });
    });

    describe('schedule', () => {
      it('returns due ids in due order (ties by id), up to the limit, per partition', async () => {
        const [a, b, c, d, e] = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e'].map(id) as [string, string, string, string, string];
        await repo.schedule([
          { partition: 0, id: c, dueAt: 300 },
          { partition: 0, id: b, dueAt: 100 },
          { partition: 0, id: a, dueAt: 100 },
          { partition: 0, id: d, dueAt: 500 },
          { partition: 1, id: e, dueAt: 50 },
        ]);
        expect(await repo.due(0, 99, 10)).toEqual([]);
        expect(await repo.due(0, 100, 10)).toEqual([a, b]);
        expect(await repo.due(0, 300, 10)).toEqual([a, b, c]);
        expect(await repo.due(0, 10_000, 2)).toEqual([a, b]);
        expect(await repo.due(0, 10_000, 0)).toEqual([]);
        expect(await repo.due(1, 10_000, 10)).toEqual([e]);
        expect(await repo.due(2, 10_000, 10)).toEqual([]);
      });

      it('rescheduling moves an id, and a null due time removes it; due itself removes nothing', async () => {
        const [a, b] = [id('s-a'), id('s-b')];
        await repo.schedule([
          { partition: 3, id: a, dueAt: 100 },
          { partition: 3, id: b, dueAt: 200 },
        ]);
        expect(await repo.due(3, 1000, 10)).toEqual([a, b]);
        await repo.schedule([{ partition: 3, id: a, dueAt: 900 }]);
        expect(await repo.due(3, 1000, 10)).toEqual([b, a]);
        await repo.schedule([
          { partition: 3, id: b, dueAt: null },
          { partition: 3, id: id('never'), dueAt: null },
        ]);
        expect(await repo.due(3, 1000, 10)).toEqual([a]);
        await repo.schedule([]);
        expect(await repo.due(3, 1000, 10)).toEqual([a]);
      });
    });

    describe('remove', () => {
      it('drops state and applied ids; the profile starts over at rev 0', async () => {
        const pid = id('rm');
        await repo.write(write(pid, 0, { set: { a: '1' }, messageIds: ['m1'] }), NOW);
        await repo.remove(pid);
        const p = await one(pid, ['m1']);
        expect(p).toMatchObject({ rev: 0, fields: {} });
        expect([...p.seen]).toEqual([]);
        expect(await repo.write(write(pid, 0, { set: { b: '2' } }), NOW)).toMatchObject({ ok: true, rev: 1 });
        expect((await one(pid)).fields).toEqual({ b: '2' });
        await repo.remove(id('never-written'));
      });

      it('keeps the unpublished outbox (the merged profile’s changes must still be published) and links', async () => {
        const pid = id('rm-out');
        const anon = id('rm-anon');
        await repo.link(anon, pid);
        await repo.write(write(pid, 0, { changes: ['c1'] }), NOW);
        await repo.remove(pid);
        expect((await one(pid)).pending).toEqual(['c1']);
        expect((await repo.resolveLinks([anon])).get(anon)).toBe(pid);
      });
    });

    describe('listProfileIds (where implemented)', () => {
      it('lists every written profile once a full scan completes, and not removed ones', async (ctx) => {
        const list = repo.listProfileIds?.bind(repo);
        if (!list) return ctx.skip();
        const ids = Array.from({ length: 25 }, (_, i) => id(`l${i}`));
        for (const pid of ids) await repo.write(write(pid, 0), NOW);
        await repo.remove(ids[0]!);
        const seen = new Set<string>();
        let cursor = '0';
        let rounds = 0;
        do {
          const page = await list(cursor, 7);
          page.ids.forEach((x) => seen.add(x));
          cursor = page.cursor;
        } while (cursor !== '0' && ++rounds < 1000);
        expect([...seen].sort()).toEqual(ids.slice(1).sort());
      });
    });
  });
}
