/**
 * Profile evaluation: traits, segment membership diff (with per-profile sequence) and the next
 * instant membership can change because time passes.
 */
import type { Json } from '@tinycdp/common';
import type { AggregateRef } from '@tinycdp/dsl';
import { isGlobalSeen, refIds, sortedBuckets } from './internal/aggregates';
import type { CompiledSegment, Plan } from './plan';
import { cloneProfile, type ProfileState } from './state';
import { profileView, type ProfileView } from './view';
import { DAY_MS, MINUTE_MS, bucketLeavesAt, windowRange } from './window';

/** Why an evaluation happened (carried on segment changes). */
export type ChangeReason = 'event' | 'time' | 'definition' | 'backfill' | 'merge';

/** One segment entry or exit, as produced to `tinycdp.segment-changes` (key = profileId). */
export interface SegmentChange {
  readonly profileId: string;
  readonly userId: string | null;
  readonly segment: string;
  readonly status: 'entered' | 'exited';
  /** ISO-8601 instant of the evaluation (`now`). */
  readonly at: string;
  readonly reason: ChangeReason;
  /** Per-profile, strictly increasing; lets subscribers drop duplicates. */
  readonly sequence: number;
}

export interface EvaluationResult {
  /** The new state: trait values, memberships, sequence and planId updated. */
  readonly state: ProfileState;
  readonly traits: Record<string, Json>;
  readonly changes: SegmentChange[];
  /** Earliest instant > now at which a membership can change with no new event, or null. */
  readonly nextDueAt: number | null;
}

/** Horizon of the time search and the safety re-check interval. Must stay ≤ the processor's
 *  due-set scan assumptions (it re-evaluates due profiles at least this often). */
export const DUE_HORIZON_MS = 24 * 60 * 60 * 1000;
/** Most window-leave instants probed per segment; beyond that the last probed instant is due. */
const MAX_WINDOW_PROBES = 512;

function change(
  state: ProfileState,
  segment: string,
  status: 'entered' | 'exited',
  at: string,
  reason: ChangeReason,
  sequence: number,
): SegmentChange {
  return { profileId: state.id, userId: state.userId, segment, status, at, reason, sequence };
}

/**
 * Evaluates every trait (in dependency order) and segment of the plan at `now`, diffs membership
 * against the state and assigns each entry/exit the next per-profile `sequence`. Segments in the
 * state but not in the plan (deleted, or no longer compiling) exit. Entries come in plan order, then
 * exits of deleted segments (sorted by key). Pure; never throws.
 *
 * `nextDueAt` is the earliest instant > now at which some segment's membership could change only
 * because time passed (a bucket leaving a window, `last_seen_minutes_ago` / `first_seen_days_ago`
 * growing); see `segmentDueAt`. When some time-dependent segment could move for this profile, it is
 * capped at now + 24h as a safety re-check. null when nothing can change without a new event.
 */
export function evaluateProfile(
  state: ProfileState,
  plan: Plan,
  now: number,
  reason: ChangeReason,
): EvaluationResult {
  const view = profileView(state, plan, now);
  const traits = view.traits();
  // Only traits, memberships, sequence and planId change: a shallow copy (fresh top-level records,
  // nested data shared with `state`, which is never mutated) instead of a deep clone.
  const next: ProfileState = {
    ...state,
    series: { ...state.series },
    properties: { ...state.properties },
    traits,
    segments: { ...state.segments },
    anonymousIds: { ...state.anonymousIds },
  };
  next.planId = plan.planId;
  let at: string | null = null; // ISO instant of the changes, formatted on the first one
  const changes: SegmentChange[] = [];
  for (const seg of plan.segments) {
    const member = view.segment(seg.key) === true;
    const was = Object.prototype.hasOwnProperty.call(state.segments, seg.key);
    if (member && !was) {
      next.sequence += 1;
      next.segments[seg.key] = now;
      changes.push(change(next, seg.key, 'entered', (at ??= new Date(now).toISOString()), reason, next.sequence));
    } else if (!member && was) {
      next.sequence += 1;
      delete next.segments[seg.key];
      changes.push(change(next, seg.key, 'exited', (at ??= new Date(now).toISOString()), reason, next.sequence));
    }
  }
  const deleted = Object.keys(state.segments).filter((key) => !plan.segmentsByKey.has(key));
  for (const key of deleted.sort()) {
    next.sequence += 1;
    delete next.segments[key];
    changes.push(change(next, key, 'exited', (at ??= new Date(now).toISOString()), reason, next.sequence));
  }
  return { state: next, traits, changes, nextDueAt: nextDueAt(state, plan, now, view) };
}

/**
 * Exits every membership of a profile that goes away (e.g. the anonymous source of a merge).
 * Returns the state with no memberships and the exits (sequence continues).
 */
export function retireProfile(
  state: ProfileState,
  now: number,
  reason: ChangeReason,
): { state: ProfileState; changes: SegmentChange[] } {
  const next = cloneProfile(state);
  const at = new Date(now).toISOString();
  const changes: SegmentChange[] = [];
  for (const key of Object.keys(state.segments).sort()) {
    next.sequence += 1;
    changes.push(change(next, key, 'exited', at, reason, next.sequence));
  }
  next.segments = {};
  return { state: next, changes };
}

