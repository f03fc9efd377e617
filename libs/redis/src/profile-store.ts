import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { redisKeys, type RedisKeys } from './keys';
import { withScripts } from './scripts';

/** A profile as stored: the engine codec's fields plus the storage revision used for compare-and-set. */
export interface StoredProfile {
  readonly fields: Record<string, string>;
  /** 0 when the profile does not exist yet. */
  readonly rev: number;
}

/** A loaded profile with which of the asked message ids it already applied and its unpublished changes. */
export interface LoadedProfile extends StoredProfile {
  readonly seen: Set<string>;
  readonly pending: readonly string[];
}

export interface ProfileWrite {
  readonly id: string;
  readonly expectedRev: number;
  readonly set: Record<string, string>;
  readonly del: readonly string[];
  /** Message ids applied by this write (dedupe for 24 h). */
  readonly messageIds: readonly string[];
  /** Segment changes, JSON-encoded, queued in the profile outbox with the state. */
  readonly changes: readonly string[];
}

export type WriteResult =
  | { readonly ok: true; readonly rev: number; readonly pending: readonly string[] }
  | { readonly ok: false; readonly currentRev: number };

export const MESSAGE_ID_RETENTION_MS = 24 * 60 * 60 * 1000;

function wrap(err: unknown, what: string): AppError {
  return new AppError('unavailable', `redis ${what} failed: ${(err as Error)?.message ?? err}`, {
    retriable: true,
    cause: err,
  });
}

/**
 * Profile state in Redis. Every read-modify-write goes through apply-profile.lua (compare-and-set on
 * `_rev`), so two writers (e.g. during a consumer rebalance) can never interleave partial state.
 * All methods throw AppError('unavailable', retriable) when Redis fails.
 */
export class RedisProfileStore {
  readonly keys: RedisKeys;
  private readonly redis: ReturnType<typeof withScripts>;

  constructor(redis: Redis, prefix = 'tinycdp:') {
    this.redis = withScripts(redis);
    this.keys = redisKeys(prefix);
  }

  /** Loads profiles (one pipeline) and which of the given message ids each has already applied. */
  async load(
    requests: readonly { id: string; messageIds?: readonly string[] }[],
  ): Promise<Map<string, LoadedProfile>> {
    const pipe = this.redis.pipeline();
    for (const r of requests) {
      pipe.hgetall(this.keys.profile(r.id));
      pipe.lrange(this.keys.outbox(r.id), 0, -1);
      if (r.messageIds && r.messageIds.length > 0) pipe.zmscore(this.keys.messageIds(r.id), ...r.messageIds);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipe.exec();
    } catch (err) {
      throw wrap(err, 'load');
    }
    if (!results) throw wrap(new Error('pipeline aborted'), 'load');
    const out = new Map<string, LoadedProfile>();
    let i = 0;
    for (const r of requests) {
      const [err, raw] = results[i++]!;
      if (err) throw wrap(err, 'load');
      const [perr, pending] = results[i++]!;
      if (perr) throw wrap(perr, 'load');
      const fields = { ...(raw as Record<string, string>) };
      const rev = Number(fields._rev ?? 0);
      delete fields._rev;
      const seen = new Set<string>();
      if (r.messageIds && r.messageIds.length > 0) {
        const [zerr, scores] = results[i++]!;
        if (zerr) throw wrap(zerr, 'load');
        (scores as (string | null)[]).forEach((s, j) => {
          if (s !== null) seen.add(r.messageIds![j]!);
        });
      }
      out.set(r.id, { fields, rev, seen, pending: pending as string[] });
    }
    return out;
  }

