import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { redisKeys, type RedisKeys } from './keys';

/** A membership change as carried on `tinycdp.segment-changes` (only what the index needs). */
export interface MembershipChange {
  readonly segment: string;
  readonly profileId: string;
  readonly status: 'entered' | 'exited';
}

function wrap(err: unknown, what: string): AppError {
  return new AppError('unavailable', `redis ${what} failed: ${(err as Error)?.message ?? err}`, { retriable: true, cause: err });
}

/**
 * Segment membership index: one sorted set per segment (`{seg:<key>}:members`, every score 0, so pages
 * come in lexicographic order with an exact cursor). A projection of the segment-change stream: the
 * processor applies each profile's published changes in order, after the profile's compare-and-set
 * write, so re-applying after a crash is idempotent. Admin reads it (pages and counts).
 * Every method throws AppError('unavailable', retriable) when Redis fails.
 */
export class RedisSegmentMembers {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix = 'tinycdp:',
  ) {
    this.keys = redisKeys(prefix);
  }

  /** Applies changes in order (ZADD on entered, ZREM on exited). */
  async apply(changes: readonly MembershipChange[]): Promise<void> {
    if (changes.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const c of changes) {
      const key = this.keys.segmentMembers(c.segment);
      if (c.status === 'entered') pipe.zadd(key, 0, c.profileId);
      else pipe.zrem(key, c.profileId);
    }
    try {
      const res = await pipe.exec();
      const failed = res?.find(([e]) => e);
      if (failed) throw failed[0];
    } catch (err) {
      throw wrap(err, 'members apply');
    }
  }

  /** Deletes the whole index of segments that no longer exist. */
  async drop(segments: readonly string[]): Promise<void> {
    if (segments.length === 0) return;
    try {
      await this.redis.del(...segments.map((s) => this.keys.segmentMembers(s)));
    } catch (err) {
      throw wrap(err, 'members drop');
    }
  }

  /** Up to `limit` members after `after` (exclusive; null = from the start), in byte order. */
  async page(segment: string, after: string | null, limit: number): Promise<string[]> {
    try {
      return await this.redis.zrangebylex(this.keys.segmentMembers(segment), after === null ? '-' : `(${after}`, '+', 'LIMIT', 0, limit);
    } catch (err) {
      throw wrap(err, 'members page');
    }
  }

  async count(segment: string): Promise<number> {
    try {
      return await this.redis.zcard(this.keys.segmentMembers(segment));
    } catch (err) {
      throw wrap(err, 'members count');
    }
  }
}
