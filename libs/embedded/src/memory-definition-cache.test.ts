import { describe, expect, it } from 'vitest';
import { MemoryDefinitionCache } from './memory-definition-cache';
import { definitionCacheContract } from './contracts/definition-cache.contract';

definitionCacheContract('MemoryDefinitionCache', async () => {
  const cache = new MemoryDefinitionCache();
  const notices: string[] = [];
  const off = cache.onChange((field) => notices.push(field));
  return { cache, notices: () => notices, cleanup: async () => off() };
});

describe('MemoryDefinitionCache specifics', () => {
  it('stops notifying after unsubscribe and survives a throwing listener', async () => {
    const cache = new MemoryDefinitionCache();
    const seen: string[] = [];
    cache.onChange(() => {
      throw new Error('listener bug');
    });
    const off = cache.onChange((f) => seen.push(f));
    expect(await cache.put('trait:a', 1, '{"version":1}')).toBe(true);
    off();
    await cache.put('trait:a', 2, '{"version":2}');
    expect(seen).toEqual(['trait:a']);
  });
});
