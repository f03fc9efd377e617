/**
 * Rollout and membership ports. `RolloutStore`, `FenceClaim`, `MembershipChange` and the writer side of
 * the membership index are declared once in core (libs/engine storage-ports.ts); admin also reads the
 * index, hence `SegmentMembers`. RedisRolloutStore / RedisSegmentMembers (libs/redis) and the memory
 * classes here pass the same contract suites (src/contracts).
 */
import type { SegmentMembersWriter } from '@tinycdp/engine';

export type { FenceClaim, MembershipChange, RolloutStore } from '@tinycdp/engine';

export interface SegmentMembers extends SegmentMembersWriter {
  page(segment: string, after: string | null, limit: number): Promise<string[]>;
  count(segment: string): Promise<number>;
}
