import type { Logger } from 'pino';
import type { CdpEvent } from '@tinycdp/events';
import {
  decodeProfile,
  encodeProfile,
  encodedFieldsDiff,
  evaluateProfile,
  retireProfile,
  type ChangeReason,
  type Plan,
  type ProfileState,
  type SegmentChange,
} from '@tinycdp/engine';
import { partitionForKey } from '@tinycdp/kafka';
import { AppError } from '@tinycdp/common';
import type { MembershipChange, ProfileRepository, RecordSink, SegmentMembersWriter } from '../ports';
import { applyEventsFenced, mergeProfilesKeeping, type SeriesSkips } from '../rollout/fenced-apply';

export interface UpdateDeps {
  readonly repo: ProfileRepository;
  readonly changes: RecordSink;
  readonly plan: () => Plan;
  readonly numPartitions: number;
  readonly logger: Logger;
  /** Segment membership index, updated from every published change (optional). */
  readonly members?: SegmentMembersWriter;
}

export interface UpdateOptions {
  /** Plan for every attempt of this call (default: `deps.plan()` once, at the start). */
  readonly plan?: Plan;
  /** Per-event series the live path must not apply (below the series' fence; see rollout/). */
  readonly skips?: SeriesSkips;
  /** Series to drop from every profile (their definitions were deleted; the rollout pass). */
  readonly pruneSeries?: ReadonlySet<string>;
  /** Reason for the changes of one profile (default: the `reason` argument). */
  readonly reasonOf?: (state: ProfileState) => ChangeReason;
  /** Leave profiles that do not exist alone (a full pass must not recreate a profile removed meanwhile). */
  readonly skipAbsent?: boolean;
}

/** What to do to one profile: events to apply (in order) and anonymous profiles to fold into it. */
export interface ProfileWork {
  readonly events: CdpEvent[];
  readonly merges: Set<string>;
  /**
   * Memberships and sequence already published for this profile (reconciliation after an in-memory
   * rebuild): the state is told it is in exactly these segments, so evaluation emits only real changes.
   */
  readonly published?: { readonly sequence: number; readonly segments: Readonly<Record<string, number>> };
}

export interface UpdateStats {
  applied: number;
  duplicates: number;
  changes: number;
  conflicts: number;
}

const MAX_CAS_ATTEMPTS = 8;

/**
 * Applies work to profiles: load (one load-profile.lua call per profile, all sent together), compute
 * with the pure engine, compare-and-set write (state + dedupe ids + outbox in one Lua call), publish
 * every pending change and ack it, reschedule (alongside the publication).
 * Safe to repeat: applied message ids are skipped, pending changes are re-published with their
 * original `sequence`. Throws only for infrastructure faults (the caller retries the whole batch).
 */
