import { describe, expect, it } from 'vitest';
import { parse, print, MAX_SOURCE_LENGTH } from './index';
import type { Expr } from './ast';
import { strip } from './internal/test-utils';

function ast(source: string): Expr {
  const r = parse(source);
  if (!r.ok) throw new Error(`parse failed for ${source}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.ast;
}
function canon(source: string): string {
  return print(ast(source));
}

export const SEEDS = [
  'events.purchase.count_30d >= 1',
  'events.app_open.unique_days_14d >= 5',
  'last_seen_minutes_ago < 1440',
  'profile.plan in ["premium", "enterprise"]',
  'events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3',
  'frequent_buyer == true',
  'segment("vip_users") && segment("high_value")',
  'trait("frequent_buyer") == true',
  'trait("total_spent") >= 500',
  'segment("power_users")',
  'events.purchase.count_30d >= 3',
];

describe('parse: seed forms', () => {
  it.each(SEEDS)('%s parses and prints back verbatim', (src) => {
    expect(canon(src)).toBe(src);
  });
});

describe('parse: references', () => {
  it.each([
    ['events["Order Completed"].count_7d', { kind: 'aggregate', event: 'Order Completed', filter: null, metric: { name: 'count_7d', args: null } }],
    ["events['Order Completed'].count_7d", { kind: 'aggregate', event: 'Order Completed', filter: null, metric: { name: 'count_7d', args: null } }],
    ['first_seen_days_ago', { kind: 'aggregate', event: null, filter: null, metric: { name: 'first_seen_days_ago', args: null } }],
    ['profile.address.city', { kind: 'profile', path: ['address', 'city'] }],
    ['profile["odd key"].x', { kind: 'profile', path: ['odd key', 'x'] }],
    ['profile.in', { kind: 'profile', path: ['in'] }],
    ['context.country', { kind: 'context', path: ['country'] }],
    ['frequent_buyer', { kind: 'name', name: 'frequent_buyer' }],
    ['trait("a b")', { kind: 'trait', key: 'a b' }],
    ['segment("vip")', { kind: 'segment', key: 'vip' }],
    ['trait(1)', { kind: 'call', name: 'trait', args: [{ kind: 'number', value: 1 }] }],
  ])('%s', (src, expected) => {
    expect(strip(ast(src))).toEqual(expected);
  });

  it('aggregates with property metrics and filters', () => {
    expect(strip(ast('events.purchase.where(properties.amount > 100).sum(properties.amount, 30d)'))).toEqual({
      kind: 'aggregate',
      event: 'purchase',
      filter: {
        kind: 'binary',
        op: '>',
        left: { kind: 'event_field', path: ['properties', 'amount'] },
        right: { kind: 'number', value: 100 },
      },
      metric: {
        name: 'sum',
        args: [
          { kind: 'event_field', path: ['properties', 'amount'] },
          { kind: 'duration', n: 30, unit: 'd' },
        ],
      },
    });
  });

  it('inside where(...), context and event are the event’s', () => {
    expect(strip(ast('events.x.where(event == "x" && context.ip != null).count_1d'))).toMatchObject({
      filter: {
        left: { left: { kind: 'event_field', path: ['event'] } },
        right: { left: { kind: 'event_field', path: ['context', 'ip'] } },
      },
    });
  });
});

describe('parse: literals', () => {
  it.each([
    ['1', 1],
    ['1.5', 1.5],
    ['-2', -2],
    ['- 2', -2],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['"a\\"b\\\\c\\n\\t\\u00e9"', 'a"b\\c\n\té'],
    ["'it\\'s'", "it's"],
    ['"single \' inside"', "single ' inside"],
    ['true', true],
    ['false', false],
  ])('%s', (src, value) => {
    expect(strip(ast(src))).toMatchObject({ value });
  });
  it('null, lists and durations', () => {
    expect(strip(ast('null'))).toEqual({ kind: 'null' });
    expect(strip(ast('[1, "a", [true]]'))).toEqual({
      kind: 'list',
      items: [
        { kind: 'number', value: 1 },
        { kind: 'string', value: 'a' },
        { kind: 'list', items: [{ kind: 'boolean', value: true }] },
      ],
    });
    expect(strip(ast('[]'))).toEqual({ kind: 'list', items: [] });
    expect(strip(ast('12h'))).toEqual({ kind: 'duration', n: 12, unit: 'h' });
    expect(strip(ast('15m'))).toEqual({ kind: 'duration', n: 15, unit: 'm' });
  });
  it('-(1) stays a negation, -1 is a literal', () => {
    expect(strip(ast('-(1)'))).toEqual({ kind: 'unary', op: '-', operand: { kind: 'number', value: 1 } });
    expect(canon('-(1)')).toBe('-(1)');
    expect(canon('a - -1')).toBe('a - -1');
  });
});

describe('parse: precedence and spellings', () => {
  it.each([
    ['a || b && c', 'a || b && c'],
    ['(a || b) && c', '(a || b) && c'],
    ['a or b and c', 'a || b && c'],
    ['not a && b', '!a && b'],
    ['!a == b', '!(a == b)'],
    ['(!a) == b', '(!a) == b'],
    ['not x in [1]', '!(x in [1])'],
    ['x not in [1]', 'x not in [1]'],
    ['a + b * c', 'a + b * c'],
    ['(a + b) * c', '(a + b) * c'],
    ['a - (b - c)', 'a - (b - c)'],
    ['a - b - c', 'a - b - c'],
    ['-a * b', '-a * b'],
    ['-(a * b)', '-(a * b)'],
    ['a % 2 == 0', 'a % 2 == 0'],
    ['a + 1 > b * 2 && c', 'a + 1 > b * 2 && c'],
    ['x in [1, 2] == true', 'x in [1, 2] == true'],
    ['(a == b) == c', '(a == b) == c'],
    ['  a   >=1', 'a >= 1'],
    ["'x' == \"x\"", '"x" == "x"'],
  ])('%s → %s', (src, printed) => {
    expect(canon(src)).toBe(printed);
  });

  it('binds && tighter than ||', () => {
    expect(strip(ast('a || b && c'))).toMatchObject({ op: '||', right: { op: '&&' } });
  });
  it('binds ! looser than comparisons', () => {
    expect(strip(ast('!a == b'))).toMatchObject({ kind: 'unary', op: '!', operand: { op: '==' } });
  });
  it('binds in tighter than ==', () => {
    expect(strip(ast('x in l == true'))).toMatchObject({ op: '==', left: { op: 'in' } });
  });
  it('comparisons do not chain', () => {
    expect(parse('a < b < c').ok).toBe(false);
  });
  it('keywords are case-sensitive', () => {
    expect(strip(ast('AND'))).toEqual({ kind: 'name', name: 'AND' });
    expect(parse('a AND b').ok).toBe(false);
  });
  it('identifiers may start with a keyword', () => {
    expect(strip(ast('inner || notable || order'))).toMatchObject({ left: { left: { name: 'inner' } } });
  });
});

describe('parse: spans and positions', () => {
  it('records spans on nodes', () => {
    const e = ast('a >= 10');
    expect(e.span).toEqual({ offset: 0, length: 7, line: 1, column: 1 });
    if (e.kind !== 'binary') throw new Error('binary expected');
    expect(e.right.span).toEqual({ offset: 5, length: 2, line: 1, column: 6 });
  });
  it('tracks lines', () => {
    const r = parse('a &&\n  b >=\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics[0]).toMatchObject({ code: 'unexpected_end', line: 2, column: 7 });
  });
  it('reports several lexer errors at once', () => {
    const r = parse('a @ b # c');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.filter((d) => d.code === 'lex_error').map((d) => d.column)).toEqual([3, 7]);
  });
  it('reports syntax errors from several places with recovery', () => {
    const r = parse('contains(a, ) && (b >= )');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.length).toBeGreaterThanOrEqual(1);
    expect(r.diagnostics[0]).toMatchObject({ code: 'syntax_error', column: 13 });
  });
  it('accepts the maximum length and nesting', () => {
    const src = `${'('.repeat(60)}a${')'.repeat(60)}`;
    expect(parse(src).ok).toBe(true);
    const long = `a${' '.repeat(MAX_SOURCE_LENGTH - 1)}`;
    expect(parse(long).ok).toBe(true);
  });
  it('does not overflow the stack on huge inputs', () => {
    for (const src of ['('.repeat(4000), '!'.repeat(4000) + 'a', '-'.repeat(4000) + '1', '['.repeat(4000), 'a' + ' && a'.repeat(800), '1' + '+1'.repeat(2000)]) {
      expect(() => parse(src)).not.toThrow();
    }
    expect(parse('1' + '+1'.repeat(2000)).ok).toBe(true);
  });
});
