/**
 * Reading an aggregate from profile state at an instant. Empty values: count, unique_days, sum and
 * distinct_count of nothing are 0; avg, min, max and last of nothing are null; *_ago of a never-seen
 * event is null. Unknown metric kinds read as null.
 */
import type { AggregateRef, Value, Window } from '@tinycdp/dsl';
import { propertyIdOf, seriesIdOf } from '../plan';
import type { ProfileState, PropertyState, SeriesState } from '../state';
import { DAY_MS, UNIT_MS, daysAgo, minutesAgo, windowRange } from '../window';

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

const entriesCache = new WeakMap<object, readonly (readonly [number, unknown])[]>();

/** Bucket entries sorted by index, newest first; cached per record object (states are not mutated
 *  once built, and every engine function copies before changing). */
export function bucketEntries<T>(rec: Readonly<Record<string, T>>): readonly (readonly [number, T])[] {
  let list = entriesCache.get(rec) as (readonly [number, T])[] | undefined;
  if (list === undefined) {
    list = Object.keys(rec)
      .map((k) => [Number(k), rec[k]!] as const)
      .sort((a, b) => b[0] - a[0]);
    entriesCache.set(rec, list);
  }
  return list;
}

function inWindow<T>(rec: Readonly<Record<string, T>> | undefined, window: Window, now: number): (readonly [number, T])[] {
  if (rec === undefined) return [];
  const { from } = windowRange(window, now);
  const out: (readonly [number, T])[] = [];
  for (const e of bucketEntries(rec)) {
    if (e[0] < from) break;
    out.push(e);
  }
  return out;
}

function numeric(ps: PropertyState | undefined, window: Window, now: number): { n: number; sum: number; min: number | null; max: number | null } {
  let n = 0;
  let sum = 0;
  let min: number | null = null;
  let max: number | null = null;
  for (const [, st] of inWindow(ps?.num[window.unit], window, now)) {
    n += st.n;
    sum += st.sum;
    min = min === null ? st.min : Math.min(min, st.min);
    max = max === null ? st.max : Math.max(max, st.max);
  }
  return { n, sum, min, max };
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
      let c = 0;
      for (const [, v] of inWindow(s?.counts[m.window.unit], m.window, now)) c += v;
      return c;
    }
    case 'unique_days': {
      const days = new Set<number>();
      const unitMs = UNIT_MS[m.window.unit];
      for (const [b, v] of inWindow(s?.counts[m.window.unit], m.window, now)) {
        if (v > 0) days.add(Math.floor((b * unitMs) / DAY_MS));
      }
      return days.size;
    }
    case 'sum':
      return numeric(ids.prop === null ? undefined : s?.props[ids.prop], m.window, now).sum;
    case 'avg': {
      const r = numeric(ids.prop === null ? undefined : s?.props[ids.prop], m.window, now);
      return r.n === 0 ? null : r.sum / r.n;
    }
    case 'min':
      return numeric(ids.prop === null ? undefined : s?.props[ids.prop], m.window, now).min;
    case 'max':
      return numeric(ids.prop === null ? undefined : s?.props[ids.prop], m.window, now).max;
    case 'distinct_count': {
      const ps = ids.prop === null ? undefined : s?.props[ids.prop];
      const all = new Set<string>();
      for (const [, list] of inWindow(ps?.distinct[m.window.unit], m.window, now)) for (const h of list) all.add(h);
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
