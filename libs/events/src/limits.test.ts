import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonByteLength, utf8ByteLength } from './limits';
import { validateMessage } from './validate';

/** `value` inside `depth` arrays: deep enough that JSON.stringify overflows the stack. */
function buried(value: unknown, depth: number): unknown {
  let v = value;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('jsonByteLength on hostile input', () => {
  it('measures values nested deeper than JSON.stringify can go (no RangeError)', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000));
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(jsonByteLength(deep)).toBe(400_000);
  });

  it('agrees with UTF-8 JSON.stringify for any JSON value, shallow or buried deep', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const expected = utf8ByteLength(JSON.stringify(v));
        expect(jsonByteLength(v)).toBe(expected);
        expect(jsonByteLength(buried(v, 100_000))).toBe(expected + 200_000);
      }),
      { numRuns: 25 },
    );
  });

  it('omits undefined members and writes them as null in arrays, like JSON.stringify', () => {
    const v = { a: undefined, b: [undefined, 1], c: 'x' };
    expect(jsonByteLength(buried(v, 100_000))).toBe(Buffer.byteLength(JSON.stringify(v)) + 200_000);
  });

  it('still throws on cycles', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => jsonByteLength(a)).toThrow(TypeError);
  });
});

describe('validateMessage and non-finite numbers', () => {
  it('rejects numbers that overflowed to Infinity, naming the field', () => {
    const m = JSON.parse('{"type":"track","userId":"u","event":"e","properties":{"amount":1e309,"list":[1,-1e309]}}');
    const r = validateMessage(m);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path)).toEqual(['properties.amount', 'properties.list[1]']);
      expect(r.errors[0]!.message).toMatch(/finite/);
    }
  });
});
