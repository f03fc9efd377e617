import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { acceptWellFormed, validateFully, validateMessage, type ValidateOptions } from './validate';

// The fast path of validateMessage must never change an answer: for every input, validateMessage
// equals the full validation, and whatever the fast path accepts the full path accepts identically.

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

class Thing {
  x = 1;
}

const astral = '😀'.repeat(200); // 200 code points, 400 UTF-16 units: valid for the schema

/** Mostly values a well-formed message has, sometimes anything else (each field on its own). */
function field(good: readonly unknown[], bad: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 12 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });
}

const ids = field(['u1', 'user-42', 'a-9', 'x'.repeat(256), undefined, null], ['', ' ', 'null', ' Anonymous ', '0', 'x'.repeat(257), astral, 5, {}, ['u']]);
const names = field(['Order Completed', 'e', 'x'.repeat(200), undefined, null], ['', 'x'.repeat(201), astral, 7, true]);
const times = field(
  [undefined, '2024-05-01T12:00:00.000Z', '1999-12-31T23:59:59.999Z', '2024-02-29T00:00:00.000Z', null],
  [
    '2023-02-29T00:00:00.000Z',
    '2024-05-01T12:00:00Z',
    '2024-05-01T12:00:00+02:00',
    '2024-05-01t12:00:00.000z',
    '2024-05-01T23:59:60.000Z',
    '2016-12-31T23:59:60Z',
    '2024-05-01T24:00:00.000Z',
    'yesterday',
    '',
    1714564800000,
  ],
);
const objects = field(
  [undefined, {}, { amount: 9.5, currency: 'USD' }, { nested: { list: [1, 'a', null, true, { b: 2 }] } }, null, { deep32: nest(30) }, { long: 'x'.repeat(1000) }],
  [
    [],
    'str',
    { n: Infinity },
    { n: NaN },
    { big: 10n },
    { u: undefined },
    [undefined],
    { f: () => 1 },
    { d: new Date(0) },
    { t: new Thing() },
    { j: { toJSON: () => 'x' } },
    Object.create({ inherited: 1 }) as unknown,
    Object.create(null) as unknown,
    JSON.parse('{"a":{"__proto__":{"x":1}}}') as unknown,
    JSON.parse('{"constructor":1}') as unknown,
    { deep33: nest(31) },
    { long: 'x'.repeat(40_000) },
    { huge: Array.from({ length: 2000 }, () => 123456.789) },
  ],
);
const types = field(['track', 'identify', 'alias', 'page', 'screen', 'group'], [undefined, null, 'bogus', 3]);
const options = fc.constantFrom<ValidateOptions>({}, {}, {}, { type: 'track' }, { type: 'identify' }, { shortForm: true }, { shortForm: true, type: 'track' }, { maxBytes: 300 }, { maxBytes: 100_000 });

const message = fc.record(
  {
    type: types,
    userId: ids,
    anonymousId: ids,
    previousId: ids,
    groupId: ids,
    messageId: ids,
    event: names,
    name: names,
    properties: objects,
    traits: objects,
    context: objects,
    timestamp: times,
    sentAt: times,
    originalTimestamp: times,
    receivedAt: times,
    externalId: field([undefined], ['u1', 'null']),
    props: objects,
    integrations: objects,
  },
  { requiredKeys: [] },
).map((m) => {
  // What JSON.parse gives: no undefined values at the top (nested ones are among the bad objects).
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = v;
  return out;
});

/** The result, or what was thrown (a BigInt makes the full path's size check throw, as JSON.stringify does). */
function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (err) {
    return { threw: String(err) };
  }
}

describe('validateMessage fast path', () => {
  it('never changes an answer (property)', () => {
    let fast = 0;
    let runs = 0;
    fc.assert(
      fc.property(message, options, (m, opts) => {
        runs++;
        const input = m as Record<string, unknown>;
        const full = outcome(() => validateFully(input, 'batch[1]', opts));
        expect(outcome(() => validateMessage(input, 'batch[1]', opts))).toEqual(full);
        const accepted = acceptWellFormed(input, opts);
        if (accepted !== null) {
          fast++;
          expect(full).toEqual({ ok: true, message: accepted });
        }
      }),
      { numRuns: 10_000 },
    );
    // The generator must reach the fast path often enough for the property to mean something.
    expect(fast / runs).toBeGreaterThan(0.05);
  });

  it('takes the fast path for typical SDK messages, and gives what the full path gives', () => {
    const typical: Record<string, unknown>[] = [
      { type: 'track', userId: 'u1', event: 'purchase', properties: { amount: 12.5 }, timestamp: '2024-05-01T12:00:00.000Z', messageId: 'm1' },
      { type: 'identify', anonymousId: 'a1', traits: { plan: 'pro' }, context: { ip: '1.2.3.4', library: { name: 'x', version: '1' } } },
      { type: 'alias', userId: 'u1', previousId: 'a1' },
      { type: 'group', userId: 'u1', groupId: 'g1' },
      { type: 'page', userId: 'u1', name: '', properties: null, sentAt: null },
    ];
    for (const m of typical) {
      const accepted = acceptWellFormed(m, {});
      expect(accepted, JSON.stringify(m)).not.toBeNull();
      expect(validateFully(m)).toEqual({ ok: true, message: accepted });
    }
  });
});
