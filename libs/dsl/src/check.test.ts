import { describe, expect, it } from 'vitest';
import { check, parse, isReservedName, RESERVED_NAMES } from './index';
import { seedContext } from './internal/test-utils';
import type { ExprType } from './types';

function typeOf(source: string): { type: ExprType; codes: string[] } {
  const r = parse(source);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  const c = check(r.ast, seedContext('trait'));
  return { type: c.type, codes: c.diagnostics.map((d) => d.code) };
}

describe('check: types', () => {
  it.each([
    ['1 + 2', 'number'],
    ['"a"', 'string'],
    ['[1]', 'list'],
    ['null', 'null'],
    ['total_spent', 'number'],
    ['favorite_color', 'string'],
    ['trait("tags")', 'list'],
    ['anything', 'any'],
    ['profile.plan', 'any'],
    ['context.country', 'any'],
    ['segment("vip_users")', 'boolean'],
    ['events.purchase.count_30d', 'number'],
    ['events.purchase.sum(properties.amount, 30d)', 'number'],
    ['events.purchase.avg(properties.amount, 30d)', 'number'],
    ['events.purchase.distinct_count(properties.sku, 30d)', 'number'],
    ['events.purchase.max(properties.amount, 30d)', 'any'],
    ['events.purchase.last(properties.amount)', 'any'],
    ['last_seen_minutes_ago', 'number'],
    ['lower(favorite_color)', 'string'],
    ['coalesce(total_spent, 0)', 'number'],
    ['coalesce(total_spent, "x")', 'any'],
    ['contains(tags, "a")', 'boolean'],
    ['!frequent_buyer', 'boolean'],
    ['profile.a == null', 'boolean'],
    ['anything > 1 && profile.x < "b"', 'boolean'],
  ])('%s : %s', (src, type) => {
    expect(typeOf(src)).toEqual({ type, codes: [] });
  });

  it('diagnostics come in source order and errors do not cascade', () => {
    const r = parse('nope1 + 1 > 2 && segment("nope2")');
    if (!r.ok) throw new Error('parse');
    const c = check(r.ast, seedContext('segment'));
    expect(c.diagnostics.map((d) => d.code)).toEqual(['unknown_name', 'unknown_segment']);
  });

  it('renders carets for ASTs from parse without being given the source', () => {
    const r = parse('total_spent > "x"');
    if (!r.ok) throw new Error('parse');
    expect(check(r.ast, seedContext()).diagnostics[0]?.rendered).toBe('total_spent > "x"\n^^^^^^^^^^^^^^^^^');
  });

  it('flags are checked like segments; traits may be of any type', () => {
    const r = parse('total_spent');
    if (!r.ok) throw new Error('parse');
    expect(check(r.ast, seedContext('flag')).diagnostics.map((d) => d.code)).toEqual(['not_boolean']);
    expect(check(r.ast, seedContext('trait')).diagnostics).toEqual([]);
  });

  it('a trait named like the self key of a segment is not a cycle', () => {
    const r = parse('total_spent > 1');
    if (!r.ok) throw new Error('parse');
    expect(check(r.ast, seedContext('segment', 'total_spent')).diagnostics).toEqual([]);
  });
});

describe('reserved names', () => {
  it.each(['events', 'profile', 'context', 'trait', 'segment', 'true', 'false', 'null', 'and', 'or', 'not', 'in', 'last_seen_minutes_ago', 'first_seen_days_ago', 'contains', 'starts_with', 'ends_with', 'lower', 'coalesce'])(
    '%s is reserved',
    (name) => {
      expect(isReservedName(name)).toBe(true);
      expect(RESERVED_NAMES).toContain(name);
    },
  );
  it.each(['frequent_buyer', 'event', 'properties', 'where', 'Events', 'count_30d'])('%s is not reserved', (name) => {
    expect(isReservedName(name)).toBe(false);
  });
});
