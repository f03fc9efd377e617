import { describe, expect, it } from 'vitest';
import { applyEvents, eventNameOf } from './apply';
import type { Definition } from './definitions';
import { readAggregate } from './internal/aggregates';
import {
  aggCmp,
  count,
  ev,
  expr,
  firstSeen,
  identify,
  lastProp,
  lastSeen,
  ms,
  propAgg,
  tableCompiler,
  track,
  uniqueDays,
} from './internal/test-fixtures';
import { buildPlan, seriesIdOf } from './plan';
import { emptyProfile } from './state';

// One plan reading every metric kind.
const refs = {
  c30: count('purchase', '30d'),
  c1d: count('purchase', '1d'),
  c1h: count('purchase', '1h'),
  c5m: count('purchase', '5m'),
  ud14: uniqueDays('app_open', '14d'),
  ud2h: uniqueDays('purchase', '48h'),
  sum: propAgg('purchase', 'sum', 'amount', '90d'),
  avg: propAgg('purchase', 'avg', 'amount', '30d'),
  min: propAgg('purchase', 'min', 'amount', '30d'),
  max: propAgg('purchase', 'max', 'amount', '30d'),
  dist: propAgg('purchase', 'distinct_count', 'sku', '7d'),
  last: lastProp('purchase', 'sku'),
  ls: lastSeen(),
  fs: firstSeen(),
  lsP: lastSeen('purchase'),
  fsP: firstSeen('purchase'),
  big: count('signup', '2d'),
};
const all = Object.values(refs);
const table: Record<string, () => ReturnType<typeof expr>> = {
  everything: () => expr('everything', { type: 'any', aggregates: all, profile: [['plan'], ['address', 'city']] }, () => null),
};
const defs: Definition[] = [{ kind: 'trait', key: 'everything', expression: 'everything', version: 1 }];
const { plan } = buildPlan(defs, { compile: tableCompiler(table) });

const read = (s: ReturnType<typeof emptyProfile>, now: string) =>
  Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, readAggregate(s, r, ms(now))]));

