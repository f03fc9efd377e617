/**
 * Rollout and membership ports, mirrored (structurally) from services/processor/src/ports.ts, like
 * ports.ts does for the profile repository: `RolloutStore` (lease, checkpoint, fences, status) and
 * `SegmentMembers` (membership index). RedisRolloutStore / RedisSegmentMembers (libs/redis) and the
 * memory classes here pass the same contract suites (src/contracts).
 */
export interface FenceClaim {
  readonly series: string;
  readonly partition: number;
  readonly offset: number;
}

export interface RolloutStore {
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
  loadCheckpoint(): Promise<Record<string, string>>;
  saveCheckpoint(owner: string, set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<boolean>;
  claimFences(claims: readonly FenceClaim[]): Promise<number[]>;
  clearFences(series: readonly string[]): Promise<void>;
  writeStatus(set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<void>;
  readStatus(fields: readonly string[]): Promise<(string | null)[]>;
}

export interface MembershipChange {
  readonly segment: string;
  readonly profileId: string;
  readonly status: 'entered' | 'exited';
}

export interface SegmentMembers {
  apply(changes: readonly MembershipChange[]): Promise<void>;
  drop(segments: readonly string[]): Promise<void>;
  page(segment: string, after: string | null, limit: number): Promise<string[]>;
  count(segment: string): Promise<number>;
}
