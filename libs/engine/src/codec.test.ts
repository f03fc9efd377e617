import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeProfile, encodeProfile, encodedFieldsDiff } from './codec';
import type { NumericStats, ProfileState, PropertyState, SeriesState, UnitBuckets } from './state';
import { emptyProfile } from './state';

const ts = fc.integer({ min: 0, max: 4_102_444_800_000 });
const finite = fc.oneof(
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((x) => (x === 0 ? 0 : x)),
);
const json: fc.Arbitrary<import('@tinycdp/common').Json> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.string(),
    fc.integer(),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 3 }),
    fc.array(tie('v'), { maxLength: 3 }),
  ),
})).v as fc.Arbitrary<import('@tinycdp/common').Json>;
const key = fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '__proto__');
const shortId = fc.stringMatching(/^[0-9a-z]{1,7}$/);
const bucketKey = fc.integer({ min: -100, max: 70_000_000 }).map(String);

function unitBuckets<T>(v: fc.Arbitrary<T>): fc.Arbitrary<UnitBuckets<T>> {
  const rec = fc.dictionary(bucketKey, v, { minKeys: 1, maxKeys: 4 });
  return fc.record({ d: rec, h: rec, m: rec }, { requiredKeys: [] }) as fc.Arbitrary<UnitBuckets<T>>;
}
const sortBuckets = <T>(u: UnitBuckets<T>): UnitBuckets<T> => {
  const out: UnitBuckets<T> = {};
  for (const unit of ['d', 'h', 'm'] as const) {
    const b = u[unit];
    if (b) out[unit] = Object.fromEntries(Object.keys(b).sort((x, y) => Number(x) - Number(y)).map((k) => [k, b[k]!]));
  }
  return out;
};
const stats: fc.Arbitrary<NumericStats> = fc.oneof(
  finite.map((x) => ({ n: 1, sum: x, min: x, max: x })),
  fc.tuple(fc.integer({ min: 2, max: 1000 }), finite, finite, finite).map(([n, a, b, c]) => ({ n, sum: a, min: Math.min(b, c), max: Math.max(b, c) })),
);
const prop: fc.Arbitrary<PropertyState> = fc
  .record({
    num: unitBuckets(stats),
    distinct: unitBuckets(fc.uniqueArray(shortId, { maxLength: 5 }).map((a) => a.sort())),
    last: fc.option(fc.record({ at: ts, value: json }), { nil: null }),
  })
  .map((p) => ({ ...p, num: sortBuckets(p.num), distinct: sortBuckets(p.distinct) }))
  .filter((p) => Object.keys(p.num).length > 0 || Object.keys(p.distinct).length > 0 || p.last !== null);
const series: fc.Arbitrary<SeriesState> = fc
  .record({
    counts: unitBuckets(fc.integer({ min: 1, max: 1e6 })).map(sortBuckets),
    props: fc.dictionary(shortId, prop, { maxKeys: 2 }),
    firstSeen: fc.option(ts, { nil: null }),
    lastSeen: fc.option(ts, { nil: null }),
  })
  .filter((s) => Object.keys(s.counts).length > 0 || Object.keys(s.props).length > 0 || s.firstSeen !== null || s.lastSeen !== null);
const profile: fc.Arbitrary<ProfileState> = fc.record({
  id: key,
  version: fc.nat(),
  userId: fc.option(key, { nil: null }),
  sequence: fc.nat(),
  planId: fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: null }),
  firstSeen: fc.option(ts, { nil: null }),
  lastSeen: fc.option(ts, { nil: null }),
  series: fc.dictionary(shortId, series, { maxKeys: 3 }),
  properties: fc.dictionary(key, fc.record({ at: ts, value: json }), { maxKeys: 3 }),
  traits: fc.dictionary(key, json, { maxKeys: 3 }),
  segments: fc.dictionary(key, ts, { maxKeys: 3 }),
  anonymousIds: fc.dictionary(key, ts, { maxKeys: 3 }),
});

describe('codec', () => {
  it('round-trips: decode(encode(s)) deep-equals s', () => {
    fc.assert(
      fc.property(profile, (s) => {
        expect(decodeProfile(encodeProfile(s), s.id)).toEqual(s);
      }),
      { numRuns: 500 },
    );
  });

  it('an empty hash decodes to an empty profile; unknown and malformed fields are skipped', () => {
    expect(decodeProfile({}, 'x')).toEqual(emptyProfile('x'));
    expect(
      decodeProfile({ v: 'abc', zz: '1', 'c:sid:q12': '3', 'c:sid:d12': 'x', 't:k': '{bad', g: '1', 'm:s': '!', 'n:a:b:d1': '1,2,3' }, 'x'),
    ).toEqual(emptyProfile('x'));
  });

  it('uses short fields', () => {
    const s: ProfileState = {
      ...emptyProfile('u1'),
      version: 3,
      userId: 'u1',
      sequence: 2,
      firstSeen: 1_710_000_000_000,
      lastSeen: 1_710_000_060_000,
      series: { abc: { counts: { d: { '19792': 2 } }, props: { p1: { num: { d: { '19792': { n: 2, sum: 30, min: 10, max: 20 } } }, distinct: {}, last: null } }, firstSeen: null, lastSeen: null } },
      segments: { vip: 1_710_000_000_000 },
    };
    expect(encodeProfile(s)).toEqual({
      v: '3',
      u: 'u1',
      q: '2',
      g: `${(1_710_000_000_000).toString(36)},${(1_710_000_060_000).toString(36)}`,
      [`c:abc:d${(19792).toString(36)}`]: '2',
      [`n:abc:p1:d${(19792).toString(36)}`]: '2,30,10,20',
      'm:vip': (1_710_000_000_000).toString(36),
    });
  });

  it('encodedFieldsDiff: only changed fields are set, removed ones deleted', () => {
    expect(encodedFieldsDiff({ a: '1', b: '2', c: '3' }, { a: '1', b: '5', d: '4' })).toEqual({ set: { b: '5', d: '4' }, del: ['c'] });
  });
});
