/**
 * The RolloutStore and SegmentMembers contracts (services/processor/src/ports.ts): one suite each, run
 * against the memory classes (memory-rollout-store.test.ts) and the Redis ones on a real Redis
 * (redis-rollout-store.int.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RolloutStore, SegmentMembers } from '../rollout-ports';

export interface Fixture<T> {
  readonly store: T;
  cleanup(): Promise<void>;
}

export function rolloutStoreContract(name: string, make: () => Promise<Fixture<RolloutStore>>): void {
  describe(`RolloutStore contract: ${name}`, () => {
    let fx: Fixture<RolloutStore>;
    let s: RolloutStore;
    beforeEach(async () => {
      fx = await make();
      s = fx.store;
    });
    afterEach(async () => fx.cleanup());

    it('gives the lease to one owner at a time, renews it for the holder, and releases only for the holder', async () => {
      expect(await s.acquireLease('a', 10_000)).toBe(true);
      expect(await s.acquireLease('b', 10_000)).toBe(false);
      expect(await s.acquireLease('a', 10_000)).toBe(true);
      await s.releaseLease('b');
      expect(await s.acquireLease('b', 10_000)).toBe(false);
      await s.releaseLease('a');
      expect(await s.acquireLease('b', 10_000)).toBe(true);
    });

    it('writes checkpoint fields only for the lease holder', async () => {
      expect(await s.loadCheckpoint()).toEqual({});
      expect(await s.saveCheckpoint('a', { base: '1' })).toBe(false);
      await s.acquireLease('a', 10_000);
      expect(await s.saveCheckpoint('a', { base: '1', run: 'x' })).toBe(true);
      expect(await s.saveCheckpoint('a', { base: '2' }, ['run'])).toBe(true);
      expect(await s.loadCheckpoint()).toEqual({ base: '2' });
      expect(await s.saveCheckpoint('b', { base: '3' })).toBe(false);
      expect(await s.loadCheckpoint()).toEqual({ base: '2' });
    });

    it('keeps the first fence claimed per (series, partition) and returns the one that holds', async () => {
      expect(
        await s.claimFences([
          { series: 's1', partition: 0, offset: 10 },
          { series: 's1', partition: 1, offset: 5 },
        ]),
      ).toEqual([10, 5]);
      expect(
        await s.claimFences([
          { series: 's1', partition: 0, offset: 99 },
          { series: 's2', partition: 0, offset: 99 },
          { series: 's2', partition: 0, offset: 1 },
        ]),
      ).toEqual([10, 99, 99]);
      await s.clearFences(['s1']);
      expect(await s.claimFences([{ series: 's1', partition: 0, offset: 42 }, { series: 's2', partition: 0, offset: 0 }])).toEqual([42, 99]);
      expect(await s.claimFences([])).toEqual([]);
    });

    it('stores status per definition field', async () => {
      await s.writeStatus({ 'trait:a': '{"status":"live"}', 'segment:b': '{"status":"backfilling"}' });
      await s.writeStatus({ 'segment:b': '{"status":"live"}' }, ['trait:a']);
      expect(await s.readStatus(['trait:a', 'segment:b', 'flag:c'])).toEqual([null, '{"status":"live"}', null]);
    });
  });
}

export function segmentMembersContract(name: string, make: () => Promise<Fixture<SegmentMembers>>): void {
  describe(`SegmentMembers contract: ${name}`, () => {
    let fx: Fixture<SegmentMembers>;
    let m: SegmentMembers;
    beforeEach(async () => {
      fx = await make();
      m = fx.store;
    });
    afterEach(async () => fx.cleanup());

    it('applies entries and exits in order, idempotently', async () => {
      const ch = (profileId: string, status: 'entered' | 'exited', segment = 'vip') => ({ segment, profileId, status });
      await m.apply([ch('u1', 'entered'), ch('u2', 'entered'), ch('u1', 'exited'), ch('u1', 'entered'), ch('u3', 'entered', 'other')]);
      await m.apply([ch('u2', 'entered'), ch('u9', 'exited')]);
      expect(await m.count('vip')).toBe(2);
      expect(await m.page('vip', null, 10)).toEqual(['u1', 'u2']);
      expect(await m.count('none')).toBe(0);
      expect(await m.page('none', null, 10)).toEqual([]);
    });

    it('pages in byte order with an exclusive cursor', async () => {
      const ids = ['b', 'a', 'B', 'ü', 'a:{x}', 'c', '10', '9'];
      await m.apply(ids.map((profileId) => ({ segment: 's', profileId, status: 'entered' as const })));
      const sorted = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: string[] = await m.page('s', after, 3);
        seen.push(...page);
        if (page.length < 3) break;
        after = page[page.length - 1]!;
      }
      expect(seen).toEqual(sorted);
    });

    it('drops whole segments', async () => {
      await m.apply([{ segment: 'x', profileId: 'u', status: 'entered' }, { segment: 'y', profileId: 'u', status: 'entered' }]);
      await m.drop(['x']);
      expect(await m.count('x')).toBe(0);
      expect(await m.count('y')).toBe(1);
    });
  });
}
