import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIsoTime, parseCanonicalIso, parseIsoTime } from './iso-time';

const YEAR_10000 = 253_402_300_800_000;

describe('parseCanonicalIso / parseIsoTime', () => {
  it('equals Date.parse on canonical UTC times of any instant in years 0000–9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: YEAR_10000 - 1 }), (ms) => {
        const s = new Date(ms).toISOString();
        expect(parseCanonicalIso(s)).toBe(Date.parse(s));
        expect(parseIsoTime(s)).toBe(Date.parse(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('is NaN for anything not exactly canonical, and parseIsoTime then falls back to Date.parse', () => {
    const others = [
      '2024-05-01T12:00:00Z',
      '2024-05-01T12:00:00.000+00:00',
      '2024-05-01t12:00:00.000z',
      '2024-05-01 12:00:00.000Z',
      '2024-02-30T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '2024-13-01T00:00:00.000Z',
      '2024-00-01T00:00:00.000Z',
      '2024-05-00T00:00:00.000Z',
      '2024-05-01T24:00:00.000Z',
      '2024-05-01T23:60:00.000Z',
      '2024-05-01T23:59:60.000Z',
      '+002024-05-01T00:00:00.000Z',
      '2024-05-01T12:00:00.0000Z',
      '2024-05-01T1a:00:00.000Z',
      '２０２４-05-01T12:00:00.000Z',
      '',
      'not a date',
    ];
    for (const s of others) {
      expect(parseCanonicalIso(s), s).toBeNaN();
      expect(parseIsoTime(s), s).toEqual(Date.parse(s));
    }
    expect(parseCanonicalIso('2024-02-29T23:59:59.999Z')).toBe(Date.parse('2024-02-29T23:59:59.999Z'));
    expect(parseCanonicalIso('2000-02-29T00:00:00.000Z')).toBe(Date.parse('2000-02-29T00:00:00.000Z'));
    expect(parseCanonicalIso('1900-02-29T00:00:00.000Z')).toBeNaN();
  });

  it('matches Date.parse on random strings', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/), (s) => {
        const fast = parseCanonicalIso(s);
        if (!Number.isNaN(fast)) {
          expect(fast).toBe(Date.parse(s));
          // What normalizeMessage relies on to keep the string as is: it is its own ISO text.
          expect(new Date(fast).toISOString()).toBe(s);
        }
        expect(parseIsoTime(s)).toEqual(Date.parse(s));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('formatIsoTime', () => {
  it('equals toISOString for any instant (fast path and fallback)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(formatIsoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5000 },
    );
    for (const ms of [0, 1, 999, 86_399_999, 86_400_000, YEAR_10000 - 1, YEAR_10000, -1, 1.5, 1_700_000_000_000, 1_700_000_000_000]) {
      expect(formatIsoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('throws what toISOString throws for invalid times', () => {
    expect(() => formatIsoTime(NaN)).toThrow(RangeError);
    expect(() => formatIsoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});
