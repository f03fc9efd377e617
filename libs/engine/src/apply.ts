/**
 * Folding events into profile state. Pure: returns a new state, never mutates its input.
 */
import type { Json } from '@tinycdp/common';
import type { EventView, WindowUnit } from '@tinycdp/dsl';
import { parseIsoTime, type CdpEvent } from '@tinycdp/events';
import { fnv1a32 } from './internal/hash';
import { asNumber, canonicalJson, getPath, pathKey, toJson } from './internal/json';
import type { Plan, PropertySpec, SeriesSpec } from './plan';
import {
  ANONYMOUS_IDS_CAP,
  DISTINCT_CAP,
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
export function eventNameOf(e: Pick<CdpEvent, 'type' | 'event'>): string | null {
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

/**
 * The view `where(...)` filters and property paths read: the event with `event` set to its name. A
 * track event already is its view (views are only read), so only page, screen and the others are copied.
 */
export function eventViewOf(e: CdpEvent): EventView {
  const name = eventNameOf(e);
  return (name === e.event ? e : { ...e, event: name }) as unknown as EventView;
}

/** Effective event time in ms: `timestamp`, else `receivedAt`, else null (event ignored for time). */
export function eventTimeOf(e: CdpEvent): number | null {
  const t = parseIsoTime(e.timestamp);
  if (Number.isFinite(t)) return t;
  const r = parseIsoTime(e.receivedAt);
  return Number.isFinite(r) ? r : null;
}

/** Per-plan lookups, computed once per plan object (plans are shared read-only). */
interface PlanInfo {
  /** `Object.entries(spec.units)` per series, in plan order. */
  readonly units: readonly (readonly [WindowUnit, number])[][];
  /** `pathKey` of each profile path, aligned with `plan.profilePaths`. */
  readonly pathKeys: readonly string[];
  readonly usedPaths: ReadonlySet<string>;
}
const planInfos = new WeakMap<Plan, PlanInfo>();

function planInfo(plan: Plan): PlanInfo {
  let info = planInfos.get(plan);
  if (info === undefined) {
    const pathKeys = plan.profilePaths.map(pathKey);
    info = {
      units: plan.series.map((spec) => Object.entries(spec.units) as [WindowUnit, number][]),
      pathKeys,
      usedPaths: new Set(pathKeys),
    };
    planInfos.set(plan, info);
  }
  return info;
}

/** Oldest kept bucket per unit of a series at `now` (only the units the series keeps). */
type Keep = Partial<Record<WindowUnit, number>>;

function keepAt(units: readonly (readonly [WindowUnit, number])[], now: number | null): Keep {
  const keep: Keep = {};
  for (const [unit, n] of units) keep[unit] = now === null ? Number.NEGATIVE_INFINITY : oldestKeptBucket(unit, n, now);
  return keep;
}

function filterMatches(spec: SeriesSpec, view: EventView): boolean {
  try {
    return spec.filter!.test(view) === true;
  } catch {
    return false;
  }
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

/**
 * Copy-on-write over the input state: series, properties and bucket records of the input are shared
 * until first written, then copied once (the input is never mutated, and untouched records are not
 * copied at all). `owned` holds every object created during this call.
 */
class Writer {
  private readonly owned = new Set<object>();

  /** The series `id` of `next`, owned (copied or created). */
  series(next: ProfileState, id: string): SeriesState {
    const s = next.series[id];
    if (s !== undefined && this.owned.has(s)) return s;
    const own: SeriesState =
      s === undefined ? emptySeries() : { counts: { ...s.counts }, props: { ...s.props }, firstSeen: s.firstSeen, lastSeen: s.lastSeen };
    this.owned.add(own);
    next.series[id] = own;
    return own;
  }

  /** The property `id` of an owned series, owned. */
  property(s: SeriesState, id: string): PropertyState {
    const p = s.props[id];
    if (p !== undefined && this.owned.has(p)) return p;
    const own: PropertyState = p === undefined ? emptyProperty() : { num: { ...p.num }, distinct: { ...p.distinct }, last: p.last };
    this.owned.add(own);
    s.props[id] = own;
    return own;
  }

  /** The bucket record of `unit` in an owned per-unit container, owned. */
  buckets<T>(rec: UnitBuckets<T>, unit: WindowUnit): Record<string, T> {
    const b = rec[unit];
    if (b !== undefined && this.owned.has(b)) return b;
    const own: Record<string, T> = {};
    if (b !== undefined) {
      const keys = Object.keys(b);
      for (let i = 0; i < keys.length; i++) own[keys[i]!] = b[keys[i]!]!;
    }
    this.owned.add(own);
    rec[unit] = own;
    return own;
  }
}

/** Bucket index of `ts` in `unit` when kept, else null. */
function keptBucket(keep: Keep, unit: WindowUnit, ts: number): number | null {
  const oldest = keep[unit];
  if (oldest === undefined) return null;
  const b = bucketIndex(ts, unit);
  return b >= oldest ? b : null;
}

function applyToSeries(
  w: Writer,
  s: SeriesState,
  spec: SeriesSpec,
  units: readonly (readonly [WindowUnit, number])[],
  view: EventView,
  ts: number,
  keep: Keep,
): void {
  if (spec.seen) {
    s.firstSeen = s.firstSeen === null ? ts : Math.min(s.firstSeen, ts);
    s.lastSeen = s.lastSeen === null ? ts : Math.max(s.lastSeen, ts);
  }
  for (const [unit] of units) {
    const k = keptBucket(keep, unit, ts);
    if (k === null) continue;
    const rec = w.buckets(s.counts, unit);
    rec[k] = (rec[k] ?? 0) + 1;
  }
  for (const p of spec.props) applyToProperty(w, s, p, view, ts, keep);
}

function applyToProperty(
  w: Writer,
  s: SeriesState,
  spec: PropertySpec,
  view: EventView,
  ts: number,
  keep: Keep,
): void {
  const raw = getPath(view, spec.path);
  if (raw === undefined) return;
  const ps = w.property(s, spec.id);
  const value = spec.last || spec.distinctUnits.length > 0 ? toJson(raw) : null;
  if (spec.last && (ps.last === null || ts >= ps.last.at)) ps.last = { at: ts, value };
  if (spec.numericUnits.length > 0) {
    const num = asNumber(raw);
    if (num !== null) {
      for (const unit of spec.numericUnits) {
        const k = keptBucket(keep, unit, ts);
        if (k === null) continue;
        const rec = w.buckets(ps.num, unit);
        const prev = rec[k];
        rec[k] =
          prev === undefined
            ? { n: 1, sum: num, min: num, max: num }
            : { n: prev.n + 1, sum: prev.sum + num, min: Math.min(prev.min, num), max: Math.max(prev.max, num) };
      }
    }
  }
  if (value !== null && spec.distinctUnits.length > 0) {
    const h = distinctHash(value);
    for (const unit of spec.distinctUnits) {
      const k = keptBucket(keep, unit, ts);
      if (k === null) continue;
      const rec = w.buckets(ps.distinct, unit);
      const list = rec[k] ?? [];
      rec[k] = list.includes(h) || list.length >= DISTINCT_CAP ? list : [...list, h].sort();
    }
  }
}

function applyIdentify(state: ProfileState, e: CdpEvent, ts: number, plan: Plan, pathKeys: readonly string[]): void {
  const traits = e.traits ?? {};
  for (let i = 0; i < plan.profilePaths.length; i++) {
    const path = plan.profilePaths[i]!;
    const top = path[0];
    if (top === undefined || !Object.prototype.hasOwnProperty.call(traits, top)) continue;
    const key = pathKeys[i]!;
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
  const info = planInfo(plan);
  // Top-level records are always fresh; nested records are copied on first write (see Writer).
  const next: ProfileState = {
    id: state.id,
    version: state.version,
    userId: state.userId,
    sequence: state.sequence,
    planId: state.planId,
    firstSeen: state.firstSeen,
    lastSeen: state.lastSeen,
    series: { ...state.series },
    properties: { ...state.properties },
    traits: { ...state.traits },
    segments: { ...state.segments },
    anonymousIds: { ...state.anonymousIds },
  };
  const w = new Writer();
  let keeps: Keep[] | null = null;

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
    if (e.type === 'identify') applyIdentify(next, e, ts, plan, info.pathKeys);

    const name = eventNameOf(e);
    let view: EventView | null = null;
    for (let i = 0; i < plan.series.length; i++) {
      const spec = plan.series[i]!;
      if (spec.event !== null && name !== spec.event) continue; // (alias events never get here)
      view ??= eventViewOf(e);
      if (spec.filter !== null && !filterMatches(spec, view)) continue;
      keeps ??= info.units.map((u) => keepAt(u, now));
      applyToSeries(w, w.series(next, spec.id), spec, info.units[i]!, view, ts, keeps[i]!);
    }
  }
  return prunePlan(next, plan, now);
}

/** True for the array-index keys objects enumerate first, in ascending order: 0 … 2^32 − 2, canonical. */
function isIndexKey(k: string): boolean {
  const n = k.length;
  if (n === 0 || n > 10 || (n > 1 && k.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return n < 10 || Number(k) <= 4294967294;
}

/** Buckets of the allowed units at or after `keep`; records with nothing to drop are reused as is. */
function trimUnits<T>(rec: UnitBuckets<T>, keep: Keep, allowed: readonly WindowUnit[] | null): UnitBuckets<T> {
  const out: UnitBuckets<T> = {};
  for (const unit of Object.keys(rec) as WindowUnit[]) {
    const buckets = rec[unit]!;
    const oldest = keep[unit];
    if (oldest === undefined || (allowed !== null && !allowed.includes(unit))) continue;
    const keys = Object.keys(buckets);
    if (keys.length === 0) continue;
    let drop = false;
    let any = false;
    if (isIndexKey(keys[keys.length - 1]!)) {
      // Only index keys (they come before any other key), so ascending: look at both ends.
      any = Number(keys[keys.length - 1]) >= oldest;
      drop = Number(keys[0]) < oldest;
    } else {
      for (const k of keys) {
        if (Number(k) >= oldest) any = true;
        else drop = true;
      }
    }
    if (!any) continue;
    if (!drop) {
      out[unit] = buckets;
      continue;
    }
    const kept: Record<string, T> = {};
    for (const k of keys) if (Number(k) >= oldest) kept[k] = buckets[k]!;
    out[unit] = kept;
  }
  return out;
}

function isEmpty(rec: object): boolean {
  for (const k in rec) if (Object.prototype.hasOwnProperty.call(rec, k)) return false;
  return true;
}

/**
 * Brings a state to the plan at `now`: trims buckets older than each series' longest window (not when
 * `now` is null), drops series, units, properties and profile paths the plan does not use, and removes
 * empty records (canonical form). Mutates and returns `state` (callers pass a copy).
 */
export function prunePlan(state: ProfileState, plan: Plan, now: number | null): ProfileState {
  const info = planInfo(plan);
  const series: Record<string, SeriesState> = {};
  for (let i = 0; i < plan.series.length; i++) {
    const spec = plan.series[i]!;
    const s = state.series[spec.id];
    if (s === undefined) continue;
    const keep = keepAt(info.units[i]!, now);
    const props: Record<string, PropertyState> = {};
    for (const p of spec.props) {
      const ps = s.props[p.id];
      if (ps === undefined) continue;
      const np: PropertyState = {
        num: trimUnits(ps.num, keep, p.numericUnits),
        distinct: trimUnits(ps.distinct, keep, p.distinctUnits),
        last: p.last ? ps.last : null,
      };
      if (!isEmpty(np.num) || !isEmpty(np.distinct) || np.last !== null) props[p.id] = np;
    }
    const ns: SeriesState = {
      counts: trimUnits(s.counts, keep, null),
      props,
      firstSeen: spec.seen ? s.firstSeen : null,
      lastSeen: spec.seen ? s.lastSeen : null,
    };
    if (!isEmpty(ns.counts) || !isEmpty(ns.props) || ns.firstSeen !== null || ns.lastSeen !== null) {
      series[spec.id] = ns;
    }
  }
  state.series = series;
  const properties: ProfileState['properties'] = {};
  for (const k of Object.keys(state.properties)) if (info.usedPaths.has(k)) properties[k] = state.properties[k]!;
  state.properties = properties;
  return state;
}
