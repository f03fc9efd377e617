import type { ChangeReason, ProfileState } from '@tinycdp/engine';
import type { ProfileIndex } from '../ports';
import { updateProfiles, type ProfileWork, type UpdateDeps } from '../pipeline/update-profiles';
import type { PhaseContext } from './phase-context';

export interface ReevaluateDeps {
  readonly update: UpdateDeps;
  readonly index: ProfileIndex;
  readonly scanBatch: number;
}

/**
 * Brings every existing profile to the run's plan: scans the profile index in batches and runs the
 * normal update (compare-and-set, outbox, publish, membership index, schedule) with no events. New and
 * changed traits are recomputed; segments are entered/exited with reason 'backfill' when the profile
 * holds rebuilt series, else 'definition'; memberships of deleted segments exit; series of deleted
 * definitions are pruned. Concurrent live writes are safe (CAS retries). The scan cursor is
 * checkpointed after every batch. Returns false when stopped early.
 */
export async function reevaluatePhase(deps: ReevaluateDeps, ctx: PhaseContext): Promise<boolean> {
  const run = ctx.run;
  const prune = new Set(run.pruneSeries);
  const reasonOf = (state: ProfileState): ChangeReason =>
    run.newSeries.some((s) => state.series[s] !== undefined) ? 'backfill' : 'definition';
  if (run.cursor === null) run.total = await deps.index.countProfileIds();
  while (run.cursor !== '0') {
    if (ctx.stopped()) return false;
    const { cursor, ids } = await deps.index.listProfileIds(run.cursor ?? '0', deps.scanBatch);
    const unique = [...new Set(ids)];
    if (unique.length > 0) {
      const work = new Map<string, ProfileWork>(unique.map((id) => [id, { events: [], merges: new Set<string>() }]));
      await updateProfiles(deps.update, work, ctx.now(), 'definition', {
        plan: ctx.plan,
        reasonOf,
        skipAbsent: true,
        ...(prune.size > 0 ? { pruneSeries: prune } : {}),
      });
    }
    run.cursor = cursor;
    run.processed += unique.length;
    run.total = Math.max(run.total, run.processed);
    await ctx.checkpoint();
  }
  return true;
}
