/**
 * The rollout's side of the Redis state-loss guard (see redis-epoch.ts). The rollout coordinator and
 * the live path's fences keep their own keys next to the profiles — lease, checkpoint, set-once fences,
 * per-definition status — and the membership index is a projection of published changes. If Redis came
 * back EMPTY, writing any of them would be wrong in a way the rebuild does not undo: a fence claimed
 * into the empty Redis is set-once, so after the rebuild (fresh consumer group, replay from the start)
 * it would still send events below it to a backfill that never runs; an adopted "base" checkpoint or a
 * "live" status would describe state that does not exist.
 *
 * So while the epoch marker is missing every rollout write fails with AppError('unavailable',
 * retriable) and writes nothing: the coordinator's tick fails and it retries with its back-off, its
 * lease renewal fails and it gives the lease up after the TTL, a live batch that needs a fence fails
 * and is redelivered. Everything resumes once the marker is back (after a rebuild).
 *
 * Rollout writes (and `loadCheckpoint`, whose empty answer after a loss would make the coordinator
 * adopt a base) read the marker every time (`check()`): they happen once per chunk / batch / lease
 * renewal, so one GET each costs nothing, and a fence is too durable to trust a cached check. The
 * membership index follows the profile writes (`checkIfStale()`): `apply` runs after every live batch
 * with changes, right after the guarded profile write. Reads that decide nothing (`readStatus`) and
 * `releaseLease` (an owner-checked delete, also run on shutdown) pass through.
 *
 * Residual window, as for the profile repository: the marker check and the write are two commands (the
 * rollout keys and the marker live in different hash slots, so no single script can hold both); a
 * restart between them drops the connection, which the guard notices on the next call.
 */
import type { FenceClaim, MembershipChange, RolloutStore, SegmentMembersWriter } from '../ports';
import type { RedisEpochGuard } from './redis-epoch';

/** A RolloutStore that refuses to write while the state epoch marker is missing. Drop-in. */
export class EpochGuardedRolloutStore implements RolloutStore {
  constructor(
    private readonly inner: RolloutStore,
    private readonly guard: RedisEpochGuard,
  ) {}

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    await this.guard.check();
    return this.inner.acquireLease(owner, ttlMs);
  }

  releaseLease(owner: string): Promise<void> {
    return this.inner.releaseLease(owner);
  }

  async loadCheckpoint(): Promise<Record<string, string>> {
    // Both in flight; the marker decides (an empty checkpoint from an emptied Redis must not be used).
    const [m, l] = await Promise.allSettled([this.guard.check(), this.inner.loadCheckpoint()]);
    if (m.status === 'rejected') throw m.reason;
    if (l.status === 'rejected') throw l.reason;
    return l.value;
  }

  async saveCheckpoint(owner: string, set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<boolean> {
    await this.guard.check();
    return this.inner.saveCheckpoint(owner, set, del);
  }

  async claimFences(claims: readonly FenceClaim[]): Promise<number[]> {
    if (claims.length === 0) return [];
    await this.guard.check();
    return this.inner.claimFences(claims);
  }

  async clearFences(series: readonly string[]): Promise<void> {
    if (series.length === 0) return;
    await this.guard.check();
    return this.inner.clearFences(series);
  }

  async writeStatus(set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<void> {
    await this.guard.check();
    return this.inner.writeStatus(set, del);
  }

  readStatus(fields: readonly string[]): Promise<(string | null)[]> {
    return this.inner.readStatus(fields);
  }
}

/** A membership index writer that refuses to write while the state epoch marker is missing. Drop-in. */
export class EpochGuardedSegmentMembers implements SegmentMembersWriter {
  constructor(
    private readonly inner: SegmentMembersWriter,
    private readonly guard: RedisEpochGuard,
  ) {}

  async apply(changes: readonly MembershipChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.guard.checkIfStale();
    return this.inner.apply(changes);
  }

  async drop(segments: readonly string[]): Promise<void> {
    if (segments.length === 0) return;
    await this.guard.check();
    return this.inner.drop(segments);
  }
}
