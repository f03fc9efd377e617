import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { redisKeys, type RedisKeys } from './keys';
import { pipelined, runScript, withScripts } from './scripts';


/**
 * The string with lone surrogates replaced by U+FFFD: the bytes a plain command argument would have
 * been written as (so stored values and ids do not depend on how they were sent), and text that
 * Redis' cjson can decode (it rejects lone surrogate escapes, which JSON.stringify writes).
 */
function wellFormed(s: string): string {
  const w = s as unknown as WellFormedString;
  return w.isWellFormed() ? s : w.toWellFormed();
}
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
function wellFormedAll(list: readonly string[]): readonly string[] {
  for (const s of list) if (!(s as unknown as WellFormedString).isWellFormed()) return list.map(wellFormed);
  return list;
}

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

/** Mirrors libs/engine storage-ports (structurally): libs/redis depends only on @tinycdp/common. */
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

  /**
   * Loads profiles and which of the given message ids each has already applied: one load-profile.lua
   * call per profile (state, outbox and applied ids together), all sent in one batch.
   */
  async load(
    requests: readonly { id: string; messageIds?: readonly string[] }[],
  ): Promise<Map<string, LoadedProfile>> {
    const replies = requests.map((r) =>
      runScript(this.redis, 'loadProfile', [this.keys.profile(r.id), this.keys.outbox(r.id), this.keys.messageIds(r.id)], [
        r.messageIds && r.messageIds.length > 0 ? JSON.stringify(wellFormedAll(r.messageIds)) : '[]',
      ]),
    );
    let all: unknown[];
    try {
      all = await Promise.all(replies);
    } catch (err) {
      throw wrap(err, 'load');
    }
    const out = new Map<string, LoadedProfile>();
    for (let n = 0; n < requests.length; n++) {
      const r = requests[n]!;
      const [flat, pending, flags] = all[n] as [string[], string[], number[]];
      const fields: Record<string, string> = {};
      let rev = 0;
      for (let i = 0; i < flat.length; i += 2) {
        const name = flat[i]!;
        if (name === '_rev') rev = Number(flat[i + 1]);
        else if (name === '_w') continue; // the write id (apply-profile.lua), for readers only
        else if (name === '__proto__') Object.defineProperty(fields, name, { value: flat[i + 1], configurable: true, enumerable: true, writable: true });
        else fields[name] = flat[i + 1]!;
      }
      const seen = new Set<string>();
      const ids = r.messageIds;
      if (ids) for (let i = 0; i < flags.length; i++) if (flags[i] === 1) seen.add(ids[i]!);
      out.set(r.id, { fields, rev, seen, pending });
    }
    return out;
  }

  /**
   * Compare-and-set write of one profile; returns every pending (unpublished) change on success. A new
   * profile (expectedRev 0) is added to the profile index in the same round trip.
   */
  async write(w: ProfileWrite, now: number): Promise<WriteResult> {
    const set: string[] = [];
    for (const k in w.set) set.push(wellFormed(k), wellFormed(w.set[k]!));
    const data = JSON.stringify([set, wellFormedAll(w.del), wellFormedAll(w.messageIds), wellFormedAll(w.changes)]);
    const args: (string | number)[] = [w.expectedRev, now, MESSAGE_ID_RETENTION_MS, data];
    let res: unknown;
    try {
      const applied = runScript(this.redis, 'applyProfile', [this.keys.profile(w.id), this.keys.outbox(w.id), this.keys.messageIds(w.id)], args);
      // Sent with the write, not after it: if the compare-and-set fails, the profile exists anyway
      // (someone else created it), so the index entry is right either way.
      const indexed = w.expectedRev === 0 ? pipelined(this.redis, (p) => p.sadd(this.keys.profileIndex(), w.id)) : null;
      indexed?.catch(() => undefined);
      res = await applied;
      await indexed;
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
    // Consecutive entries of one partition and kind go in one ZADD / ZREM (in order, so the last entry
    // of an id still wins): a batch's profiles mostly share a partition.
    for (let i = 0; i < entries.length; ) {
      const e = entries[i]!;
      const remove = e.dueAt === null;
      const args: (string | number)[] = [];
      let j = i;
      for (; j < entries.length && entries[j]!.partition === e.partition && (entries[j]!.dueAt === null) === remove; j++) {
        const x = entries[j]!;
        if (remove) args.push(x.id);
        else args.push(x.dueAt!, x.id);
      }
      if (remove) pipe.zrem(this.keys.schedule(e.partition), ...args);
      else pipe.zadd(this.keys.schedule(e.partition), ...args);
      i = j;
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
