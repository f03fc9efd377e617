import { FakeClock } from '@tinycdp/common';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  bucketIndex,
  bucketLeavesAt,
  bucketStart,
  daysAgo,
  elapsedNextChangeAt,
  inWindow,
  minutesAgo,
  nextChangeAt,
  oldestKeptBucket,
  trimBuckets,
  windowMs,
  windowNextChangeAt,
  windowRange,
  windowStartMs,
} from './window';

const ms = (iso: string): number => new Date(iso).getTime();
const day = (iso: string): number => bucketIndex(ms(iso), 'd');

describe('bucketIndex', () => {
  it('floors to UTC minute, hour and day', () => {
    const t = ms('2024-03-10T13:45:30.250Z');
    expect(bucketStart(bucketIndex(t, 'm'), 'm')).toBe(ms('2024-03-10T13:45:00Z'));
    expect(bucketStart(bucketIndex(t, 'h'), 'h')).toBe(ms('2024-03-10T13:00:00Z'));
    expect(bucketStart(bucketIndex(t, 'd'), 'd')).toBe(ms('2024-03-10T00:00:00Z'));
  });

  it('puts UTC midnight in the new day and the last ms before it in the old one', () => {
    expect(day('2024-03-10T00:00:00.000Z') - day('2024-03-09T23:59:59.999Z')).toBe(1);
    expect(bucketIndex(ms('2024-03-10T00:00:00.000Z'), 'h') - bucketIndex(ms('2024-03-09T23:59:59.999Z'), 'h')).toBe(1);
    expect(bucketIndex(ms('2024-03-10T00:00:00.000Z'), 'm') - bucketIndex(ms('2024-03-09T23:59:59.999Z'), 'm')).toBe(1);
  });

  it.each([
    ['month end (30 days)', '2024-04-30T12:00:00Z', '2024-05-01T00:00:00Z'],
    ['month end (31 days)', '2024-01-31T23:59:59.999Z', '2024-02-01T00:00:00Z'],
    ['leap day', '2024-02-28T10:00:00Z', '2024-02-29T00:00:00Z'],
    ['after leap day', '2024-02-29T23:59:59.999Z', '2024-03-01T00:00:00Z'],
    ['non-leap february', '2023-02-28T23:00:00Z', '2023-03-01T00:00:00Z'],
    ['year end', '2023-12-31T23:59:59.999Z', '2024-01-01T00:00:00Z'],
  ])('consecutive days across %s', (_name, a, b) => {
    expect(day(b) - day(a)).toBe(1);
    expect(bucketStart(day(b), 'd')).toBe(ms(b.slice(0, 10) + 'T00:00:00Z'));
  });

  it('counts every day of a leap year and a normal year', () => {
    expect(day('2025-01-01T00:00:00Z') - day('2024-01-01T00:00:00Z')).toBe(366);
    expect(day('2024-01-01T00:00:00Z') - day('2023-01-01T00:00:00Z')).toBe(365);
  });

  it('handles instants before the epoch', () => {
    expect(bucketIndex(-1, 'd')).toBe(-1);
    expect(bucketIndex(-DAY_MS, 'd')).toBe(-1);
    expect(bucketIndex(-DAY_MS - 1, 'd')).toBe(-2);
  });
});

describe('windows', () => {
  const d1 = { n: 1, unit: 'd' } as const;
  const d7 = { n: 7, unit: 'd' } as const;
  const d30 = { n: 30, unit: 'd' } as const;
  const h1 = { n: 1, unit: 'h' } as const;
  const h24 = { n: 24, unit: 'h' } as const;
  const m5 = { n: 5, unit: 'm' } as const;

  it('_Nd is today and the N-1 days before', () => {
    const now = ms('2024-03-10T15:00:00Z');
    const r = windowRange(d7, now);
    expect(r.to).toBe(day('2024-03-10T00:00:00Z'));
    expect(r.from).toBe(day('2024-03-04T00:00:00Z'));
    expect(windowStartMs(d7, now)).toBe(ms('2024-03-04T00:00:00Z'));
    expect(windowMs(d7)).toBe(7 * DAY_MS);
  });

  it('at 00:00:00 UTC a day-old event leaves a 1d window', () => {
    const clock = new FakeClock('2024-03-09T23:59:59.999Z');
    const b = day('2024-03-09T08:00:00Z');
    expect(inWindow(b, d1, clock.now())).toBe(true);
    clock.advance(1);
    expect(new Date(clock.now()).toISOString()).toBe('2024-03-10T00:00:00.000Z');
    expect(inWindow(b, d1, clock.now())).toBe(false);
    expect(bucketLeavesAt(b, d1)).toBe(ms('2024-03-10T00:00:00Z'));
  });

  it('30d window across a leap day and month end', () => {
    // 2024-02-01 .. 2024-03-01 is 30 days (Feb has 29 days in 2024).
    const now = ms('2024-03-01T00:00:00Z');
    expect(windowStartMs(d30, now)).toBe(ms('2024-02-01T00:00:00Z'));
    expect(inWindow(day('2024-02-01T23:00:00Z'), d30, now)).toBe(true);
    expect(inWindow(day('2024-01-31T23:59:59.999Z'), d30, now)).toBe(false);
    expect(bucketLeavesAt(day('2024-02-01T10:00:00Z'), d30)).toBe(ms('2024-03-02T00:00:00Z'));
    // non-leap year: 2023-01-31 .. 2023-03-01
    expect(windowStartMs(d30, ms('2023-03-01T12:00:00Z'))).toBe(ms('2023-01-31T00:00:00Z'));
  });

  it('7d window across the year end', () => {
    const now = ms('2024-01-03T06:00:00Z');
    expect(windowStartMs(d7, now)).toBe(ms('2023-12-28T00:00:00Z'));
    expect(inWindow(day('2023-12-28T00:00:00Z'), d7, now)).toBe(true);
    expect(inWindow(day('2023-12-27T23:59:59Z'), d7, now)).toBe(false);
  });

  it('_Nh is the current hour and N-1 before', () => {
    const now = ms('2024-03-10T10:59:59.999Z');
    const b = bucketIndex(ms('2024-03-10T10:00:00Z'), 'h');
    expect(inWindow(b, h1, now)).toBe(true);
    expect(inWindow(b, h1, now + 1)).toBe(false);
    expect(bucketLeavesAt(b, h1)).toBe(ms('2024-03-10T11:00:00Z'));
    expect(windowStartMs(h24, ms('2024-03-01T05:30:00Z'))).toBe(ms('2024-02-29T06:00:00Z'));
  });

  it('_Nm is the current minute and N-1 before', () => {
    const now = ms('2024-12-31T23:59:30Z');
    expect(windowStartMs(m5, now)).toBe(ms('2024-12-31T23:55:00Z'));
    const b = bucketIndex(ms('2024-12-31T23:55:10Z'), 'm');
    expect(bucketLeavesAt(b, m5)).toBe(ms('2025-01-01T00:00:00Z'));
  });

  it('future buckets count as inside the window', () => {
    const now = ms('2024-03-10T10:00:00Z');
    expect(inWindow(bucketIndex(now + DAY_MS, 'd'), d1, now)).toBe(true);
  });
});

