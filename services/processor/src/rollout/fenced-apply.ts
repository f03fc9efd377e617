/**
 * Engine helpers the rollout needs on top of `applyEvents` / `mergeProfiles`. Pure.
 *
 * Two rules make a live plan change safe while a backfill runs:
 * - per-event series skips: an event below a series' fence belongs to the backfill, so the live path
 *   applies every other series to it but leaves that one alone;
 * - series the plan does not know are kept: an instance still running an older plan (or a batch that
 *   started before the plan changed) must not drop a newer series that the live path or a backfill
 *   already holds. Series of deleted definitions are pruned by the rollout pass instead.
 */
import { applyEvents, emptyProfile, mergeProfiles, type Plan, type ProfileState, type SeriesState } from '@tinycdp/engine';
import type { CdpEvent } from '@tinycdp/events';

/** Series to leave untouched, by event messageId (absent: apply every series of the plan). */
export type SeriesSkips = ReadonlyMap<string, ReadonlySet<string>>;

const restricted = new WeakMap<Plan, Map<string, Plan>>();

/** The plan with only the given series (and, with `noProfile`, no profile paths); cached per plan. */
export function planWithSeries(plan: Plan, ids: ReadonlySet<string>, noProfile = false): Plan {
  const key = `${noProfile ? 'n' : 'p'}|${[...ids].sort().join(',')}`;
  let byKey = restricted.get(plan);
  if (!byKey) restricted.set(plan, (byKey = new Map()));
  let p = byKey.get(key);
  if (!p) {
    const series = plan.series.filter((s) => ids.has(s.id));
    p = { ...plan, series, seriesById: new Map(series.map((s) => [s.id, s])), ...(noProfile ? { profilePaths: [] } : {}) };
    byKey.set(key, p);
  }
  return p;
}

const skipKey = (s: ReadonlySet<string> | undefined): string => (s && s.size > 0 ? [...s].sort().join(',') : '');

/** Puts back the series of `before` that `plan` does not know and `after` lost (mutates `after`). */
export function keepUnknownSeries(before: ProfileState, after: ProfileState, plan: Plan): ProfileState {
  for (const [id, s] of Object.entries(before.series)) {
    if (!plan.seriesById.has(id) && after.series[id] === undefined) after.series[id] = structuredClone(s);
  }
  return after;
}

/**
 * `applyEvents`, except that (1) series in an event's skip set are not applied to that event, and
 * (2) series unknown to the plan are kept. Consecutive events with the same skip set are applied
 * together, so the common case (no skips) is one `applyEvents` call.
 */
export function applyEventsFenced(
  state: ProfileState,
  events: readonly CdpEvent[],
  plan: Plan,
  now: number,
  skips?: SeriesSkips,
): ProfileState {
  if (events.length === 0) return state;
  if (skips === undefined || skips.size === 0) return keepUnknownSeries(state, applyEvents(state, events, plan, now), plan);
  let next = state;
  for (let i = 0; i < events.length; ) {
    const skip = skips?.get(events[i]!.messageId);
    const key = skipKey(skip);
    let j = i + 1;
    while (j < events.length && skipKey(skips?.get(events[j]!.messageId)) === key) j++;
    const group = events.slice(i, j);
    if (key === '') {
      next = applyEvents(next, group, plan, now);
    } else {
      const held: [string, SeriesState][] = [];
      for (const id of skip!) if (next.series[id] !== undefined) held.push([id, next.series[id]!]);
      const without = new Set(plan.series.map((s) => s.id).filter((id) => !skip!.has(id)));
      next = applyEvents(next, group, planWithSeries(plan, without), now);
      for (const [id, s] of held) next.series[id] = structuredClone(s);
    }
    i = j;
  }
  return keepUnknownSeries(state, next, plan);
}

/** `mergeProfiles` that keeps series unknown to the plan (see the module comment). */
export function mergeProfilesKeeping(target: ProfileState, source: ProfileState, plan: Plan, now: number): ProfileState {
  return keepUnknownSeries(target, mergeProfiles(target, source, plan, now), plan);
}

/**
 * The backfill's scratch: `series` of the plan rebuilt from `events` alone (one series at a time, so
 * each series sees exactly its own events). Series with nothing inside their windows are absent.
 */
export function rebuildSeries(
  id: string,
  eventsBySeries: ReadonlyMap<string, readonly CdpEvent[]>,
  plan: Plan,
  now: number,
): Record<string, SeriesState> {
  const out: Record<string, SeriesState> = {};
  for (const [sid, events] of eventsBySeries) {
    if (!plan.seriesById.has(sid) || events.length === 0) continue;
    const s = applyEvents(emptyProfile(id), events, planWithSeries(plan, new Set([sid]), true), now).series[sid];
    if (s !== undefined) out[sid] = s;
  }
  return out;
}

/** Adds rebuilt series into a stored state (counts and stats summed, distinct unioned, seen min/max). */
export function mergeSeriesInto(state: ProfileState, series: Record<string, SeriesState>, plan: Plan, now: number): ProfileState {
  const source: ProfileState = { ...emptyProfile(state.id), series };
  return mergeProfilesKeeping(state, source, plan, now);
}
