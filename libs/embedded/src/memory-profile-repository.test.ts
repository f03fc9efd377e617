import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tinycdp/common';
import { MemoryProfileRepository, MESSAGE_ID_RETENTION_MS } from './memory-profile-repository';
import { profileRepositoryContract } from './contracts/profile-repository.contract';

profileRepositoryContract('MemoryProfileRepository', async () => ({
  repo: new MemoryProfileRepository(),
  cleanup: async () => undefined,
}));

describe('MemoryProfileRepository specifics', () => {
  it('expires a profile’s message ids 24 h after their last write, like the PEXPIRE on the Redis zset', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const repo = new MemoryProfileRepository(clock);
    const w = { id: 'u', set: {}, del: [], changes: [] };
    await repo.write({ ...w, expectedRev: 0, messageIds: ['m1'] }, clock.now());
    clock.advance(MESSAGE_ID_RETENTION_MS - 1);
    expect([...(await repo.load([{ id: 'u', messageIds: ['m1'] }])).get('u')!.seen]).toEqual(['m1']);
    clock.advance(1);
    expect([...(await repo.load([{ id: 'u', messageIds: ['m1'] }])).get('u')!.seen]).toEqual([]);
  });

  it('returns copies: callers cannot mutate stored state through results', async () => {
    const repo = new MemoryProfileRepository();
    const r = await repo.write({ id: 'u', expectedRev: 0, set: { a: '1' }, del: [], messageIds: [], changes: ['c'] }, 0);
    if (r.ok) (r.pending as string[]).push('x');
    const p = (await repo.load([{ id: 'u' }])).get('u')!;
    p.fields.a = 'changed';
    (p.pending as string[]).push('y');
    const again = (await repo.load([{ id: 'u' }])).get('u')!;
    expect(again.fields).toEqual({ a: '1' });
    expect(again.pending).toEqual(['c']);
  });
});
