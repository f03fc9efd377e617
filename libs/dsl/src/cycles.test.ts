import { describe, expect, it } from 'vitest';
import { findCycles } from './index';

const t = (key: string, traits: string[] = [], segments: string[] = []) => ({ key, kind: 'trait' as const, traits, segments });
const s = (key: string, traits: string[] = [], segments: string[] = []) => ({ key, kind: 'segment' as const, traits, segments });

describe('findCycles', () => {
  it('finds nothing in a DAG', () => {
    expect(findCycles([t('a', ['b']), t('b'), s('x', ['a'], ['y']), s('y', ['b'])])).toEqual([]);
  });
  it('finds self references', () => {
    expect(findCycles([t('a', ['a'])])).toEqual([{ nodes: [{ kind: 'trait', key: 'a' }], message: 'trait a → trait a' }]);
  });
  it('finds cycles across traits and segments', () => {
    const cycles = findCycles([t('a', ['b']), t('b', [], ['s']), s('s', ['a']), t('z')]);
    expect(cycles).toEqual([
      {
        nodes: [
          { kind: 'segment', key: 's' },
          { kind: 'trait', key: 'a' },
          { kind: 'trait', key: 'b' },
        ],
        message: 'segment s → trait a → trait b → segment s',
      },
    ]);
  });
  it('keeps trait and segment namespaces apart', () => {
    expect(findCycles([t('x', [], ['x']), s('x')])).toEqual([]);
  });
  it('reports each cycle once and ignores unknown keys', () => {
    const cycles = findCycles([t('a', ['b', 'ghost']), t('b', ['a']), t('c', ['d']), t('d', ['c'])]);
    expect(cycles.map((c) => c.message)).toEqual(['trait a → trait b → trait a', 'trait c → trait d → trait c']);
  });
  it('handles long chains without recursion', () => {
    const defs = Array.from({ length: 20000 }, (_, i) => t(`k${i}`, [`k${(i + 1) % 20000}`]));
    const cycles = findCycles(defs);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]?.nodes).toHaveLength(20000);
  });
});
