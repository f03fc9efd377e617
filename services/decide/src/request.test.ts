import { describe, expect, it } from 'vitest';
import { isAppError } from '@tinycdp/common';
import fc from 'fast-check';
import { parseDecideBody, parseDecideQuery, parseOfrepContext, queryPairs } from './request';

const q = (s: string) => parseDecideQuery(queryPairs(s));

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isAppError(err) && err.code === 'validation_failed') return (err.details as { field: string }).field;
    throw err;
  }
  return undefined;
}

describe('parseDecideQuery', () => {
  it('reads userId, flag and nested context', () => {
    expect(q('userId=u1&flag=f&context.country=DE&context.device.os=ios')).toEqual({
      targets: [{ kind: 'user', userId: 'u1' }],
      flags: ['f'],
      context: { country: 'DE', device: { os: 'ios' } },
    });
  });

  it('reads anonymousId when no userId, and every flag without flag', () => {
    expect(q('anonymousId=a1')).toEqual({ targets: [{ kind: 'anonymous', anonymousId: 'a1' }], flags: null, context: {} });
  });

  it('prefers userId over anonymousId', () => {
    expect(q('anonymousId=a1&userId=u1').targets).toEqual([{ kind: 'user', userId: 'u1' }]);
  });

  it('accepts several flags, repeated or comma-separated, deduplicated', () => {
    expect(q('userId=u&flag=a,b&flag=a&flag=c').flags).toEqual(['a', 'b', 'c']);
  });

  it('names the missing or bad field', () => {
    expect(fieldOf(() => q('flag=f'))).toBe('userId');
    expect(fieldOf(() => q('userId='))).toBe('userId');
    expect(fieldOf(() => q(`userId=${'x'.repeat(300)}`))).toBe('userId');
    expect(fieldOf(() => q('userId=u&flag='))).toBe('flag');
    expect(fieldOf(() => q('userId=u&context.__proto__.x=1'))).toBe('context.__proto__.x');
    expect(fieldOf(() => q('userId=u&context..x=1'))).toBe('context..x');
  });

  it('does not let a scalar replace an object already built', () => {
    expect(q('userId=u&context.a.b=1&context.a=2').context).toEqual({ a: { b: '1' } });
  });
});

describe('parseDecideBody', () => {
  it('puts userId (or anonymousId) first, then userIds', () => {
    expect(parseDecideBody({ userId: 'u0', userIds: ['u1', 'u2'], flags: ['f'], context: { plan: 'x', n: 3 } })).toEqual({
      targets: [
        { kind: 'user', userId: 'u0' },
        { kind: 'user', userId: 'u1' },
        { kind: 'user', userId: 'u2' },
      ],
      flags: ['f'],
      context: { plan: 'x', n: 3 },
    });
    expect(parseDecideBody({ anonymousId: 'a' }).targets).toEqual([{ kind: 'anonymous', anonymousId: 'a' }]);
  });

  it('rejects bad shapes naming the field', () => {
    expect(fieldOf(() => parseDecideBody([]))).toBe('body');
    expect(fieldOf(() => parseDecideBody({}))).toBe('userId');
    expect(fieldOf(() => parseDecideBody({ userIds: 'u' }))).toBe('userIds');
    expect(fieldOf(() => parseDecideBody({ userIds: ['u', 3] }))).toBe('userIds[1]');
    expect(fieldOf(() => parseDecideBody({ userId: 'u', flags: 'f' }))).toBe('flags');
    expect(fieldOf(() => parseDecideBody({ userId: 'u', flags: [''] }))).toBe('flags[0]');
    expect(fieldOf(() => parseDecideBody({ userId: 'u', context: [] }))).toBe('context');
    expect(fieldOf(() => parseDecideBody({ userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) }))).toBe('userIds');
  });

  it('bounds context depth', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 12; i++) deep = { x: deep };
    expect(fieldOf(() => parseDecideBody({ userId: 'u', context: deep }))).toMatch(/^context/);
  });
});

describe('parseOfrepContext', () => {
  it('maps targetingKey to the user and keeps the rest as context', () => {
    expect(parseOfrepContext({ targetingKey: 'u1', country: 'DE' })).toEqual({
      target: { kind: 'user', userId: 'u1' },
      context: { country: 'DE' },
    });
  });
  it('falls back to anonymousId, else no target', () => {
    expect(parseOfrepContext({ anonymousId: 'a1' }).target).toEqual({ kind: 'anonymous', anonymousId: 'a1' });
    expect(parseOfrepContext({ country: 'DE' }).target).toBeNull();
    expect(parseOfrepContext(undefined).target).toBeNull();
  });
  it('rejects a non-object context and a non-string targetingKey', () => {
    expect(() => parseOfrepContext('x')).toThrow(/context/);
    expect(() => parseOfrepContext({ targetingKey: 5 })).toThrow(/targetingKey/);
  });
});

describe('queryPairs', () => {
  it('gives exactly what URLSearchParams gives, for plain and encoded queries', () => {
    const same = (s: string) => expect([...queryPairs(s)]).toEqual([...new URLSearchParams(s)]);
    for (const s of ['', '?', 'a', 'a=', '=b', '&&', 'userId=u1&flag=f', '?userId=u1', 'a=1=2&b', 'a=%20b+c', 'context.country=DE&flag=x,y&']) same(s);
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '=', '&', '?', '%', '+', '2', '0', '.', 'é', ' ')).map((cs) => cs.join('')), (s) => {
        same(s);
      }),
      { numRuns: 2_000 },
    );
  });
});
