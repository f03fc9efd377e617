import { describe, expect, it } from 'vitest';
import { foldPublished } from './reconcile';

const c = (profileId: string, segment: string, status: string, sequence: number) =>
  JSON.stringify({ profileId, userId: profileId, segment, status, at: '2026-01-01T00:00:00.000Z', reason: 'event', sequence });

describe('foldPublished', () => {
  it('keeps the last published membership and the highest sequence per profile', () => {
    const m = foldPublished([c('a', 's1', 'entered', 1), c('a', 's2', 'entered', 2), c('a', 's1', 'exited', 3), c('b', 's1', 'entered', 1), 'junk']);
    expect(m.get('a')).toEqual({ sequence: 3, segments: { s2: Date.parse('2026-01-01T00:00:00.000Z') } });
    expect(Object.keys(m.get('b')!.segments)).toEqual(['s1']);
  });

  it('ignores duplicates that arrive after a later change', () => {
    const m = foldPublished([c('a', 's1', 'entered', 1), c('a', 's1', 'exited', 2), c('a', 's1', 'entered', 1)]);
    expect(m.get('a')!.segments).toEqual({});
    expect(m.get('a')!.sequence).toBe(2);
  });
});
