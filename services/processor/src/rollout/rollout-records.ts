/**
 * The rollout checkpoint (pure data + the diff between two plans). Kept as two JSON fields of one
 * small hash (`base`, `run`), written only by the lease holder after every batch, so a coordinator
 * that crashes resumes where the last one stopped.
 */
import type { Plan } from '@tinycdp/engine';

/** The last plan every profile was brought to. */
export interface BaseRecord {
  readonly planId: string;
  readonly series: readonly string[];
  readonly segments: readonly string[];
  /** `<kind>:<key>` → version, for traits and segments (which definitions a run changes). */
  readonly defs: Readonly<Record<string, number>>;
}

export type RunPhase = 'backfill' | 'reevaluate' | 'finish';

/** A rollout in progress: bringing every profile from `base` to the plan `planId`. */
export interface RunRecord {
  planId: string;
  startedAt: number;
  phase: RunPhase;
  /** Series of the target plan (an abandoned run's series are pruned if the next target drops them). */
  targetSeries: string[];
  targetSegments: string[];
  /** Series rebuilt from the events log (in the target, not in the base). */
  newSeries: string[];
  /** Series dropped from every profile (known before, not in the target). */
  pruneSeries: string[];
  /** Segments whose membership index is dropped at the end. */
  removedSegments: string[];
  /** Definitions (`<kind>:<key>`) new or changed since the base: their status is this run's. */
  affected: string[];
  /** Definitions of the base that the target no longer has (status removed at the end). */
  deleted: string[];
  /** Fence per series and partition: the backfill covers offsets below it. */
  fences: Record<string, Record<string, number>>;
  /** Next offset to backfill, per series and partition (absent: from the oldest retained). */
  next: Record<string, Record<string, number>>;
  /** The chunk being merged (re-read exactly after a crash, so dedupe ids match). */
  chunk: { partition: number; from: number; to: number } | null;
  eventsProcessed: number;
  eventsTotal: number;
  /** Profile scan cursor; null before the scan started, "0" once it ended. */
  cursor: string | null;
  processed: number;
  total: number;
}

export function baseOf(plan: Plan): BaseRecord {
  return {
    planId: plan.planId,
    series: plan.series.map((s) => s.id),
    segments: plan.segments.map((s) => s.key),
    defs: definitionVersions(plan),
  };
}

export function definitionVersions(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of plan.traits) out[`trait:${t.key}`] = t.version;
  for (const s of plan.segments) out[`segment:${s.key}`] = s.version;
  return out;
}

const minus = (a: Iterable<string>, b: Iterable<string>): string[] => {
  const drop = new Set(b);
  return [...new Set(a)].filter((x) => !drop.has(x)).sort();
};

/**
 * The run that brings profiles from `base` to `plan`. When it replaces an unfinished run (`previous`,
 * for an older plan), what that run may have left in profiles is accounted for: its series and
 * segments are pruned/dropped if the new target lacks them, and its backfill positions are kept for
 * series both runs rebuild (same fences, so the same events).
 */
export function planRun(base: BaseRecord, plan: Plan, now: number, previous: RunRecord | null): RunRecord {
  const targetSeries = plan.series.map((s) => s.id);
  const targetSegments = plan.segments.map((s) => s.key);
  const newSeries = minus(targetSeries, base.series);
  const known = [...base.series, ...(previous?.targetSeries ?? []), ...(previous?.pruneSeries ?? [])];
  const segs = [...base.segments, ...(previous?.targetSegments ?? []), ...(previous?.removedSegments ?? [])];
  const defs = definitionVersions(plan);
  const next: Record<string, Record<string, number>> = {};
  if (previous) for (const s of newSeries) if (previous.next[s]) next[s] = { ...previous.next[s] };
  return {
    planId: plan.planId,
    startedAt: now,
    phase: newSeries.length > 0 ? 'backfill' : 'reevaluate',
    targetSeries,
    targetSegments,
    newSeries,
    pruneSeries: minus(known, targetSeries),
    removedSegments: minus(segs, targetSegments),
    affected: Object.keys(defs).filter((k) => base.defs[k] !== defs[k]).sort(),
    deleted: minus(Object.keys(base.defs), Object.keys(defs)),
    fences: {},
    next,
    chunk: null,
    eventsProcessed: 0,
    eventsTotal: 0,
    cursor: null,
    processed: 0,
    total: 0,
  };
}

/** Parses a checkpoint field; null when absent or unreadable (a fresh start then re-plans). */
export function parseRecord<T>(json: string | undefined): T | null {
  if (json === undefined || json === '') return null;
  try {
    return JSON.parse(json) as T;
  } catch {
    return null;
  }
}
