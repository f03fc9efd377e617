import { describe, expect, it } from 'vitest';
import { DIGEST_HEADER, digestEvent, eventDigest, newDigestScan, parseDigest, scanDigest } from './digest';
import { normalizeMessage } from './normalize';
import { LIMITS } from './limits';
import type { RawMessage } from './message';
import type { CdpEvent } from './types';

const receivedAt = Date.UTC(2026, 10, 26, 6, 0, 0, 250);
const norm = (raw: RawMessage) => normalizeMessage(raw, { receivedAt, newId: () => 'generated' });
const track = norm({ type: 'track', messageId: 'm-1', userId: 'u1', anonymousId: 'a1', event: 'app_open', properties: { x: 1 }, context: { ip: '1' }, timestamp: '2026-11-25T10:00:00.123Z' });
const SEP = '\x1f';

describe('event digest', () => {
  it('is the header tinycdp-digest: version, type, ids, name and time separated by U+001F', () => {
    expect(DIGEST_HEADER).toBe('tinycdp-digest');
    expect(eventDigest(track)).toBe(['1', 'track', 'm-1', 'u1', 'a1', 'app_open', '2026-11-25T10:00:00.123Z'].join(SEP));
    expect(eventDigest(norm({ type: 'page', messageId: 'm-2', anonymousId: 'a1', name: 'Home', timestamp: '2026-11-25T10:00:00.000Z' }))).toBe(
      ['1', 'page', 'm-2', '', 'a1', '', '2026-11-25T10:00:00.000Z'].join(SEP),
    );
  });

  it('is not written for identify, alias and group, nor when a field holds the separator', () => {
    expect(eventDigest(norm({ type: 'identify', messageId: 'm', userId: 'u1', traits: { plan: 'pro' } }))).toBeNull();
    expect(eventDigest(norm({ type: 'alias', messageId: 'm', userId: 'u1', previousId: 'a1' }))).toBeNull();
    expect(eventDigest(norm({ type: 'group', messageId: 'm', userId: 'u1', groupId: 'g' }))).toBeNull();
    expect(eventDigest(norm({ type: 'track', messageId: `m${SEP}x`, userId: 'u1', event: 'e' }))).toBeNull();
    expect(eventDigest(norm({ type: 'track', messageId: 'm', userId: 'u1', event: `e${SEP}` }))).toBeNull();
    // An event that skipped normalization (no timestamp, no messageId): no digest, no throw.
    expect(eventDigest({ type: 'track', userId: 'u1', event: 'e', messageId: 'm' } as unknown as CdpEvent)).toBeNull();
    expect(eventDigest({ type: 'page', userId: 'u1', timestamp: '2026-11-25T10:00:00.000Z' } as unknown as CdpEvent)).toBeNull();
  });

  it('round-trips, and the digest event is the normalized value without its body', () => {
    const d = parseDigest(eventDigest(track)!);
    expect(d).toEqual({ type: 'track', messageId: 'm-1', userId: 'u1', anonymousId: 'a1', event: 'app_open', timestamp: '2026-11-25T10:00:00.123Z', timestampMs: Date.parse('2026-11-25T10:00:00.123Z') });
    expect(digestEvent(d!, receivedAt)).toEqual({ ...track, properties: {}, context: {} });
    // The same timestamp rule as normalization: too far ahead of receipt → the receipt time.
    const future = norm({ type: 'screen', messageId: 'm', userId: 'u1', name: 'S', timestamp: new Date(receivedAt + LIMITS.maxFutureSkewMs + 1).toISOString() });
    expect(future.timestamp).toBe(future.receivedAt);
    expect(digestEvent(parseDigest(eventDigest(future)!)!, receivedAt)).toEqual({ ...future, name: null });
    const now = norm({ type: 'page', messageId: 'm', userId: 'u1', timestamp: new Date(receivedAt).toISOString() });
    expect(digestEvent(parseDigest(eventDigest(now)!)!, receivedAt)).toEqual(now);
  });

  it.each([
    ['another version', ['2', 'track', 'm', 'u', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a field short', ['1', 'track', 'm', 'u', '', 'e']],
    ['a field more', ['1', 'track', 'm', 'u', '', 'e', '2026-11-25T10:00:00.000Z', '']],
    ['identify', ['1', 'identify', 'm', 'u', '', '', '2026-11-25T10:00:00.000Z']],
    ['an unknown type', ['1', 'click', 'm', 'u', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['no messageId', ['1', 'track', '', 'u', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a messageId too long', ['1', 'track', 'm'.repeat(LIMITS.maxIdLength + 1), 'u', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['no id at all', ['1', 'track', 'm', '', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a placeholder userId', ['1', 'track', 'm', 'undefined', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a userId too long', ['1', 'track', 'm', 'u'.repeat(LIMITS.maxIdLength + 1), '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a track without its name', ['1', 'track', 'm', 'u', '', '', '2026-11-25T10:00:00.000Z']],
    ['a name too long', ['1', 'track', 'm', 'u', '', 'e'.repeat(LIMITS.maxEventNameLength + 1), '2026-11-25T10:00:00.000Z']],
    ['a page with a name', ['1', 'page', 'm', 'u', '', 'e', '2026-11-25T10:00:00.000Z']],
    ['a time not canonical', ['1', 'track', 'm', 'u', '', 'e', '2026-11-25T10:00:00Z']],
    ['a time that is not one', ['1', 'track', 'm', 'u', '', 'e', '2026-02-30T10:00:00.000Z']],
  ])('is refused (the value decides) with %s', (_, fields) => {
    expect(parseDigest(fields.join(SEP))).toBeNull();
  });

  it('is refused when it is not a digest at all', () => {
    expect(parseDigest('')).toBeNull();
    expect(parseDigest('[1,"track","m","u",null,"e","2026-11-25T10:00:00.000Z"]')).toBeNull();
  });
});

describe('scanDigest (bytes, no strings)', () => {
  const good = ['1', 'track', 'm-1', 'u1', 'a1', 'app_open', '2026-11-25T10:00:00.123Z'];
  const variants: string[][] = [
    good,
    ['1', 'page', 'm-2', '', 'a1', '', '2026-11-25T10:00:00.000Z'],
    ['1', 'screen', 'm-3', 'u1', '', '', '2024-02-29T23:59:59.999Z'],
    ['2', ...good.slice(1)],
    ['11', ...good.slice(1)],
    ['1', 'identify', ...good.slice(2)],
    ['1', 'Track', ...good.slice(2)],
    ['1', 'track', '', 'u1', 'a1', 'e', good[6]!],
    ['1', 'track', 'm'.repeat(LIMITS.maxIdLength), 'u'.repeat(LIMITS.maxIdLength), 'a1', 'e', good[6]!],
    ['1', 'track', 'm'.repeat(LIMITS.maxIdLength + 1), 'u1', 'a1', 'e', good[6]!],
    ['1', 'track', 'm', 'u'.repeat(LIMITS.maxIdLength + 1), '', 'e', good[6]!],
    ['1', 'track', 'm', '', '', 'e', good[6]!],
    ['1', 'track', 'm', ' NULL\t', 'a1', 'e', good[6]!],
    ['1', 'track', 'm', 'u1', 'Undefined', 'e', good[6]!],
    ['1', 'track', 'm', '[object Object]', 'a', 'e', good[6]!],
    ['1', 'track', 'm', '  ', 'a', 'e', good[6]!],
    ['1', 'track', 'm', 'nulls', '', 'e', good[6]!],
    ['1', 'track', 'm', 'u', '', '', good[6]!],
    ['1', 'track', 'm', 'u', '', 'e'.repeat(LIMITS.maxEventNameLength), good[6]!],
    ['1', 'track', 'm', 'u', '', 'e'.repeat(LIMITS.maxEventNameLength + 1), good[6]!],
    ['1', 'page', 'm', 'u', '', 'Home', good[6]!],
    ['1', 'track', 'm', 'u', '', 'e', '2026-02-30T10:00:00.000Z'],
    ['1', 'track', 'm', 'u', '', 'e', '2026-11-25T10:00:00Z'],
    ['1', 'track', 'm', 'u', '', 'e', '2026-11-25 10:00:00.000Z'],
    ['1', 'track', 'm', 'u', '', 'e', '2026-11-25T24:00:00.000Z'],
    good.slice(0, 6),
    [...good, 'extra'],
  ];

  /** What scanDigest reads of `text` as the fields parseDigest would give (null: refused). */
  function viaScan(text: string) {
    const b = Buffer.from(`##${text}#`); // not at offset 0 of its buffer, with a byte after it
    const out = newDigestScan();
    const ok = scanDigest(b, 2, b.length - 1, out);
    if (ok === null) return 'not ascii';
    if (!ok) return null;
    const field = (k: number) => (out.ranges[2 * k + 1]! < 0 ? null : b.toString('utf8', 2 + out.ranges[2 * k]!, 2 + out.ranges[2 * k]! + out.ranges[2 * k + 1]!));
    return { type: out.type, messageId: field(0), userId: field(1), anonymousId: field(2), event: field(3), timestamp: field(4), timestampMs: out.timestampMs };
  }

  it.each(variants.map((f) => [f.join(' | ').slice(0, 80), f]))('agrees with parseDigest: %s', (_, fields) => {
    const text = (fields as string[]).join(SEP);
    expect(viaScan(text)).toEqual(parseDigest(text));
  });

  it('agrees with parseDigest on thousands of mutated digests', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
    const alphabet = ['\x1f', '1', 'a', 'A', 'N', ' ', '\t', '-', ':', '.', 'T', 'Z', '0', '9', 'n', 'u', 'l'];
    for (let i = 0; i < 5000; i++) {
      const chars = [...variants[rnd(3)]!.join(SEP)];
      for (let k = rnd(4); k >= 0; k--) {
        const at = rnd(chars.length + 1);
        const op = rnd(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[rnd(alphabet.length)]!);
        else chars[at] = alphabet[rnd(alphabet.length)]!;
      }
      const text = chars.join('');
      expect(viaScan(text), JSON.stringify(text)).toEqual(parseDigest(text));
    }
  });

  it('leaves a digest that is not ASCII to parseDigest (lengths in bytes are not lengths in characters)', () => {
    expect(viaScan(['1', 'track', 'm', 'user-ü', '', 'e', good[6]!].join(SEP))).toBe('not ascii');
  });
});
