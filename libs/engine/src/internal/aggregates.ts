/**
 * Reading an aggregate from profile state at an instant. Empty values: count, unique_days, sum and
 * distinct_count of nothing are 0; avg, min, max and last of nothing are null; *_ago of a never-seen
 * event is null. Unknown metric kinds read as null.
 */
import type { AggregateRef, Value, Window } from '@tinycdp/dsl';
import { propertyIdOf, seriesIdOf } from '../plan';
import type { ProfileState, SeriesState } from '../state';
import { DAY_MS, UNIT_MS, daysAgo, minutesAgo } from '../window';

interface RefIds {
  readonly series: string;
  readonly prop: string | null;
}
const idCache = new WeakMap<AggregateRef, RefIds>();

/** Series and property ids of a ref (cached per ref object). */
export function refIds(ref: AggregateRef): RefIds {
  let ids = idCache.get(ref);
  if (ids === undefined) {
    ids = {
      series: seriesIdOf(ref.event, ref.filter?.id ?? null),
      prop: 'property' in ref.metric ? propertyIdOf(ref.metric.property) : null,
    };
    idCache.set(ref, ids);
  }
  return ids;
}

/** True when the ref reads the profile-wide first/last seen. */
export function isGlobalSeen(ref: AggregateRef): boolean {
  return ref.event === null && ref.filter === null;
}

/** Buckets of one record sorted by index, newest first, as parallel arrays. */
export interface SortedBuckets<T> {
  readonly idx: readonly number[];
  readonly vals: readonly T[];
}

const sortedCache = new WeakMap<object, SortedBuckets<unknown>>();

/** Bucket entries sorted by index, newest first; cached per record object (states are not mutated
 *  once built: every engine function copies a record before changing it). */
export function sortedBuckets<T>(rec: Readonly<Record<string, T>>): SortedBuckets<T> {
  let sorted = sortedCache.get(rec) as SortedBuckets<T> | undefined;
  if (sorted === undefined) {
    let idx: number[] = [];
    let vals: T[] = [];
    let ascending = true;
    let prev = Number.NEGATIVE_INFINITY;
    for (const k in rec) {
      const b = Number(k);
      if (!(b > prev)) ascending = false;
      prev = b;
      idx.push(b);
      vals.push(rec[k]!);
    }
    if (ascending) {
      // Non-negative integer keys (the usual case) already enumerate in ascending order.
      idx.reverse();
      vals.reverse();
    } else {
      const order = idx.map((_, i) => i).sort((a, b) => idx[b]! - idx[a]!);
      vals = order.map((i) => vals[i]!);
      idx = order.map((i) => idx[i]!);
    }
    sorted = { idx, vals };
    sortedCache.set(rec, sorted);
  }
  return sorted;
}

const EMPTY: SortedBuckets<never> = { idx: [], vals: [] };

/** Sorted buckets of `rec` (empty when absent) and the oldest bucket index of `window` at `now`. */
function windowed<T>(rec: Readonly<Record<string, T>> | undefined): SortedBuckets<T> {
  return rec === undefined ? EMPTY : sortedBuckets(rec);
}

function windowFrom(window: Window, now: number): number {
  return Math.floor(now / UNIT_MS[window.unit]) - window.n + 1;
}

/**
 * What of `now` an aggregate's value depends on: the oldest bucket of its window (windowed metrics),
 * 0 for `last` (no dependence), null when it changes continuously with `now` (`*_ago`, unknown kinds).
 * Two instants with the same position read the same value from the same state.
 */
export function windowPosition(ref: AggregateRef, now: number): number | null {
  const m = ref.metric;
  switch (m.kind) {
    case 'count':
    case 'unique_days':
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
    case 'distinct_count':
      return windowFrom(m.window, now);
    case 'last':
      return 0;
    default:
      return null;
  }
}

/** Value of an aggregate for `state` at instant `now`. Never throws. */
export function readAggregate(state: ProfileState, ref: AggregateRef, now: number): Value {
  const m = ref.metric;
  const ids = refIds(ref);
  const s: SeriesState | undefined = state.series[ids.series];
  switch (m.kind) {
    case 'last_seen_minutes_ago': {
      const since = isGlobalSeen(ref) ? state.lastSeen : (s?.lastSeen ?? null);
      return since === null ? null : minutesAgo(since, now);
    }
    case 'first_seen_days_ago': {
      const since = isGlobalSeen(ref) ? state.firstSeen : (s?.firstSeen ?? null);
      return since === null ? null : daysAgo(since, now);
    }
    case 'count': {
      const { idx, vals } = windowed(s?.counts[m.window.unit]);
      const from = windowFrom(m.window, now);
      let c = 0;
      for (let i = 0; i < idx.length && !(idx[i]! < from); i++) c += vals[i]!;
      return c;
    }
    case 'unique_days': {
      const { idx, vals } = windowed(s?.counts[m.window.unit]);
      const from = windowFrom(m.window, now);
      const unitMs = UNIT_MS[m.window.unit];
      const days = new Set<number>();
      for (let i = 0; i < idx.length && !(idx[i]! < from); i++) {
        if (vals[i]! > 0) days.add(Math.floor((idx[i]! * unitMs) / DAY_MS));
      }
      return days.size;
    }
    case 'sum':
    case 'avg':
    case 'min':
    case 'max': {
      const ps = ids.prop === null ? undefined : s?.props[ids.prop];
      const { idx, vals } = windowed(ps?.num[m.window.unit]);
      const from = windowFrom(m.window, now);
      let n = 0;
      let sum = 0;
      let min: number | null = null;
      let max: number | null = null;
      for (let i = 0; i < idx.length && !(idx[i]! < from); i++) {
        const st = vals[i]!;
        n += st.n;
        sum += st.sum;
        min = min === null ? st.min : Math.min(min, st.min);
        max = max === null ? st.max : Math.max(max, st.max);
      }
      return m.kind === 'sum' ? sum : m.kind === 'avg' ? (n === 0 ? null : sum / n) : m.kind === 'min' ? min : max;
    }
    case 'distinct_count': {
      const ps = ids.prop === null ? undefined : s?.props[ids.prop];
      const { idx, vals } = windowed(ps?.distinct[m.window.unit]);
      const from = windowFrom(m.window, now);
      const all = new Set<string>();
      for (let i = 0; i < idx.length && !(idx[i]! < from); i++) for (const h of vals[i]!) all.add(h);
      return all.size;
    }
    case 'last': {
      const ps = ids.prop === null ? undefined : s?.props[ids.prop];
      return ps?.last?.value ?? null;
    }
    default:
      return null;
  }
}
