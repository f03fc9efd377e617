import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tinycdp/common';
import { MemoryRolloutStore } from './memory-rollout-store';
import { MemorySegmentMembers } from './memory-segment-members';
import { rolloutStoreContract, segmentMembersContract } from './contracts/rollout-store.contract';

rolloutStoreContract('MemoryRolloutStore', async () => ({ store: new MemoryRolloutStore(), cleanup: async () => undefined }));
segmentMembersContract('MemorySegmentMembers', async () => ({ store: new MemorySegmentMembers(), cleanup: async () => undefined }));

describe('MemoryRolloutStore specifics', () => {
  it('lets another owner take an expired lease (Redis PX expiry)', async () => {
    const clock = new FakeClock('2025-01-01T00:00:00Z');
    const s = new MemoryRolloutStore(clock);
    expect(await s.acquireLease('a', 1000)).toBe(true);
    clock.advance(999);
    expect(await s.acquireLease('b', 1000)).toBe(false);
    clock.advance(1);
    expect(await s.acquireLease('b', 1000)).toBe(true);
    expect(await s.saveCheckpoint('a', { x: '1' })).toBe(false);
  });
});
