import type { Json } from '@tinycdp/common';
import { describe, expect, it } from 'vitest';
import { applyEvents } from './apply';
import type { FlagRule, FlagValueType } from './definitions';
import { evaluateFlag, evaluateFlags, matchesValueType, stableBucket } from './flags';
import { murmur3_32 } from './internal/hash';
import { aggCmp, count, expr, ms, tableCompiler, track } from './internal/test-fixtures';
import { buildPlan, type CompiledFlag } from './plan';
import { emptyProfile } from './state';
import { profileView } from './view';

const compile = tableCompiler({
  buyer: () => aggCmp('buyer', count('purchase', '30d'), '>=', 1),
  yes: () => expr('yes', {}, () => true),
  no: () => expr('no', {}, () => false),
  nullish: () => expr('nullish', {}, () => null),
  fr: () => expr('fr', { context: [['country']] }, (env) => env.context(['country']) === 'FR'),
});

function flag(rules: FlagRule[], opts: { enabled?: boolean; valueType?: FlagValueType; default?: Json } = {}): CompiledFlag {
  const { plan, problems } = buildPlan(
    [
      {
        kind: 'flag',
        key: 'f',
        enabled: opts.enabled ?? true,
        valueType: opts.valueType ?? 'boolean',
        default: opts.default ?? false,
        rules,
        version: 7,
      },
    ],
    { compile },
  );
  expect(problems).toEqual([]);
  return plan.flagsByKey.get('f')!;
}

const now = ms('2024-03-10T10:00:00Z');
const { plan } = buildPlan([], { compile });
const anon = profileView(emptyProfile('u1'), plan, now);

