/**
 * The definitions materializer contract (what the processor writes and decide reads): run against
 * MemoryDefinitionCache (memory-definition-cache.test.ts) and RedisDefinitionCache on a real Redis
 * (redis-definition-cache.int.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DefinitionCache } from '../ports';
import { eventually } from './eventually';

export interface DefinitionCacheFixture {
  readonly cache: DefinitionCache;
  /** Every change notice received so far (the field of each landed write), in order. */
  notices(): readonly string[];
  cleanup(): Promise<void>;
}

const def = (key: string, version: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: 'trait', key, version, expression: 'true', ...extra });

export function definitionCacheContract(name: string, make: () => Promise<DefinitionCacheFixture>): void {
  describe(`DefinitionCache contract: ${name}`, () => {
    let fx: DefinitionCacheFixture;
    let cache: DefinitionCache;
    beforeEach(async () => {
      fx = await make();
      cache = fx.cache;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('starts empty', async () => {
      expect(await cache.all()).toEqual({});
    });

    it('writes a new definition and returns it from all()', async () => {
      expect(await cache.put('trait:a', 1, def('a', 1))).toBe(true);
      expect(await cache.put('segment:b', 3, def('b', 3))).toBe(true);
      expect(await cache.all()).toEqual({ 'trait:a': def('a', 1), 'segment:b': def('b', 3) });
    });

    it('replaces only with a newer version (by the version inside the stored JSON)', async () => {
      await cache.put('trait:a', 2, def('a', 2, { expression: 'v2' }));
      expect(await cache.put('trait:a', 2, def('a', 2, { expression: 'same' }))).toBe(false);
      expect(await cache.put('trait:a', 1, def('a', 1, { expression: 'older' }))).toBe(false);
      expect((await cache.all())['trait:a']).toBe(def('a', 2, { expression: 'v2' }));
      expect(await cache.put('trait:a', 3, def('a', 3, { expression: 'v3' }))).toBe(true);
      expect((await cache.all())['trait:a']).toBe(def('a', 3, { expression: 'v3' }));
    });

    it('keeps a deletion as a tombstone that an older write cannot resurrect', async () => {
      await cache.put('flag:f', 4, def('f', 4));
      expect(await cache.put('flag:f', 5, null)).toBe(true);
      const tomb = JSON.parse((await cache.all())['flag:f']!);
      expect(tomb).toEqual({ deleted: true, version: 5 });
      expect(await cache.put('flag:f', 4, def('f', 4))).toBe(false);
      expect(await cache.put('flag:f', 5, def('f', 5))).toBe(false);
      expect(await cache.put('flag:f', 5, null)).toBe(false);
      expect(await cache.put('flag:f', 6, def('f', 6))).toBe(true);
      expect((await cache.all())['flag:f']).toBe(def('f', 6));
    });

    it('stores a tombstone for a definition it never saw', async () => {
      expect(await cache.put('segment:gone', 9, null)).toBe(true);
      expect(JSON.parse((await cache.all())['segment:gone']!)).toEqual({ deleted: true, version: 9 });
      expect(await cache.put('segment:gone', 8, def('gone', 8))).toBe(false);
    });

    it('treats a stored JSON without a version as version 0', async () => {
      expect(await cache.put('trait:nov', 0, JSON.stringify({ key: 'nov' }))).toBe(true);
      expect(await cache.put('trait:nov', 0, def('nov', 0))).toBe(false);
      expect(await cache.put('trait:nov', 1, def('nov', 1))).toBe(true);
    });

    it('announces every landed write, in order, and nothing for refused ones', async () => {
      await cache.put('trait:a', 1, def('a', 1));
      await cache.put('trait:a', 1, def('a', 1)); // refused
      await cache.put('trait:b', 1, null);
      await cache.put('trait:a', 0, def('a', 0)); // refused
      await cache.put('trait:a', 2, def('a', 2));
      await cache.put('trait:end', 1, def('end', 1));
      await eventually(() => fx.notices().includes('trait:end'), 'the last change notice');
      expect(fx.notices()).toEqual(['trait:a', 'trait:b', 'trait:a', 'trait:end']);
    });
  });
}
