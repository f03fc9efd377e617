/**
 * Folding events into profile state. Pure: returns a new state, never mutates its input.
 */
import type { Json } from '@tinycdp/common';
import type { EventView, WindowUnit } from '@tinycdp/dsl';
import type { CdpEvent } from '@tinycdp/events';
import { fnv1a32 } from './internal/hash';
import { asNumber, canonicalJson, getPath, pathKey, toJson } from './internal/json';
import type { Plan, PropertySpec, SeriesSpec } from './plan';
import {
  ANONYMOUS_IDS_CAP,
  DISTINCT_CAP,
  cloneProfile,
  type ProfileState,
  type PropertyState,
  type SeriesState,
  type UnitBuckets,
} from './state';
import { bucketIndex, oldestKeptBucket } from './window';

/**
 * The name `events.<name>` matches: track → `event`; page → "Page Viewed"; screen → "Screen Viewed";
 * identify, group and alias have no event name (they update only first/last seen and, for identify,
 * profile properties).
 */
export function eventNameOf(e: CdpEvent): string | null {
  switch (e.type) {
    case 'track':
      return e.event;
    case 'page':
      return 'Page Viewed';
    case 'screen':
      return 'Screen Viewed';
    case 'identify':
    case 'group':
    case 'alias':
      return null;
    default:
      return null;
  }
}

/** The view `where(...)` filters and property paths read: the event with `event` set to its name. */
export function eventViewOf(e: CdpEvent): EventView {
  return { ...e, event: eventNameOf(e) } as unknown as EventView;
}

/** Effective event time in ms: `timestamp`, else `receivedAt`, else null (event ignored for time). */
export function eventTimeOf(e: CdpEvent): number | null {
  const t = Date.parse(e.timestamp);
  if (Number.isFinite(t)) return t;
  const r = Date.parse(e.receivedAt);
  return Number.isFinite(r) ? r : null;
}

function seriesMatches(spec: SeriesSpec, name: string | null, e: CdpEvent, view: () => EventView): boolean {
  if (spec.event !== null) {
    if (name !== spec.event) return false;
  } else if (e.type === 'alias') {
    return false;
  }
  if (spec.filter === null) return true;
  try {
    return spec.filter.test(view()) === true;
  } catch {
    return false;
  }
}

function bump<T>(rec: UnitBuckets<T>, unit: WindowUnit, key: string, f: (prev: T | undefined) => T): void {
  const buckets = (rec[unit] ??= {});
  buckets[key] = f(buckets[key]);
}

function emptySeries(): SeriesState {
  return { counts: {}, props: {}, firstSeen: null, lastSeen: null };
}

function emptyProperty(): PropertyState {
  return { num: {}, distinct: {}, last: null };
}

/** Short hash of a distinct value (its canonical JSON). */
export function distinctHash(v: Json): string {
  return fnv1a32(canonicalJson(v)).toString(36);
}

function applyToSeries(
  s: SeriesState,
  spec: SeriesSpec,
  view: EventView,
  ts: number,
  keep: ReadonlyMap<WindowUnit, number>,
): void {
  if (spec.seen) {
    s.firstSeen = s.firstSeen === null ? ts : Math.min(s.firstSeen, ts);
    s.lastSeen = s.lastSeen === null ? ts : Math.max(s.lastSeen, ts);
  }
  const keys = new Map<WindowUnit, string | null>();
  for (const [unit, oldest] of keep) {
    const b = bucketIndex(ts, unit);
    keys.set(unit, b >= oldest ? String(b) : null);
  }
  for (const unit of Object.keys(spec.units) as WindowUnit[]) {
    const k = keys.get(unit);
    if (k) bump(s.counts, unit, k, (p) => (p ?? 0) + 1);
  }
  for (const p of spec.props) applyToProperty(s, p, view, ts, keys);
}

