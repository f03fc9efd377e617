import type { Plan } from '@tinycdp/engine';
import type { RolloutStore } from '../ports';
import type { SeriesSkips } from './fenced-apply';

const cacheKey = (series: string, partition: number): string => `${series}\u0000${partition}`;

/**
 * The live path's side of the fences. Before a batch of `partition` is processed with `plan`, every
 * series of the plan gets a fence on that partition: the first offset ever claimed (this batch's first
 * offset, unless the rollout coordinator or an earlier batch claimed one). Events at or above a fence
 * get the series from the live path; events below it are left to the backfill. Fences are set-once in
 * the store, so the cache never goes stale while the series stays in the plan; series the plan dropped
 * are forgotten (a later re-add claims again, after the rollout cleared the old fences).
 */
export class LiveFences {
  private readonly cache = new Map<string, number>();
  private planId: string | null = null;

  constructor(private readonly store: Pick<RolloutStore, 'claimFences'>) {}

  /** Series of `plan` whose fence on `partition` lies above `firstOffset`, with that fence. */
  async above(plan: Plan, partition: number, firstOffset: number): Promise<Map<string, number>> {
    if (plan.planId !== this.planId) {
      for (const k of [...this.cache.keys()]) if (!plan.seriesById.has(k.slice(0, k.indexOf('\u0000')))) this.cache.delete(k);
      this.planId = plan.planId;
    }
    const missing = plan.series.filter((s) => !this.cache.has(cacheKey(s.id, partition)));
    if (missing.length > 0) {
      const got = await this.store.claimFences(missing.map((s) => ({ series: s.id, partition, offset: firstOffset })));
      missing.forEach((s, i) => this.cache.set(cacheKey(s.id, partition), got[i]!));
    }
    const out = new Map<string, number>();
    for (const s of plan.series) {
      const f = this.cache.get(cacheKey(s.id, partition));
      if (f !== undefined && f > firstOffset) out.set(s.id, f);
    }
    return out;
  }
}

/** Per event (by messageId): the series whose fence on the event's partition lies above its offset. */
export function skipsFor(
  positioned: readonly { messageId: string; partition: number; offset: number }[],
  fences: ReadonlyMap<number, ReadonlyMap<string, number>>,
): SeriesSkips | undefined {
  let out: Map<string, Set<string>> | undefined;
  for (const e of positioned) {
    const f = fences.get(e.partition);
    if (!f || f.size === 0 || out?.has(e.messageId)) continue;
    const skip = new Set<string>();
    for (const [sid, fence] of f) if (e.offset < fence) skip.add(sid);
    if (skip.size > 0) (out ??= new Map()).set(e.messageId, skip);
  }
  return out;
}
