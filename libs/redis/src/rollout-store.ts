import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { redisKeys, type RedisKeys } from './keys';
import { withScripts } from './scripts';

/** One (series, partition) fence claim: "the live path applies this series from `offset` on". */
export interface FenceClaim {
  readonly series: string;
  readonly partition: number;
  readonly offset: number;
}

function wrap(err: unknown, what: string): AppError {
  return new AppError('unavailable', `redis ${what} failed: ${(err as Error)?.message ?? err}`, { retriable: true, cause: err });
}

/**
 * What the processor's rollout (re-evaluation + backfill after a definitions change) keeps in Redis:
 * the coordinator lease, the resumable checkpoint, the per-series fences that split every partition of
 * the events log between the backfill (below) and the live path (at and above), and the rollout status
 * per definition that admin shows. Keys: see keys.ts (`{rollout}` and `{defs}` hash tags).
 * Every method throws AppError('unavailable', retriable) when Redis fails.
 */
export class RedisRolloutStore {
  readonly keys: RedisKeys;
  private readonly redis: ReturnType<typeof withScripts>;

  constructor(redis: Redis, prefix = 'tinycdp:') {
    this.redis = withScripts(redis);
    this.keys = redisKeys(prefix);
  }

  /** Takes or renews the lease for `ttlMs`; true while `owner` holds it. */
  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    try {
      return Number(await this.redis.acquireLease(this.keys.rolloutLease(), owner, ttlMs)) === 1;
    } catch (err) {
      throw wrap(err, 'lease');
    }
  }

  /** Gives the lease back if `owner` holds it. */
  async releaseLease(owner: string): Promise<void> {
    try {
      await this.redis.releaseLease(this.keys.rolloutLease(), owner);
    } catch (err) {
      throw wrap(err, 'lease release');
    }
  }

  /** Every checkpoint field (empty when no rollout ever ran). */
  async loadCheckpoint(): Promise<Record<string, string>> {
    try {
      return await this.redis.hgetall(this.keys.rolloutState());
    } catch (err) {
      throw wrap(err, 'checkpoint load');
    }
  }

  /** Sets and deletes checkpoint fields, only while `owner` holds the lease; false when it does not. */
  async saveCheckpoint(owner: string, set: Readonly<Record<string, string>>, del: readonly string[] = []): Promise<boolean> {
    const pairs = Object.entries(set).flat();
    try {
      const r = await this.redis.saveCheckpoint(
        this.keys.rolloutLease(),
        this.keys.rolloutState(),
        owner,
        pairs.length / 2,
        ...pairs,
        del.length,
        ...del,
      );
      return Number(r) === 1;
    } catch (err) {
      throw wrap(err, 'checkpoint save');
    }
  }

  /** Set-once fences: returns, per claim and in order, the offset that holds (the first one claimed). */
  async claimFences(claims: readonly FenceClaim[]): Promise<number[]> {
    if (claims.length === 0) return [];
    try {
      const r = (await this.redis.claimFences(
        claims.length,
        ...claims.map((c) => this.keys.rolloutFences(c.series)),
        ...claims.map((c) => String(c.partition)),
        ...claims.map((c) => String(c.offset)),
      )) as string[];
      return r.map(Number);
    } catch (err) {
      throw wrap(err, 'claim fences');
    }
  }

  /** Forgets the fences of series no plan uses any more (a later re-add gets fresh fences). */
  async clearFences(series: readonly string[]): Promise<void> {
    if (series.length === 0) return;
    try {
      await this.redis.del(...series.map((s) => this.keys.rolloutFences(s)));
    } catch (err) {
      throw wrap(err, 'clear fences');
    }
  }

  /** Writes status JSON per `<kind>:<key>` and removes the given fields. */
  async writeStatus(set: Readonly<Record<string, string>>, del: readonly string[] = []): Promise<void> {
    if (Object.keys(set).length === 0 && del.length === 0) return;
    try {
      const m = this.redis.multi();
      if (Object.keys(set).length > 0) m.hset(this.keys.definitionStatus(), set);
      if (del.length > 0) m.hdel(this.keys.definitionStatus(), ...del);
      await m.exec();
    } catch (err) {
      throw wrap(err, 'status write');
    }
  }

  /** Status JSON per field (`<kind>:<key>`), null where none was reported. */
  async readStatus(fields: readonly string[]): Promise<(string | null)[]> {
    if (fields.length === 0) return [];
    try {
      return await this.redis.hmget(this.keys.definitionStatus(), ...fields);
    } catch (err) {
      throw wrap(err, 'status read');
    }
  }
}