function applyToProperty(
  s: SeriesState,
  spec: PropertySpec,
  view: EventView,
  ts: number,
  keys: ReadonlyMap<WindowUnit, string | null>,
): void {
  const raw = getPath(view, spec.path);
  if (raw === undefined) return;
  const value = toJson(raw);
  const ps = (s.props[spec.id] ??= emptyProperty());
  if (spec.last && (ps.last === null || ts >= ps.last.at)) ps.last = { at: ts, value };
  const num = asNumber(raw);
  if (num !== null) {
    for (const unit of spec.numericUnits) {
      const k = keys.get(unit);
      if (!k) continue;
      bump(ps.num, unit, k, (prev) =>
        prev === undefined
          ? { n: 1, sum: num, min: num, max: num }
          : { n: prev.n + 1, sum: prev.sum + num, min: Math.min(prev.min, num), max: Math.max(prev.max, num) },
      );
    }
  }
  if (value !== null) {
    const h = distinctHash(value);
    for (const unit of spec.distinctUnits) {
      const k = keys.get(unit);
      if (!k) continue;
      bump(ps.distinct, unit, k, (prev) => {
        const list = prev ?? [];
        if (list.includes(h) || list.length >= DISTINCT_CAP) return list;
        return [...list, h].sort();
      });
    }
  }
}

function applyIdentify(state: ProfileState, e: CdpEvent, ts: number, plan: Plan): void {
  const traits = e.traits ?? {};
  for (const path of plan.profilePaths) {
    const top = path[0];
    if (top === undefined || !Object.prototype.hasOwnProperty.call(traits, top)) continue;
    const key = pathKey(path);
    const prev = state.properties[key];
    if (prev !== undefined && prev.at > ts) continue; // an older identify does not overwrite a newer one
    state.properties[key] = { at: ts, value: toJson(getPath(traits, path)) };
  }
}

function linkAnonymous(state: ProfileState, anonymousId: string, ts: number): void {
  const prev = state.anonymousIds[anonymousId];
  state.anonymousIds[anonymousId] = prev === undefined ? ts : Math.min(prev, ts);
  capAnonymousIds(state);
}

/** Keeps the ANONYMOUS_IDS_CAP most recently linked ids (ties by id). */
export function capAnonymousIds(state: ProfileState): void {
  const entries = Object.entries(state.anonymousIds);
  if (entries.length <= ANONYMOUS_IDS_CAP) return;
  entries.sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  state.anonymousIds = Object.fromEntries(entries.slice(0, ANONYMOUS_IDS_CAP));
}

/**
 * Folds events into the state (pure; returns a new state).
 *
 * - Bucketing uses each event's `timestamp` (UTC buckets); profile properties and `last` values take
 *   the value with the latest timestamp (ties: later in the batch wins), so replays are deterministic.
 * - Only what the plan uses is updated: events that no definition reads change first/last seen only.
 *   Global first/last seen count every event except alias.
 * - Identify: `traits` update the profile paths the plan reads (a top-level trait that is present
 *   replaces the stored value; nested paths take the nested value or null).
 * - An event whose userId equals the profile id marks the profile identified (`userId`); an
 *   anonymousId different from the profile id is recorded as linked (capped, ANONYMOUS_IDS_CAP).
 * - Events older than a series' longest window add no bucket (only first/last seen); buckets older
 *   than the longest window at `now` are trimmed; series, properties and paths the plan no longer
 *   uses are dropped (see `prunePlan`).
 *
 * Never throws (filters that throw count as non-matching; events without a valid time are skipped).
 */
