import { describe, expect, it } from 'vitest';
import { normalizeMessage, effectiveTimestamp } from './normalize';
import { validateMessage } from './validate';
import type { RawMessage } from './message';

const R = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;
const newId = () => `id-${++n}`;

describe('effectiveTimestamp', () => {
  const cases: [string, Parameters<typeof effectiveTimestamp>[0], number][] = [
    ['timestamp wins', { timestamp: '2024-05-01T11:00:00Z', sentAt: '2024-05-01T11:59:00Z', originalTimestamp: '2024-05-01T11:58:00Z' }, R - 3_600_000],
    ['timestamp with offset', { timestamp: '2024-05-01T13:00:00+02:00' }, R - 3_600_000],
    ['device clock corrected: receivedAt − (sentAt − originalTimestamp)', { sentAt: '2030-01-01T00:00:10Z', originalTimestamp: '2030-01-01T00:00:00Z' }, R - 10_000],
    ['only sentAt → receivedAt', { sentAt: '2024-05-01T11:00:00Z' }, R],
    ['only originalTimestamp → receivedAt', { originalTimestamp: '2024-05-01T11:00:00Z' }, R],
    ['nothing → receivedAt', {}, R],
    ['4:59 in the future is kept', { timestamp: iso(R + 299_000) }, R + 299_000],
    ['5:00 in the future is kept', { timestamp: iso(R + 300_000) }, R + 300_000],
    ['over 5 minutes in the future is clamped', { timestamp: iso(R + 300_001) }, R],
    ['corrected time in the future is clamped', { sentAt: '2024-05-01T00:00:00Z', originalTimestamp: '2024-05-01T01:00:00Z' }, R],
    ['the past is kept', { timestamp: '2020-01-01T00:00:00Z' }, Date.parse('2020-01-01T00:00:00Z')],
    ['unparsable (unvalidated) → receivedAt', { timestamp: 'nope' }, R],
    ['out of Date range → receivedAt', { sentAt: '+275760-09-13T00:00:00Z', originalTimestamp: '-271821-04-20T00:00:00Z' }, R],
  ];
  it.each(cases)('%s', (_name, m, expected) => expect(effectiveTimestamp(m, R)).toBe(expected));
});

describe('normalizeMessage', () => {
  it('fills every field, assigns messageId, stamps receivedAt', () => {
    const raw: RawMessage = { type: 'track', userId: 'u1', event: 'purchase', properties: { amount: 5 } };
    expect(normalizeMessage(raw, { receivedAt: R, newId: () => 'm-1' })).toEqual({
      type: 'track',
      messageId: 'm-1',
      userId: 'u1',
      anonymousId: null,
      event: 'purchase',
      name: null,
      properties: { amount: 5 },
      traits: {},
      context: {},
      previousId: null,
      groupId: null,
      timestamp: iso(R),
      receivedAt: iso(R),
      sentAt: null,
      originalTimestamp: null,
    });
  });

  it('keeps a given messageId and overwrites a client receivedAt', () => {
    const e = normalizeMessage({ type: 'identify', userId: 'u', messageId: 'abc', receivedAt: '2000-01-01T00:00:00Z' }, { receivedAt: R, newId });
    expect(e.messageId).toBe('abc');
    expect(e.receivedAt).toBe(iso(R));
  });

  it('keeps receivedAt when asked (processor re-normalizing)', () => {
    const e = normalizeMessage({ type: 'identify', userId: 'u', receivedAt: '2024-04-01T00:00:00.000Z' }, { receivedAt: R, newId, keepReceivedAt: true });
    expect(e.receivedAt).toBe('2024-04-01T00:00:00.000Z');
    expect(e.timestamp).toBe('2024-04-01T00:00:00.000Z');
  });

  it('event only for track, name only for page/screen; type override', () => {
    expect(normalizeMessage({ type: 'page', anonymousId: 'a', name: 'Home', event: 'x' }, { receivedAt: R, newId })).toMatchObject({ event: null, name: 'Home' });
    expect(normalizeMessage({ type: 'track', userId: 'u', event: 'e', name: 'n' }, { receivedAt: R, newId })).toMatchObject({ event: 'e', name: null });
    expect(normalizeMessage({ type: 'screen', userId: 'u', name: 'S' }, { receivedAt: R, newId, type: 'screen' }).type).toBe('screen');
  });

  it('is idempotent: a normalized event validates and normalizes to itself', () => {
    const v = validateMessage({ type: 'alias', userId: 'u', previousId: 'a', sentAt: '2024-05-01T11:00:00Z', originalTimestamp: '2024-05-01T10:59:00Z' });
    if (!v.ok) throw new Error('invalid');
    const once = normalizeMessage(v.message, { receivedAt: R, newId });
    const again = validateMessage(JSON.parse(JSON.stringify(once)));
    if (!again.ok) throw new Error(JSON.stringify(again.errors));
    expect(normalizeMessage(again.message, { receivedAt: R + 1000, newId, keepReceivedAt: true })).toEqual(once);
  });
});