export async function updateProfiles(
  deps: UpdateDeps,
  work: ReadonlyMap<string, ProfileWork>,
  now: number,
  reason: ChangeReason,
  options: UpdateOptions = {},
): Promise<UpdateStats> {
  const stats: UpdateStats = { applied: 0, duplicates: 0, changes: 0, conflicts: 0 };
  // One plan for every attempt: the fences (skips) were resolved for it, so a plan change between
  // attempts cannot apply a new series to events that belong to its backfill.
  const plan = options.plan ?? deps.plan();
  let remaining = new Map(work);
  const published: { id: string; pending: readonly string[] }[] = [];
  const schedule: { partition: number; id: string; dueAt: number | null }[] = [];
  const removals = new Set<string>();

  for (let attempt = 1; remaining.size > 0; attempt++) {
    if (attempt > MAX_CAS_ATTEMPTS) {
      throw new AppError('unavailable', `profiles kept changing under us: ${[...remaining.keys()].slice(0, 5).join(', ')}`, {
        retriable: true,
      });
    }
    const requests: { id: string; messageIds?: string[] }[] = [];
    for (const [id, w] of remaining) {
      requests.push({ id, messageIds: w.events.map((e) => e.messageId) });
      for (const anon of w.merges) if (anon !== id) requests.push({ id: anon });
    }
    const loaded = await deps.repo.load(requests);
    const conflicted = new Map<string, ProfileWork>();

    await Promise.all(
      [...remaining].map(async ([id, w]) => {
        const stored = loaded.get(id)!;
        if (options.skipAbsent && stored.rev === 0) return;
        const fresh = dedupe(w.events, stored.seen);
        stats.duplicates += w.events.length - fresh.length;

        let state = decodeProfile(stored.fields, id);
        if (w.published) {
          state.segments = { ...w.published.segments };
          state.sequence = Math.max(state.sequence, w.published.sequence);
        }
        const merged: string[] = [];
        for (const anon of w.merges) {
          const source = anon === id ? undefined : loaded.get(anon);
          if (!source || source.rev === 0) continue;
          // Already folded in by an earlier attempt that crashed before removing the source.
          if (state.anonymousIds[anon] === undefined) state = mergeProfilesKeeping(state, decodeProfile(source.fields, anon), plan, now);
          merged.push(anon);
        }
        if (fresh.length > 0) state = applyEventsFenced(state, fresh, plan, now, options.skips);
        const why = merged.length > 0 && fresh.length === 0 ? 'merge' : (options.reasonOf?.(state) ?? reason);
        const evaluated = evaluateProfile(state, plan, now, why);
        if (options.pruneSeries) for (const sid of options.pruneSeries) delete evaluated.state.series[sid];
        const diff = encodedFieldsDiff(stored.fields, encodeProfile(evaluated.state));
        const changes = evaluated.changes.map(serializeChange);
        const dirty = fresh.length > 0 || changes.length > 0 || diff.del.length > 0 || hasKeys(diff.set);

        if (!dirty) {
          published.push({ id, pending: stored.pending });
        } else {
          const res = await deps.repo.write(
            { id, expectedRev: stored.rev, set: diff.set, del: diff.del, messageIds: fresh.map((e) => e.messageId), changes },
            now,
          );
          if (!res.ok) {
            stats.conflicts++;
            conflicted.set(id, w);
            return;
          }
          stats.applied += fresh.length;
          stats.changes += changes.length;
          published.push({ id, pending: res.pending });
        }
        for (const anon of merged) removals.add(anon);
        schedule.push({ partition: partitionForKey(id, deps.numPartitions), id, dueAt: evaluated.nextDueAt });
      }),
    );
    remaining = conflicted;
  }

  // Merged anonymous profiles are retired (their memberships exit, reason 'merge') and deleted only
  // after the identified profile durably holds their data; the target records merged ids, so a crash
  // before the deletion cannot count them twice.
  for (const anon of removals) {
    const retired = await retire(deps.repo, anon, now);
    published.push({ id: anon, pending: retired });
    stats.changes += retired.length;
    schedule.push({ partition: partitionForKey(anon, deps.numPartitions), id: anon, dueAt: null });
  }

  const records = published.flatMap((p) => p.pending.map((value) => ({ key: p.id, value })));
  const publish = async () => {
    if (records.length > 0) {
      await deps.changes.send(records);
      // Before the ack: a crash in between re-publishes these changes and so re-applies them here too.
      if (deps.members) await deps.members.apply(records.map((r) => membershipOf(r.value)).filter((c) => c !== null));
      await deps.repo.ackPending(published.filter((p) => p.pending.length > 0).map((p) => ({ id: p.id, count: p.pending.length })));
    }
    for (const anon of removals) await deps.repo.remove(anon);
  };
  // The schedule depends only on the written state, not on the publication: both are under way at
  // once, and the caller commits offsets only after both are durable.
  const scheduled = deps.repo.schedule(schedule);
  scheduled.catch(() => undefined); // awaited below; a failure of publish() must not leave it unhandled
  await publish();
  await scheduled;
  return stats;
}

function hasKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

/** Exits every segment of a profile that is about to disappear; returns its pending changes. */
async function retire(repo: ProfileRepository, id: string, now: number): Promise<readonly string[]> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const stored = (await repo.load([{ id }])).get(id)!;
    if (stored.rev === 0) return stored.pending;
    const r = retireProfile(decodeProfile(stored.fields, id), now, 'merge');
    if (r.changes.length === 0) return stored.pending;
    const diff = encodedFieldsDiff(stored.fields, encodeProfile(r.state));
    const res = await repo.write(
      { id, expectedRev: stored.rev, set: diff.set, del: diff.del, messageIds: [], changes: r.changes.map(serializeChange) },
      now,
    );
    if (res.ok) return res.pending;
  }
  throw new AppError('unavailable', `profile ${id} kept changing while being retired`, { retriable: true });
}

function dedupe(events: readonly CdpEvent[], seen: ReadonlySet<string>): CdpEvent[] {
  if (events.length === 1 && seen.size === 0) return [events[0]!];
  const ids = new Set<string>();
  const out: CdpEvent[] = [];
  for (const e of events) {
    if (seen.has(e.messageId) || ids.has(e.messageId)) continue;
    ids.add(e.messageId);
    out.push(e);
  }
  return out;
}

/** The index-relevant part of a published change JSON; null if it is not one. */
function membershipOf(json: string): MembershipChange | null {
  try {
    const c = JSON.parse(json) as { profileId?: unknown; segment?: unknown; status?: unknown };
    if (typeof c.profileId !== 'string' || typeof c.segment !== 'string') return null;
    if (c.status !== 'entered' && c.status !== 'exited') return null;
    return { profileId: c.profileId, segment: c.segment, status: c.status };
  } catch {
    return null;
  }
}

export function serializeChange(c: SegmentChange): string {
  return JSON.stringify({
    profileId: c.profileId,
    userId: c.userId,
    segment: c.segment,
    status: c.status,
    at: c.at,
    reason: c.reason,
    sequence: c.sequence,
  });
}
