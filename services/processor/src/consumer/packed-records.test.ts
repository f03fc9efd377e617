import { describe, expect, it } from 'vitest';
import { DIGEST_HEADER, parseDigest } from '@tinycdp/events';
import { packRecords, unpackRecords } from './packed-records';

const SEP = '\x1f';
const digest = (fields: string[]) => ['1', ...fields].join(SEP);
const trackDigest = digest(['track', 'm-1', 'user-ü', '', 'app_open', '2026-11-25T10:00:00.123Z']);
const pageDigest = digest(['page', 'm-2', '', 'anon-2', '', '2026-11-25T10:00:01.000Z']);

const records = [
  { offset: '7', timestamp: '1700000000123', key: Buffer.from('user-1'), value: Buffer.from('{"a":1}'), headers: { [DIGEST_HEADER]: Buffer.from(trackDigest) } },
  { offset: '8', timestamp: '1700000000124', key: null, value: null, headers: {} },
  { offset: '9', timestamp: '1700000000125', key: Buffer.from(''), value: Buffer.from('ünïcødé ✓'), headers: { [DIGEST_HEADER]: [pageDigest, 'second'], other: Buffer.from('x') } },
  { offset: String(2 ** 52), timestamp: '-1', key: Buffer.from('k'), value: Buffer.alloc(0), headers: { [DIGEST_HEADER]: Buffer.from('not a digest') } },
];

describe('packed records', () => {
  it('round-trips offset, timestamp, key and value of every record, in order, with the digest header parsed', () => {
    const out = unpackRecords(3, packRecords(records).buffer);
    expect(
      out.map((m) => ({ partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value?.toString('utf8') ?? null, size: m.valueSize })),
    ).toEqual([
      { partition: 3, offset: '7', timestamp: '1700000000123', key: 'user-1', value: '{"a":1}', size: 7 },
      { partition: 3, offset: '8', timestamp: '1700000000124', key: null, value: null, size: -1 },
      { partition: 3, offset: '9', timestamp: '1700000000125', key: '', value: 'ünïcødé ✓', size: Buffer.byteLength('ünïcødé ✓') },
      { partition: 3, offset: String(2 ** 52), timestamp: '-1', key: 'k', value: '', size: 0 },
    ]);
    // The digest as parseDigest reads it; none where the header is missing or not a digest.
    expect(out.map((m) => m.parsedDigest)).toEqual([parseDigest(trackDigest), null, parseDigest(pageDigest), null]);
    expect(out[0]!.parsedDigest).toMatchObject({ type: 'track', userId: 'user-ü', anonymousId: null, event: 'app_open' });
  });

  it('leaves out records below `from` (re-fetched after a rebalance)', () => {
    expect(unpackRecords(0, packRecords(records).buffer, 9).map((m) => m.offset)).toEqual(['9', String(2 ** 52)]);
  });

  it('reads every id and name right through the string cache: thousands of distinct ones (slots shared), repeats, non-ASCII', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => (i % 997 === 0 ? `üser-${i}` : `user-${i}`));
    const many = [...ids, ...ids.slice(0, 5000).reverse()].map((id, i) => ({
      offset: String(i),
      timestamp: '1700000000000',
      key: Buffer.from(id),
      value: Buffer.from('{}'),
      headers: { [DIGEST_HEADER]: Buffer.from(digest(['track', `m-${i}`, id, `anon-${id}`, `event-${i % 7}`, '2026-11-25T10:00:00.123Z'])) },
    }));
    const out = unpackRecords(0, packRecords(many).buffer);
    expect(out.map((m) => m.parsedDigest)).toEqual(many.map((r) => parseDigest(r.headers[DIGEST_HEADER].toString('utf8'))));
  });

  it('packs nothing into an empty buffer', () => {
    expect(packRecords([]).buffer.byteLength).toBe(0);
    expect(unpackRecords(0, new ArrayBuffer(0))).toEqual([]);
  });
});
