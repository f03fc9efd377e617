import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, parsePageRequest, toPage } from './pagination';

describe('pagination', () => {
  it('round-trips cursors', () => {
    expect(decodeCursor(encodeCursor('vip_users'))).toBe('vip_users');
  });
  it('rejects foreign cursors with bad_request naming the field', () => {
    for (const c of ['%%%', Buffer.from('{"x":1}').toString('base64url'), Buffer.from('nope').toString('base64url'), 'a'.repeat(500)]) {
      expect(() => decodeCursor(c)).toThrow(expect.objectContaining({ code: 'bad_request', details: { field: 'cursor' } }));
    }
  });
  it('parses limit with defaults and bounds', () => {
    expect(parsePageRequest({})).toEqual({ limit: 50, after: null });
    expect(parsePageRequest({ limit: '10', cursor: encodeCursor('b') })).toEqual({ limit: 10, after: 'b' });
    for (const limit of ['0', '201', '-1', '1.5', 'ten', '']) {
      expect(() => parsePageRequest({ limit })).toThrow(expect.objectContaining({ details: { field: 'limit' } }));
    }
    expect(() => parsePageRequest({ cursor: ['a', 'b'] })).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });
  it('builds pages from limit + 1 rows', () => {
    const rows = ['a', 'b', 'c'].map((key) => ({ key }));
    expect(toPage(rows, 2)).toEqual({ items: [{ key: 'a' }, { key: 'b' }], nextCursor: encodeCursor('b') });
    expect(toPage(rows, 3)).toEqual({ items: rows, nextCursor: null });
    expect(toPage([], 3)).toEqual({ items: [], nextCursor: null });
  });
});
