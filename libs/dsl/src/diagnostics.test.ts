import { describe, expect, it } from 'vitest';
import { compile, parse, renderDiagnostic, MAX_SOURCE_LENGTH } from './index';
import type { CheckContext, DiagnosticCode } from './types';
import { seedContext } from './internal/test-utils';

interface Case {
  readonly code: DiagnosticCode;
  readonly source: string;
  readonly ctx?: CheckContext;
  /** Expected 1-based column of the first diagnostic with this code. */
  readonly column?: number;
  readonly message?: RegExp;
}

const CASES: Case[] = [
  { code: 'lex_error', source: 'a @ b', column: 3, message: /unexpected character '@'/ },
  { code: 'lex_error', source: 'a = 1', column: 3, message: /did you mean '=='/ },
  { code: 'lex_error', source: '"abc', column: 1, message: /unterminated string/ },
  { code: 'lex_error', source: '"a\\qb"', column: 3, message: /invalid escape/ },
  { code: 'lex_error', source: '"\\u12"', column: 2, message: /4 hex digits/ },
  { code: 'syntax_error', source: 'a >= >= 1', column: 6 },
  { code: 'syntax_error', source: 'a b', column: 3, message: /unexpected 'b'/ },
  { code: 'syntax_error', source: 'a < b < c', column: 7 },
  { code: 'syntax_error', source: 'profile[1]', column: 9, message: /string in brackets/ },
  { code: 'syntax_error', source: 'events.purchase.count_30d.x', column: 26 },
  { code: 'syntax_error', source: '(a).b', column: 4 },
  { code: 'unexpected_end', source: 'a >=', column: 5, message: /unexpected end of input/ },
  { code: 'unexpected_end', source: '', column: 1, message: /empty/ },
  { code: 'unexpected_end', source: 'contains(a, ', column: 12 },
  { code: 'unexpected_end', source: 'events.purchase', column: 16, message: /expected a metric/ },
  { code: 'unknown_name', source: 'frequnt_buyer', column: 1, message: /did you mean 'frequent_buyer'/ },
  { code: 'unknown_name', source: 'vip_users', message: /did you mean segment\("vip_users"\)/ },
  { code: 'unknown_name', source: 'last_seen_minute_ago < 5', message: /did you mean 'last_seen_minutes_ago'/ },
  { code: 'unknown_name', source: 'properties.amount > 1', message: /only available inside where/ },
  { code: 'unknown_name', source: 'foo.bar', message: /only events, profile and context have fields/ },
  { code: 'unknown_name', source: 'events.x.where(amount > 1).count_1d >= 1', column: 16, message: /properties\.amount/ },
  { code: 'unknown_trait', source: 'trait("total_spend") > 1', message: /did you mean trait\("total_spent"\)/ },
  { code: 'unknown_segment', source: 'segment("vip_user")', column: 1, message: /did you mean segment\("vip_users"\)/ },
  { code: 'unknown_metric', source: 'events.purchase.cnt_30d >= 1', column: 17, message: /did you mean 'count_30d'/ },
  { code: 'unknown_metric', source: 'events.purchase.median(properties.x, 30d) > 1' },
  { code: 'unknown_function', source: 'contain("a", "b")', column: 1, message: /did you mean 'contains'/ },
  { code: 'bad_arguments', source: 'contains("a")', column: 1 },
  { code: 'bad_arguments', source: 'trait(1) == 1' },
  { code: 'bad_arguments', source: 'events.purchase.sum(30d) > 1' },
  { code: 'bad_arguments', source: 'events.purchase.sum(properties.amount) > 1' },
  { code: 'bad_arguments', source: 'events.purchase.sum(properties.amount, 3) > 1' },
  { code: 'bad_arguments', source: 'events.purchase.last(properties.a, 30d) == 1' },
  { code: 'bad_arguments', source: 'events.purchase.count_30d(1) > 1' },
  { code: 'bad_arguments', source: 'events.purchase.sum > 1' },
  { code: 'bad_arguments', source: 'events.x.where(segment("vip_users")).count_1d >= 1' },
  { code: 'bad_window', source: 'events.purchase.count_0d >= 1', column: 17, message: /at least 1/ },
  { code: 'bad_window', source: 'events.purchase.count_401d >= 1', message: /400d/ },
  { code: 'bad_window', source: 'events.purchase.count_745h >= 1', message: /744h/ },
  { code: 'bad_window', source: 'events.purchase.count_1441m >= 1', message: /1440m/ },
  { code: 'bad_window', source: 'events.purchase.unique_days_3h >= 1', message: /day window/ },
  { code: 'bad_window', source: 'events.purchase.count_3w >= 1', message: /unit/ },
  { code: 'bad_window', source: 'events.purchase.sum(properties.amount, 0d) > 1' },
  { code: 'bad_window', source: 'events.purchase.count_99999999999999d >= 1' },
  { code: 'type_mismatch', source: 'events.purchase.count_30d > "x"' },
  { code: 'type_mismatch', source: 'total_spent == "a"' },
  { code: 'type_mismatch', source: '1 && true' },
  { code: 'type_mismatch', source: '"a" + 1 > 0' },
  { code: 'type_mismatch', source: 'total_spent > null' },
  { code: 'type_mismatch', source: 'total_spent in 5' },
  { code: 'type_mismatch', source: 'total_spent in ["a", "b"]' },
  { code: 'type_mismatch', source: '30d == 1' },
  { code: 'type_mismatch', source: 'starts_with(total_spent, "a")' },
  { code: 'not_boolean', source: 'events.purchase.count_30d', message: /'\.\.\. >= 1'/ },
  { code: 'not_boolean', source: '"yes"', ctx: seedContext('flag') },
  { code: 'not_boolean', source: 'events.x.where(lower(properties.name)).count_1d >= 1' },
  { code: 'reserved_name', source: 'trait("events") == 1', ctx: seedContext('trait') },
  { code: 'reserved_name', source: 'segment("and")' },
  { code: 'reserved_name', source: 'lower == 1', message: /call it as lower/ },
  { code: 'reserved_name', source: 'trait', message: /call it as trait/ },
  { code: 'cycle', source: 'trait("total_spent") > 1', ctx: seedContext('trait', 'total_spent'), message: /refers to itself/ },
  { code: 'cycle', source: 'total_spent + 1', ctx: seedContext('trait', 'total_spent') },
  { code: 'cycle', source: 'segment("vip_users")', ctx: seedContext('segment', 'vip_users') },
  { code: 'too_long', source: `a${' '.repeat(MAX_SOURCE_LENGTH)}` },
  { code: 'too_deep', source: `${'('.repeat(65)}a${')'.repeat(65)}` },
  { code: 'too_deep', source: `${'!'.repeat(65)}a` },
  { code: 'too_deep', source: `${'['.repeat(40)}${'-'.repeat(30)}1` },
];