  /** Compare-and-set write of one profile; returns every pending (unpublished) change on success. */
  async write(w: ProfileWrite, now: number): Promise<WriteResult> {
    const setPairs = Object.entries(w.set).flat();
    const args: (string | number)[] = [
      this.keys.profile(w.id),
      this.keys.outbox(w.id),
      this.keys.messageIds(w.id),
      w.expectedRev,
      now,
      MESSAGE_ID_RETENTION_MS,
      setPairs.length / 2,
      ...setPairs,
      w.del.length,
      ...w.del,
      w.messageIds.length,
      ...w.messageIds,
      w.changes.length,
      ...w.changes,
    ];
    let res: unknown;
    try {
      res = await this.redis.applyProfile(...args);
      if (w.expectedRev === 0) await this.redis.sadd(this.keys.profileIndex(), w.id);
    } catch (err) {
      throw wrap(err, 'write');
    }
    const arr = res as (number | string)[];
    if (Number(arr[0]) === -1) return { ok: false, currentRev: Number(arr[1]) };
    return { ok: true, rev: Number(arr[0]), pending: arr.slice(1).map(String) };
  }

  /** Pending segment changes of a profile (written with its state, not yet published). */
  async pending(id: string): Promise<string[]> {
    try {
      return await this.redis.lrange(this.keys.outbox(id), 0, -1);
    } catch (err) {
      throw wrap(err, 'pending');
    }
  }

  /** Drops the first `count` outbox entries once they are durably published. */
  async ackPending(acks: readonly { id: string; count: number }[]): Promise<void> {
    if (acks.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const a of acks) pipe.ltrim(this.keys.outbox(a.id), a.count, -1);
    try {
      await pipe.exec();
    } catch (err) {
      throw wrap(err, 'ack');
    }
  }

  /** Removes a profile entirely (after it was merged into another one). */
  async remove(id: string): Promise<void> {
    try {
      await this.redis
        .multi()
        .del(this.keys.profile(id), this.keys.messageIds(id))
        .srem(this.keys.profileIndex(), id)
        .exec();
    } catch (err) {
      throw wrap(err, 'remove');
    }
  }

  async resolveLinks(anonymousIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (anonymousIds.length === 0) return out;
    try {
      const vals = await this.redis.mget(...anonymousIds.map((a) => this.keys.link(a)));
      vals.forEach((v, i) => {
        if (v !== null) out.set(anonymousIds[i]!, v);
      });
    } catch (err) {
      throw wrap(err, 'links');
    }
    return out;
  }

  /** Links an anonymous id to a user id if it is not linked yet. Returns the user it is linked to. */
  async link(anonymousId: string, userId: string): Promise<string> {
    try {
      const key = this.keys.link(anonymousId);
      await this.redis.set(key, userId, 'NX');
      return (await this.redis.get(key)) ?? userId;
    } catch (err) {
      throw wrap(err, 'link');
    }
  }

  async schedule(entries: readonly { partition: number; id: string; dueAt: number | null }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const e of entries) {
      if (e.dueAt === null) pipe.zrem(this.keys.schedule(e.partition), e.id);
      else pipe.zadd(this.keys.schedule(e.partition), e.dueAt, e.id);
    }
    try {
      await pipe.exec();
    } catch (err) {
      throw wrap(err, 'schedule');
    }
  }

  async due(partition: number, now: number, limit: number): Promise<string[]> {
    try {
      return await this.redis.zrangebyscore(this.keys.schedule(partition), '-inf', now, 'LIMIT', 0, limit);
    } catch (err) {
      throw wrap(err, 'due');
    }
  }

  /** How many profile ids the index holds (a backfill's total). */
  async countProfileIds(): Promise<number> {
    try {
      return await this.redis.scard(this.keys.profileIndex());
    } catch (err) {
      throw wrap(err, 'count');
    }
  }

  /** SSCAN over the profile index: start with "0", stop when "0" comes back; may repeat ids. */
  async listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }> {
    try {
      const [next, ids] = await this.redis.sscan(this.keys.profileIndex(), cursor, 'COUNT', count);
      return { cursor: next, ids };
    } catch (err) {
      throw wrap(err, 'scan');
    }
  }
}
