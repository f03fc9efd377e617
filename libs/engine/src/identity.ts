/**
 * Identity: merging an anonymous profile into the identified one it turns out to be.
 */
import type { WindowUnit } from '@tinycdp/dsl';
import { capAnonymousIds, prunePlan } from './apply';
import type { Plan } from './plan';
import {
  DISTINCT_CAP,
  cloneJson,
  cloneProfile,
  type NumericStats,
  type ProfileState,
  type PropertyState,
  type SeriesState,
  type UnitBuckets,
} from './state';

/**
 * Whether `source` may be merged into `target`. Rule: only an anonymous profile (no userId) merges,
 * into a different profile; an identified profile never merges into another identified one (two
 * userIds are two people; an alias between them is recorded, not merged).
 */
export function canMerge(
  target: Pick<ProfileState, 'id'>,
  source: Pick<ProfileState, 'id' | 'userId'>,
): boolean {
  return source.userId === null && source.id !== target.id;
}

const minN = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
const maxN = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

function mergeUnits<T>(a: UnitBuckets<T>, b: UnitBuckets<T>, f: (x: T, y: T) => T): UnitBuckets<T> {
  const out: UnitBuckets<T> = cloneJson(a);
  for (const [unit, buckets] of Object.entries(b) as [WindowUnit, Record<string, T>][]) {
    const dst = (out[unit] ??= {});
    for (const [k, v] of Object.entries(buckets)) {
      const prev = dst[k];
      dst[k] = prev === undefined ? cloneJson(v) : f(prev, v);
    }
  }
  return out;
}

const mergeStats = (x: NumericStats, y: NumericStats): NumericStats => ({
  n: x.n + y.n,
  sum: x.sum + y.sum,
  min: Math.min(x.min, y.min),
  max: Math.max(x.max, y.max),
});

const mergeDistinct = (x: string[], y: string[]): string[] => {
  const out = [...x];
  for (const h of y) if (!out.includes(h) && out.length < DISTINCT_CAP) out.push(h);
  return out.sort();
};

function mergeProperty(a: PropertyState, b: PropertyState): PropertyState {
  return {
    num: mergeUnits(a.num, b.num, mergeStats),
    distinct: mergeUnits(a.distinct, b.distinct, mergeDistinct),
    last: a.last === null ? b.last : b.last === null ? a.last : b.last.at > a.last.at ? b.last : a.last,
  };
}

function mergeSeries(a: SeriesState, b: SeriesState): SeriesState {
  const props: Record<string, PropertyState> = cloneJson(a.props);
  for (const [id, p] of Object.entries(b.props)) {
    const prev = props[id];
    props[id] = prev === undefined ? cloneJson(p) : mergeProperty(prev, p);
  }
  return {
    counts: mergeUnits(a.counts, b.counts, (x, y) => x + y),
    props,
    firstSeen: minN(a.firstSeen, b.firstSeen),
    lastSeen: maxN(a.lastSeen, b.lastSeen),
  };
}

/**
 * Merges `source` (an anonymous profile) into `target`: bucket counts and property statistics are
 * summed (distinct sets unioned, capped), first-seen takes the minimum and last-seen the maximum,
 * `last` values the later one; profile properties of the target win where both have the path; the
 * source id (if anonymous) and its linked ids are recorded as linked. The target keeps its id,
 * version, sequence, traits and memberships (re-evaluate with reason 'merge' afterwards; exit the
 * source's memberships with `retireProfile`). Data the plan does not use is dropped; with `now`,
 * buckets older than the longest windows are trimmed too.
 * Pure. Throws no error; check `canMerge` first (it is not enforced here).
 */
export function mergeProfiles(target: ProfileState, source: ProfileState, plan: Plan, now?: number): ProfileState {
  const out = cloneProfile(target);
  out.userId = target.userId ?? source.userId;
  out.firstSeen = minN(target.firstSeen, source.firstSeen);
  out.lastSeen = maxN(target.lastSeen, source.lastSeen);
  for (const [id, s] of Object.entries(source.series)) {
    const prev = out.series[id];
    out.series[id] = prev === undefined ? cloneJson(s) : mergeSeries(prev, s);
  }
  for (const [k, v] of Object.entries(source.properties)) {
    if (out.properties[k] === undefined) out.properties[k] = cloneJson(v);
  }
  const linkedAt = source.firstSeen ?? target.lastSeen ?? 0;
  if (source.userId === null && source.id !== target.id) {
    out.anonymousIds[source.id] = Math.min(out.anonymousIds[source.id] ?? linkedAt, linkedAt);
  }
  for (const [id, t] of Object.entries(source.anonymousIds)) {
    if (id === target.id) continue;
    out.anonymousIds[id] = Math.min(out.anonymousIds[id] ?? t, t);
  }
  capAnonymousIds(out);
  return prunePlan(out, plan, now ?? null);
}