describe('diagnostics: every code', () => {
  it.each(CASES.map((c) => [c.code, c.source.length > 60 ? `${c.source.slice(0, 30)}…` : c.source, c] as const))(
    '%s: %s',
    (_code, _src, c) => {
      const r = compile(c.source, c.ctx ?? seedContext('segment'));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const d = r.diagnostics.find((x) => x.code === c.code);
      expect(d, JSON.stringify(r.diagnostics.map((x) => [x.code, x.message]))).toBeDefined();
      if (!d) return;
      expect(d.severity).toBe('error');
      if (c.column !== undefined) expect(d.column).toBe(c.column);
      if (c.message) expect(d.message).toMatch(c.message);
      expect(d.length).toBeGreaterThanOrEqual(1);
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.rendered).toContain('^');
    },
  );

  it('covers all 16 codes', () => {
    expect(new Set(CASES.map((c) => c.code)).size).toBe(16);
  });
});

describe('diagnostics: shape and rendering', () => {
  it('renders the source line and a caret under the problem', () => {
    const r = parse('a >= ');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const d = r.diagnostics[0];
    expect(d).toMatchObject({ code: 'unexpected_end', line: 1, column: 5, offset: 4, length: 1 });
    expect(d?.rendered).toBe('a >= \n    ^');
  });
  it('underlines the whole token', () => {
    const r = compile('events.purchase.cnt_30d >= 1', seedContext());
    if (r.ok) throw new Error('expected failure');
    expect(r.diagnostics[0]?.rendered).toBe('events.purchase.cnt_30d >= 1\n                ^^^^^^^');
  });
  it('renderDiagnostic adds severity, code and position', () => {
    const src = 'x &&\n\ty @ 1';
    const r = parse(src);
    if (r.ok) throw new Error('expected failure');
    const d = r.diagnostics[0];
    if (!d) throw new Error('no diagnostic');
    expect(d).toMatchObject({ line: 2, column: 4 });
    expect(renderDiagnostic(src, d)).toBe("error[lex_error] 2:4: unexpected character '@'\n\ty @ 1\n\t  ^");
  });
  it('windows very long lines', () => {
    const src = `${'a && '.repeat(100)}@`;
    const r = parse(src);
    if (r.ok) throw new Error('expected failure');
    const [line, caret] = (r.diagnostics.find((d) => d.code === 'lex_error')?.rendered ?? '').split('\n');
    expect((line ?? '').length).toBeLessThan(130);
    expect(caret?.trimStart()).toBe('^');
    expect(line?.[(caret ?? '').length - 1]).toBe('@');
  });
  it('caps the number of diagnostics', () => {
    const r = parse('@ '.repeat(500));
    if (r.ok) throw new Error('expected failure');
    expect(r.diagnostics.length).toBeLessThanOrEqual(20);
  });
  it('a segment rule of unknown type is a warning, not an error', () => {
    const r = compile('profile.is_admin', seedContext('flag'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings.map((w) => [w.code, w.severity])).toEqual([['not_boolean', 'warning']]);
  });
  it('traits may be of any type', () => {
    const r = compile('events.purchase.sum(properties.amount, 90d)', seedContext('trait'));
    expect(r.ok && r.expr.type).toBe('number');
  });
});
