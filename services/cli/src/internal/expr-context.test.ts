import { describe, expect, it } from 'vitest';
import { parseSegmentList, parseTraitList, traitTypesOf } from './expr-context';

describe('--traits / --segments', () => {
  it('parses names with optional types (default any)', () => {
    expect([...parseTraitList('a, b:number ,c:boolean,')]).toEqual([
      ['a', 'any'],
      ['b', 'number'],
      ['c', 'boolean'],
    ]);
    expect([...parseSegmentList('x, y,,')]).toEqual(['x', 'y']);
  });

  it('rejects unknown types and malformed items', () => {
    expect(() => parseTraitList('a:float')).toThrow(/unknown type "float"/);
    expect(() => parseTraitList(':number')).toThrow(/bad item/);
    expect(() => parseTraitList('a:number:x')).toThrow(/bad item/);
  });
});

describe('traitTypesOf', () => {
  it('types traits in dependency order, whatever the listing order', () => {
    const types = traitTypesOf(
      [
        { key: 'big', expression: 'trait("total") >= 500' },
        { key: 'label', expression: 'profile.plan' },
        { key: 'total', expression: 'events.purchase.sum(properties.amount, 90d)' },
        { key: 'doubled', expression: 'total * 2' },
      ],
      new Set(),
    );
    expect(Object.fromEntries(types)).toEqual({ big: 'boolean', label: 'any', total: 'number', doubled: 'number' });
  });

  it('cycles and broken traits stay any', () => {
    const types = traitTypesOf(
      [
        { key: 'a', expression: 'b + 1' },
        { key: 'b', expression: 'a + 1' },
        { key: 'c', expression: 'events.purchase.count_30d >=' },
      ],
      new Set(),
    );
    expect(types.get('c')).toBe('any');
    expect(['any', 'number']).toContain(types.get('a'));
  });
});
