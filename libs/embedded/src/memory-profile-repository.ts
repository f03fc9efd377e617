import { systemClock, type Clock } from '@tinycdp/common';
import type { LoadedProfile, ProfileIndex, ProfileRepository, ProfileWrite, WriteResult } from './ports';
import { SortedSchedule } from './internal/sorted-schedule';

/** Same as @tinycdp/redis MESSAGE_ID_RETENTION_MS (not imported: this lib must not pull in ioredis). */
export const MESSAGE_ID_RETENTION_MS = 24 * 60 * 60 * 1000;

interface ProfileEntry {
  fields: Map<string, string>;
  rev: number;
}

interface MessageIds {
  /** id → applied at (ms, the `now` of the write). */
  readonly scores: Map<string, number>;
  /** Like the PEXPIRE on the Redis zset: the whole set vanishes this long after the last write with ids. */
  expiresAt: number;
}

/**
 * Profile state in memory with exactly the semantics of RedisProfileStore + apply-profile.lua, for the
 * embedded mode (state is a view rebuilt from the durable event log at start-up). What it mirrors,
 * including the quirks, so both pass the same contract suite:
 * - a profile is its fields plus `rev`; absent ⇒ rev 0; `write` is a compare-and-set on rev that applies
 *   `set`, then `del`, then bumps rev, records message ids (score `now`, older than now - 24 h pruned, the
 *   set expires 24 h after its last write) and appends `changes` to the outbox; it returns the whole outbox;
 * - `remove` drops the state and the message ids but keeps the outbox, links and schedule entries;
 * - `ackPending` is LTRIM count..-1; `link` is SET NX then GET; `due` is ZRANGEBYSCORE -inf now LIMIT 0 n.
 * Single-threaded JS makes every method atomic, as the Lua script is in Redis. Never throws.
 */
export class MemoryProfileRepository implements ProfileRepository, ProfileIndex {
  private readonly profiles = new Map<string, ProfileEntry>();
  private readonly outboxes = new Map<string, string[]>();
  private readonly messageIds = new Map<string, MessageIds>();
  private readonly links = new Map<string, string>();
  private readonly schedules = new Map<number, SortedSchedule>();
  private readonly index = new Set<string>();
  private writesSinceSweep = 0;

  /** `clock` decides when message-id sets expire (Redis uses its own wall clock for PEXPIRE). */
  constructor(private readonly clock: Clock = systemClock) {}

  async load(requests: readonly { id: string; messageIds?: readonly string[] }[]): Promise<Map<string, LoadedProfile>> {
    const out = new Map<string, LoadedProfile>();
    for (const r of requests) {
      const p = this.profiles.get(r.id);
      const fields: Record<string, string> = {};
      if (p) for (const [k, v] of p.fields) fields[k] = v;
      const seen = new Set<string>();
      const ids = r.messageIds && r.messageIds.length > 0 ? this.liveMessageIds(r.id) : undefined;
      if (ids) for (const m of r.messageIds!) if (ids.scores.has(m)) seen.add(m);
      out.set(r.id, { fields, rev: p?.rev ?? 0, seen, pending: [...(this.outboxes.get(r.id) ?? [])] });
    }
    return out;
  }

  async write(w: ProfileWrite, now: number): Promise<WriteResult> {
    if (++this.writesSinceSweep >= 10_000) this.sweepExpired();
    const result = this.applyWrite(w, now);
    // RedisProfileStore indexes after every write that expected a new profile, successful or not.
    if (w.expectedRev === 0) this.index.add(w.id);
    return result;
  }