/** Time anchors of *_ago refs: instants from which elapsed minutes/days are counted. */
function agoAnchors(state: ProfileState, refs: readonly AggregateRef[]): { since: number; unitMs: number }[] {
  const out: { since: number; unitMs: number }[] = [];
  for (const ref of refs) {
    const m = ref.metric.kind;
    if (m !== 'last_seen_minutes_ago' && m !== 'first_seen_days_ago') continue;
    const s = state.series[refIds(ref).series];
    const since =
      m === 'last_seen_minutes_ago'
        ? isGlobalSeen(ref) ? state.lastSeen : (s?.lastSeen ?? null)
        : isGlobalSeen(ref) ? state.firstSeen : (s?.firstSeen ?? null);
    if (since !== null) out.push({ since, unitMs: m === 'last_seen_minutes_ago' ? MINUTE_MS : DAY_MS });
  }
  return out;
}

/**
 * Instants in (now, limit] at which a non-empty bucket read by `refs` leaves its window (sorted,
 * distinct, at most `max`), and whether any such instant exists at all (beyond `limit` too).
 */
function windowLeaves(
  state: ProfileState,
  refs: readonly AggregateRef[],
  now: number,
  limit: number,
): { any: boolean; leaves: number[] } {
  let any = false;
  let out: Set<number> | null = null;
  for (const ref of refs) {
    if (!('window' in ref.metric)) continue;
    const w = ref.metric.window;
    const buckets = state.series[refIds(ref).series]?.counts[w.unit];
    if (buckets === undefined) continue;
    const { from } = windowRange(w, now);
    const { idx, vals } = sortedBuckets(buckets);
    for (let i = 0; i < idx.length; i++) {
      const b = idx[i]!;
      if (b < from || vals[i]! <= 0) continue;
      const t = bucketLeavesAt(b, w);
      if (!(t > now)) continue;
      any = true;
      if (t <= limit) (out ??= new Set()).add(t);
    }
  }
  return { any, leaves: out === null ? [] : [...out].sort((a, b) => a - b) };
}

/**
 * Earliest instant in (now, now + horizon] at which the membership of `seg` differs from
 * `memberAt(now)` assuming no new event, or null if none is found; `memberAt` evaluates membership at
 * any instant.
 *
 * Method: probe every instant at which a non-empty bucket leaves a window the segment reads (exact
 * change points of window aggregates) together with doubling minute steps (now+1m, +2m, +4m, … up to
 * the horizon); between the last unchanged probe and the first changed one, binary-search the exact
 * change points of the *_ago metrics (anchor + k·1min / anchor + k·1day). The result is exact when
 * the rule is monotone in elapsed time between probes (e.g. `last_seen_minutes_ago < 5`); for rules
 * that flip and flip back between two probes it may be late, which the 24h safety cap bounds.
 */
export function segmentDueAt(
  state: ProfileState,
  seg: CompiledSegment,
  now: number,
  memberAt: (t: number) => boolean,
  horizon = DUE_HORIZON_MS,
): { dueAt: number | null; movable: boolean } {
  if (!seg.timeDependent) return { dueAt: null, movable: false };
  let limit = now + horizon;
  const anchors = agoAnchors(state, seg.timeRefs);
  const found = windowLeaves(state, seg.timeRefs, now, limit);
  if (anchors.length === 0 && !found.any) return { dueAt: null, movable: false };
  let leaves = found.leaves;
  if (leaves.length > MAX_WINDOW_PROBES) {
    leaves = leaves.slice(0, MAX_WINDOW_PROBES);
    limit = leaves[leaves.length - 1]!;
  }
  let sorted = leaves; // already sorted, distinct and ≤ limit
  if (anchors.length > 0) {
    // The doubling minute probes exist only for *_ago rules (bounded: ~11 up to the 24h horizon).
    const probes = new Set<number>(leaves);
    for (let step = MINUTE_MS; now + step < limit; step *= 2) probes.add(now + step);
    probes.add(limit);
    sorted = [...probes].filter((t) => t <= limit).sort((a, b) => a - b);
  }
  const m0 = memberAt(now);
  let prev = now;
  for (const p of sorted) {
    if (memberAt(p) === m0) {
      prev = p;
      continue;
    }
    // Refine within (prev, p) on the *_ago change points.
    const grid = new Set<number>();
    for (const { since, unitMs } of anchors) {
      const k0 = Math.max(1, Math.floor((prev - since) / unitMs) + 1);
      for (let t = since + k0 * unitMs; t < p; t += unitMs) if (t > prev) grid.add(t);
    }
    const g = [...grid].sort((a, b) => a - b);
    let lo = 0;
    let hi = g.length; // first index whose membership differs; g.length means p itself
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (memberAt(g[mid]!) !== m0) hi = mid;
      else lo = mid + 1;
    }
    return { dueAt: lo < g.length ? g[lo]! : p, movable: true };
  }
  // No change within the probed range; if probing was truncated, re-check at its end.
  return { dueAt: limit < now + horizon ? limit : null, movable: true };
}

/**
 * Earliest instant > now at which any segment's membership could change only because time passed;
 * capped at now + 24h when some time-dependent segment could move for this profile; null otherwise.
 */
export function nextDueAt(state: ProfileState, plan: Plan, now: number, view?: ProfileView): number | null {
  const views = new Map<number, ProfileView>();
  views.set(now, view ?? profileView(state, plan, now));
  const viewAt = (t: number): ProfileView => {
    let v = views.get(t);
    if (v === undefined) {
      v = profileView(state, plan, t);
      views.set(t, v);
    }
    return v;
  };
  let due: number | null = null;
  let movable = false;
  for (const seg of plan.segments) {
    const r = segmentDueAt(state, seg, now, (t) => viewAt(t).segment(seg.key) === true);
    movable = movable || r.movable;
    if (r.dueAt !== null && (due === null || r.dueAt < due)) due = r.dueAt;
  }
  if (!movable) return null;
  const cap = now + DUE_HORIZON_MS;
  return due === null || due > cap ? cap : due;
}