describe('applyEvents + aggregates', () => {
  it('empty values: count/sum/distinct/unique_days 0, others null', () => {
    expect(read(emptyProfile('u1'), '2024-03-10T10:00:00Z')).toEqual({
      c30: 0, c1d: 0, c1h: 0, c5m: 0, ud14: 0, ud2h: 0, sum: 0, avg: null, min: null, max: null, dist: 0,
      last: null, ls: null, fs: null, lsP: null, fsP: null, big: 0,
    });
  });

  it('computes every metric', () => {
    const now = '2024-03-10T10:02:30Z';
    const s = applyEvents(
      emptyProfile('u1'),
      [
        track('purchase', '2024-03-10T10:01:00Z', { amount: 10, sku: 'a' }),
        track('purchase', '2024-03-10T09:30:00Z', { amount: '30', sku: 'b' }),
        track('purchase', '2024-03-09T12:00:00Z', { amount: 5, sku: 'a' }),
        track('purchase', '2024-02-20T12:00:00Z', { amount: 100, sku: 'c' }),
        track('purchase', '2024-01-01T00:00:00Z', { amount: 1000 }), // only in 90d
        track('app_open', '2024-03-10T08:00:00Z'),
        track('app_open', '2024-03-10T09:00:00Z'),
        track('app_open', '2024-03-08T09:00:00Z'),
        identify('2024-03-01T00:00:00Z', { plan: 'premium' }),
      ],
      plan,
      ms(now),
    );
    expect(read(s, now)).toEqual({
      c30: 4,
      c1d: 2,
      c1h: 1,
      c5m: 1,
      ud14: 2,
      ud2h: 2,
      sum: 1145,
      avg: 145 / 4,
      min: 5,
      max: 100,
      dist: 2,
      last: 'a',
      ls: 1, // 10:01:00 → 10:02:30 = 1.5 min, floored
      fs: Math.floor((ms(now) - ms('2024-01-01T00:00:00Z')) / 86_400_000),
      lsP: 1,
      fsP: Math.floor((ms(now) - ms('2024-01-01T00:00:00Z')) / 86_400_000),
      big: 0,
    });
    expect(s.properties).toEqual({ plan: { at: ms('2024-03-01T00:00:00Z'), value: 'premium' } });
    expect(s.userId).toBe('u1');
  });

  it('moves values across UTC midnight, hour and month edges without new events', () => {
    const s = applyEvents(emptyProfile('u1'), [track('purchase', '2024-02-29T23:30:00Z', { amount: 1 })], plan, ms('2024-02-29T23:30:00Z'));
    expect(readAggregate(s, refs.c1d, ms('2024-02-29T23:59:59.999Z'))).toBe(1);
    expect(readAggregate(s, refs.c1d, ms('2024-03-01T00:00:00Z'))).toBe(0);
    expect(readAggregate(s, refs.c1h, ms('2024-02-29T23:59:59.999Z'))).toBe(1);
    expect(readAggregate(s, refs.c1h, ms('2024-03-01T00:00:00Z'))).toBe(0);
    expect(readAggregate(s, refs.c30, ms('2024-03-29T23:59:59.999Z'))).toBe(1);
    expect(readAggregate(s, refs.c30, ms('2024-03-30T00:00:00Z'))).toBe(0);
    expect(readAggregate(s, refs.ud2h, ms('2024-03-02T23:00:00Z'))).toBe(0);
    expect(readAggregate(s, refs.ud2h, ms('2024-03-02T22:59:59Z'))).toBe(1);
  });

  it('year end: 7-day unique days', () => {
    const days = ['2023-12-27', '2023-12-28', '2023-12-29', '2023-12-30', '2023-12-31', '2024-01-01', '2024-01-02'];
    const s = applyEvents(
      emptyProfile('u1'),
      days.flatMap((d) => [track('app_open', `${d}T10:00:00Z`), track('app_open', `${d}T11:00:00Z`)]),
      plan,
      ms('2024-01-02T12:00:00Z'),
    );
    expect(readAggregate(s, refs.ud14, ms('2024-01-02T12:00:00Z'))).toBe(7);
    expect(readAggregate(s, refs.ud14, ms('2024-01-09T23:59:59Z'))).toBe(7);
    expect(readAggregate(s, refs.ud14, ms('2024-01-10T00:00:00Z'))).toBe(6);
  });

  it('is pure and only updates what the plan uses', () => {
    const before = emptyProfile('u1');
    const s = applyEvents(before, [track('unused_event', '2024-03-10T10:00:00Z', { x: 1 })], plan, ms('2024-03-10T10:00:00Z'));
    expect(before).toEqual(emptyProfile('u1'));
    expect(s.series).toEqual({});
    expect(s.firstSeen).toBe(ms('2024-03-10T10:00:00Z'));
    expect(s.lastSeen).toBe(ms('2024-03-10T10:00:00Z'));
  });

  it('events older than the longest window update only first/last seen; old buckets are trimmed', () => {
    const now = ms('2024-03-10T10:00:00Z');
    const s1 = applyEvents(emptyProfile('u1'), [track('app_open', '2024-01-01T10:00:00Z')], plan, now);
    expect(s1.series[seriesIdOf('app_open', null)]).toBeUndefined();
    expect(s1.firstSeen).toBe(ms('2024-01-01T10:00:00Z'));
    const s2 = applyEvents(emptyProfile('u1'), [track('app_open', '2024-03-01T10:00:00Z')], plan, ms('2024-03-01T10:00:00Z'));
    expect(Object.keys(s2.series[seriesIdOf('app_open', null)]!.counts.d!)).toHaveLength(1);
    const s3 = applyEvents(s2, [], plan, ms('2024-03-15T00:00:00Z')); // 14d window: Mar 2..15
    expect(s3.series[seriesIdOf('app_open', null)]).toBeUndefined();
  });

  it('late identify does not overwrite a newer one; nested paths', () => {
    const now = ms('2024-03-10T10:00:00Z');
    const s = applyEvents(
      emptyProfile('u1'),
      [
        identify('2024-03-05T00:00:00Z', { plan: 'enterprise', address: { city: 'Paris' }, other: 1 }),
        identify('2024-03-01T00:00:00Z', { plan: 'free' }),
        identify('2024-03-06T00:00:00Z', { address: { zip: '75001' } }),
      ],
      plan,
      now,
    );
    expect(s.properties).toEqual({
      plan: { at: ms('2024-03-05T00:00:00Z'), value: 'enterprise' },
      'address.city': { at: ms('2024-03-06T00:00:00Z'), value: null },
    });
  });

  it('links anonymous ids on identified profiles; alias does not count as activity', () => {
    const s = applyEvents(
      emptyProfile('u1'),
      [
        ev({ type: 'identify', userId: 'u1', anonymousId: 'anon-1', timestamp: '2024-03-10T10:00:00Z' }),
        ev({ type: 'alias', userId: 'u1', previousId: 'old', timestamp: '2024-03-11T10:00:00Z' }),
      ],
      plan,
      ms('2024-03-11T10:00:00Z'),
    );
    expect(s.anonymousIds).toEqual({ 'anon-1': ms('2024-03-10T10:00:00Z') });
    expect(s.lastSeen).toBe(ms('2024-03-10T10:00:00Z'));
  });

  it('caps distinct values per bucket at 256', () => {
    const events = Array.from({ length: 300 }, (_, i) => track('purchase', '2024-03-10T10:00:00Z', { sku: `sku-${i}` }));
    const s = applyEvents(emptyProfile('u1'), events, plan, ms('2024-03-10T10:00:00Z'));
    expect(readAggregate(s, refs.dist, ms('2024-03-10T10:00:00Z'))).toBe(256);
    expect(readAggregate(s, refs.c1h, ms('2024-03-10T10:00:00Z'))).toBe(300);
  });

  it('last value follows the event timestamp, not arrival order', () => {
    const s = applyEvents(
      emptyProfile('u1'),
      [track('purchase', '2024-03-10T10:00:00Z', { sku: 'new' }), track('purchase', '2024-03-09T10:00:00Z', { sku: 'old' })],
      plan,
      ms('2024-03-10T10:00:00Z'),
    );
    expect(readAggregate(s, refs.last, ms('2024-03-10T10:00:00Z'))).toBe('new');
  });

  it('filters select events of a series', () => {
    const big = { id: 'properties.amount > 100', source: 'properties.amount > 100', test: (e: { properties: Record<string, unknown> }) => Number(e.properties.amount) > 100 };
    const bigCount = count('purchase', '30d', big);
    const p = buildPlan([{ kind: 'segment', key: 'big', rule: 'big', version: 1 }], {
      compile: tableCompiler({ big: () => aggCmp('big', bigCount, '>=', 1) }),
    }).plan;
    const s = applyEvents(
      emptyProfile('u1'),
      [track('purchase', '2024-03-10T10:00:00Z', { amount: 50 }), track('purchase', '2024-03-10T10:00:00Z', { amount: 500 })],
      p,
      ms('2024-03-10T10:00:00Z'),
    );
    expect(readAggregate(s, bigCount, ms('2024-03-10T10:00:00Z'))).toBe(1);
  });

  it('names page and screen events', () => {
    expect(eventNameOf(ev({ type: 'page', timestamp: '2024-01-01T00:00:00Z' }))).toBe('Page Viewed');
    expect(eventNameOf(ev({ type: 'screen', timestamp: '2024-01-01T00:00:00Z' }))).toBe('Screen Viewed');
    expect(eventNameOf(ev({ type: 'identify', timestamp: '2024-01-01T00:00:00Z' }))).toBeNull();
  });
});