describe('murmur3_32', () => {
  it('matches reference vectors', () => {
    expect(murmur3_32('')).toBe(0);
    expect(murmur3_32('', 1)).toBe(0x514e28b7);
    expect(murmur3_32('test')).toBe(0xba6bd213);
    expect(murmur3_32('Hello, world!')).toBe(0xc0363e43);
    expect(murmur3_32('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });

  it('hashes the UTF-8 bytes of non-ASCII ids (the ASCII fast path must not change buckets)', () => {
    // Values of the byte-array implementation (TextEncoder for every string) this replaced.
    expect(murmur3_32('ü')).toBe(0x7840e6aa);
    expect(murmur3_32('grüße-user@x')).toBe(0x4d88d43d);
    expect(murmur3_32('用户-42')).toBe(0x09dc4b03);
    expect(murmur3_32('a😀bcd')).toBe(0xbbd803a4);
  });
});

describe('evaluateFlag', () => {
  it('first matching rule wins', () => {
    const f = flag([{ when: 'no', value: 'a' }, { when: 'yes', value: 'b' }, { when: 'yes', value: 'c' }], {
      valueType: 'string',
      default: 'off',
    });
    expect(evaluateFlag(f, anon, 'u1')).toEqual({ flag: 'f', value: 'b', enabled: true, reason: 'TARGETING_MATCH', ruleIndex: 1, version: 7 });
  });

  it('falls back to the default; null conditions do not match', () => {
    const f = flag([{ when: 'nullish', value: true }]);
    expect(evaluateFlag(f, anon, 'u1')).toEqual({ flag: 'f', value: false, enabled: false, reason: 'DEFAULT', ruleIndex: null, version: 7 });
  });

  it('reads live aggregates and context', () => {
    const f = flag([{ when: 'buyer', value: true }]);
    const s = applyEvents(emptyProfile('u1'), [track('purchase', '2024-03-10T09:00:00Z')], buildPlan([{ kind: 'flag', key: 'f', enabled: true, valueType: 'boolean', default: false, rules: [{ when: 'buyer', value: true }], version: 1 }], { compile }).plan, now);
    const p = buildPlan([], { compile }).plan;
    expect(evaluateFlag(f, profileView(s, p, now), 'u1').enabled).toBe(true);
    expect(evaluateFlag(f, profileView(s, p, ms('2024-04-09T00:00:00Z')), 'u1').reason).toBe('DEFAULT');
    const g = flag([{ when: 'fr', value: true }]);
    expect(evaluateFlag(g, profileView(s, p, now, { country: 'FR' }), 'u1').reason).toBe('TARGETING_MATCH');
    expect(evaluateFlag(g, profileView(s, p, now, { country: 'DE' }), 'u1').reason).toBe('DEFAULT');
  });

  it('disabled flags return the default', () => {
    const f = flag([{ when: 'yes', value: true }], { enabled: false });
    expect(evaluateFlag(f, anon, 'u1')).toMatchObject({ value: false, enabled: false, reason: 'DISABLED', ruleIndex: null });
  });

  it('type mismatch returns the default with ERROR', () => {
    const f = flag([{ when: 'yes', value: 'oops' }]);
    expect(evaluateFlag(f, anon, 'u1')).toMatchObject({ value: false, enabled: false, reason: 'ERROR', ruleIndex: 0 });
    expect(matchesValueType({ a: 1 }, 'object')).toBe(true);
    expect(matchesValueType(null, 'object')).toBe(false);
    expect(matchesValueType(1, 'number')).toBe(true);
  });

  it('enabled for non-boolean flags means value differs from default', () => {
    const f = flag([{ when: 'yes', value: { color: 'red' } }], { valueType: 'object', default: { color: 'blue' } });
    expect(evaluateFlag(f, anon, 'u1')).toMatchObject({ value: { color: 'red' }, enabled: true });
    const g = flag([{ when: 'yes', value: 1 }], { valueType: 'number', default: 1 });
    expect(evaluateFlag(g, anon, 'u1')).toMatchObject({ value: 1, enabled: false, reason: 'TARGETING_MATCH' });
  });

  it('rollout: deterministic, SPLIT, others continue to the next rule', () => {
    const f = flag([{ when: 'yes', value: 'x', rollout: 30 }, { when: 'yes', value: 'y' }], { valueType: 'string', default: 'd' });
    let inSplit = 0;
    for (let i = 0; i < 1000; i++) {
      const d = evaluateFlag(f, anon, `user-${i}`);
      expect(evaluateFlag(f, anon, `user-${i}`)).toEqual(d);
      if (stableBucket('f', `user-${i}`) < 3000) {
        inSplit++;
        expect(d).toMatchObject({ value: 'x', reason: 'SPLIT', ruleIndex: 0 });
      } else {
        expect(d).toMatchObject({ value: 'y', reason: 'TARGETING_MATCH', ruleIndex: 1 });
      }
    }
    expect(inSplit / 1000).toBeGreaterThan(0.25);
    expect(inSplit / 1000).toBeLessThan(0.35);
    expect(evaluateFlag(flag([{ when: 'yes', value: true, rollout: 0 }]), anon, 'u').reason).toBe('DEFAULT');
    expect(evaluateFlag(flag([{ when: 'yes', value: true, rollout: 100 }]), anon, 'u').reason).toBe('SPLIT');
  });

  it('stableBucket is uniform (chi-square over 20 bins) and depends on the flag key', () => {
    const bins = new Array<number>(20).fill(0);
    const N = 40_000;
    for (let i = 0; i < N; i++) bins[Math.floor(stableBucket('new-checkout', `user-${i}`) / 500)]!++;
    const expected = N / 20;
    const chi2 = bins.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(43.8); // p = 0.001 for 19 degrees of freedom
    let same = 0;
    for (let i = 0; i < 1000; i++) if ((stableBucket('a', `u${i}`) < 5000) === (stableBucket('b', `u${i}`) < 5000)) same++;
    expect(same).toBeGreaterThan(430);
    expect(same).toBeLessThan(570);
  });

  it('evaluateFlags decides every flag', () => {
    const f = flag([{ when: 'yes', value: true }]);
    expect(evaluateFlags([f], anon, 'u1').map((d) => d.reason)).toEqual(['TARGETING_MATCH']);
  });
});