  private applyWrite(w: ProfileWrite, now: number): WriteResult {
    const current = this.profiles.get(w.id);
    const rev = current?.rev ?? 0;
    if (rev !== w.expectedRev) return { ok: false, currentRev: rev };

    const p: ProfileEntry = current ?? { fields: new Map(), rev: 0 };
    for (const [k, v] of Object.entries(w.set)) p.fields.set(k, String(v));
    for (const k of w.del) p.fields.delete(k);
    p.rev = rev + 1;
    this.profiles.set(w.id, p);

    if (w.messageIds.length > 0) {
      const ids = this.liveMessageIds(w.id) ?? { scores: new Map<string, number>(), expiresAt: 0 };
      for (const m of w.messageIds) ids.scores.set(m, now);
      const cutoff = now - MESSAGE_ID_RETENTION_MS;
      for (const [m, at] of ids.scores) if (at <= cutoff) ids.scores.delete(m);
      ids.expiresAt = this.clock.now() + MESSAGE_ID_RETENTION_MS;
      if (ids.scores.size > 0) this.messageIds.set(w.id, ids);
      else this.messageIds.delete(w.id);
    }

    let outbox = this.outboxes.get(w.id);
    if (w.changes.length > 0) {
      if (!outbox) this.outboxes.set(w.id, (outbox = []));
      outbox.push(...w.changes);
    }
    return { ok: true, rev: p.rev, pending: [...(outbox ?? [])] };
  }

  /** Pending segment changes of a profile (written with its state, not yet published). */
  async pending(id: string): Promise<string[]> {
    return [...(this.outboxes.get(id) ?? [])];
  }

  async ackPending(acks: readonly { id: string; count: number }[]): Promise<void> {
    for (const a of acks) {
      const list = this.outboxes.get(a.id);
      if (!list) continue;
      // LTRIM key count -1
      const start = a.count < 0 ? Math.max(list.length + a.count, 0) : a.count;
      const kept = list.slice(start);
      if (kept.length === 0) this.outboxes.delete(a.id);
      else this.outboxes.set(a.id, kept);
    }
  }

  async remove(id: string): Promise<void> {
    this.profiles.delete(id);
    this.messageIds.delete(id);
    this.index.delete(id);
  }

  async resolveLinks(anonymousIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const a of anonymousIds) {
      const u = this.links.get(a);
      if (u !== undefined) out.set(a, u);
    }
    return out;
  }

  async link(anonymousId: string, userId: string): Promise<string> {
    const existing = this.links.get(anonymousId);
    if (existing !== undefined) return existing;
    this.links.set(anonymousId, userId);
    return userId;
  }

  async schedule(entries: readonly { partition: number; id: string; dueAt: number | null }[]): Promise<void> {
    for (const e of entries) {
      let s = this.schedules.get(e.partition);
      if (e.dueAt === null) {
        s?.remove(e.id);
        if (s && s.size === 0) this.schedules.delete(e.partition);
        continue;
      }
      if (!s) this.schedules.set(e.partition, (s = new SortedSchedule()));
      s.set(e.id, e.dueAt);
    }
  }

  async due(partition: number, now: number, limit: number): Promise<string[]> {
    return this.schedules.get(partition)?.upTo(now, limit) ?? [];
  }

  /** How many profile ids the index holds (SCARD). */
  async countProfileIds(): Promise<number> {
    return this.index.size;
  }

  /** Cursor = position in the id-sorted index; like SSCAN, ids added or removed meanwhile may be missed or repeated. */
  async listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }> {
    const all = [...this.index].sort();
    const start = Math.max(Number.parseInt(cursor, 10) || 0, 0);
    const end = start + Math.max(count, 1);
    return { cursor: end >= all.length ? '0' : String(end), ids: all.slice(start, end) };
  }

  /** Redis expires idle message-id sets by itself; here an amortized sweep drops the expired ones. */
  private sweepExpired(): void {
    this.writesSinceSweep = 0;
    const now = this.clock.now();
    for (const [id, ids] of this.messageIds) if (ids.expiresAt <= now) this.messageIds.delete(id);
  }

  private liveMessageIds(id: string): MessageIds | undefined {
    const ids = this.messageIds.get(id);
    if (ids && ids.expiresAt <= this.clock.now()) {
      this.messageIds.delete(id);
      return undefined;
    }
    return ids;
  }
}