describe('trimming', () => {
  it('drops buckets older than the longest window', () => {
    const now = ms('2024-03-01T00:00:01Z');
    const buckets: Record<string, number> = {};
    for (let i = 0; i < 40; i++) buckets[String(day('2024-03-01T00:00:00Z') - i)] = i + 1;
    const kept = trimBuckets(buckets, 'd', 30, now);
    expect(Object.keys(kept)).toHaveLength(30);
    expect(Math.min(...Object.keys(kept).map(Number))).toBe(day('2024-02-01T00:00:00Z'));
    expect(oldestKeptBucket('d', 30, now)).toBe(day('2024-02-01T00:00:00Z'));
    expect(Object.keys(buckets)).toHaveLength(40); // input untouched
  });
});

describe('nextChangeAt', () => {
  it('window: when the oldest non-empty bucket leaves', () => {
    const now = ms('2024-03-10T10:30:00Z');
    const w = { n: 1, unit: 'h' } as const;
    const b = bucketIndex(ms('2024-03-10T10:00:00Z'), 'h');
    expect(windowNextChangeAt([b], w, now)).toBe(ms('2024-03-10T11:00:00Z'));
    expect(nextChangeAt({ kind: 'window', window: w, buckets: [b, b - 5] }, now)).toBe(ms('2024-03-10T11:00:00Z'));
    expect(windowNextChangeAt([], w, now)).toBeNull();
    expect(windowNextChangeAt([b - 1], w, now)).toBeNull(); // already outside
  });

  it('day window across the year end', () => {
    const w = { n: 3, unit: 'd' } as const;
    const now = ms('2023-12-30T12:00:00Z');
    expect(windowNextChangeAt([day('2023-12-29T01:00:00Z'), day('2023-12-30T01:00:00Z')], w, now)).toBe(
      ms('2024-01-01T00:00:00Z'),
    );
  });

  it('minutes ago: every minute after the anchor', () => {
    const since = ms('2024-03-10T10:00:20Z');
    expect(minutesAgo(since, since + 59_999)).toBe(0);
    expect(minutesAgo(since, since + MINUTE_MS)).toBe(1);
    expect(minutesAgo(since, since - 5 * MINUTE_MS)).toBe(0);
    expect(elapsedNextChangeAt(since, since + 90_000, MINUTE_MS)).toBe(since + 2 * MINUTE_MS);
    expect(nextChangeAt({ kind: 'minutes_ago', since }, since)).toBe(since + MINUTE_MS);
    expect(nextChangeAt({ kind: 'minutes_ago', since: null }, since)).toBeNull();
  });

  it('days ago: whole 24h periods (not calendar days)', () => {
    const since = ms('2024-02-28T18:00:00Z');
    expect(daysAgo(since, ms('2024-02-29T17:59:59Z'))).toBe(0);
    expect(daysAgo(since, ms('2024-02-29T18:00:00Z'))).toBe(1);
    expect(daysAgo(since, ms('2024-03-01T18:00:00Z'))).toBe(2);
    expect(nextChangeAt({ kind: 'days_ago', since }, ms('2024-03-01T00:00:00Z'))).toBe(ms('2024-03-01T18:00:00Z'));
    expect(HOUR_MS * 24).toBe(DAY_MS);
  });
});