export function applyEvents(
  state: ProfileState,
  events: readonly CdpEvent[],
  plan: Plan,
  now: number,
): ProfileState {
  const next = cloneProfile(state);
  const keepBySeries = new Map<string, Map<WindowUnit, number>>();
  for (const spec of plan.series) {
    const keep = new Map<WindowUnit, number>();
    for (const [unit, n] of Object.entries(spec.units) as [WindowUnit, number][]) {
      keep.set(unit, oldestKeptBucket(unit, n, now));
    }
    keepBySeries.set(spec.id, keep);
  }

  for (const e of events) {
    const ts = eventTimeOf(e);
    if (ts === null) continue;
    if (e.userId !== null && e.userId === next.id) next.userId = e.userId;
    if (e.anonymousId !== null && e.anonymousId !== next.id && next.userId !== null) {
      linkAnonymous(next, e.anonymousId, ts);
    }
    if (e.type === 'alias') continue;
    next.firstSeen = next.firstSeen === null ? ts : Math.min(next.firstSeen, ts);
    next.lastSeen = next.lastSeen === null ? ts : Math.max(next.lastSeen, ts);
    if (e.type === 'identify') applyIdentify(next, e, ts, plan);

    const name = eventNameOf(e);
    let view: EventView | null = null;
    const getView = (): EventView => (view ??= eventViewOf(e));
    for (const spec of plan.series) {
      if (!seriesMatches(spec, name, e, getView)) continue;
      const s = (next.series[spec.id] ??= emptySeries());
      applyToSeries(s, spec, getView(), ts, keepBySeries.get(spec.id)!);
    }
  }
  return prunePlan(next, plan, now);
}

function trimUnits<T>(rec: UnitBuckets<T>, keep: ReadonlyMap<WindowUnit, number>, allowed: readonly WindowUnit[] | null): UnitBuckets<T> {
  const out: UnitBuckets<T> = {};
  for (const [unit, buckets] of Object.entries(rec) as [WindowUnit, Record<string, T>][]) {
    const oldest = keep.get(unit);
    if (oldest === undefined || (allowed !== null && !allowed.includes(unit))) continue;
    const kept: Record<string, T> = {};
    let any = false;
    for (const [k, v] of Object.entries(buckets)) {
      if (Number(k) >= oldest) {
        kept[k] = v;
        any = true;
      }
    }
    if (any) out[unit] = kept;
  }
  return out;
}

/**
 * Brings a state to the plan at `now`: trims buckets older than each series' longest window (not when
 * `now` is null), drops series, units, properties and profile paths the plan does not use, and removes
 * empty records (canonical form). Mutates and returns `state` (callers pass a copy).
 */
export function prunePlan(state: ProfileState, plan: Plan, now: number | null): ProfileState {
  const series: Record<string, SeriesState> = {};
  for (const spec of plan.series) {
    const s = state.series[spec.id];
    if (s === undefined) continue;
    const keep = new Map<WindowUnit, number>();
    for (const [unit, n] of Object.entries(spec.units) as [WindowUnit, number][]) {
      keep.set(unit, now === null ? Number.NEGATIVE_INFINITY : oldestKeptBucket(unit, n, now));
    }
    const props: Record<string, PropertyState> = {};
    for (const p of spec.props) {
      const ps = s.props[p.id];
      if (ps === undefined) continue;
      const np: PropertyState = {
        num: trimUnits(ps.num, keep, p.numericUnits),
        distinct: trimUnits(ps.distinct, keep, p.distinctUnits),
        last: p.last ? ps.last : null,
      };
      if (Object.keys(np.num).length > 0 || Object.keys(np.distinct).length > 0 || np.last !== null) props[p.id] = np;
    }
    const ns: SeriesState = {
      counts: trimUnits(s.counts, keep, null),
      props,
      firstSeen: spec.seen ? s.firstSeen : null,
      lastSeen: spec.seen ? s.lastSeen : null,
    };
    if (
      Object.keys(ns.counts).length > 0 ||
      Object.keys(ns.props).length > 0 ||
      ns.firstSeen !== null ||
      ns.lastSeen !== null
    ) {
      series[spec.id] = ns;
    }
  }
  state.series = series;
  const used = new Set(plan.profilePaths.map(pathKey));
  const properties: ProfileState['properties'] = {};
  for (const [k, v] of Object.entries(state.properties)) if (used.has(k)) properties[k] = v;
  state.properties = properties;
  return state;
}
