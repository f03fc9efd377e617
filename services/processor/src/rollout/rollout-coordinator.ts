import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '@tinycdp/common';
import type { Plan } from '@tinycdp/engine';
import type { EventLogReader, ProfileIndex, RolloutStore, SegmentMembersWriter } from '../ports';
import type { UpdateDeps } from '../pipeline/update-profiles';
import { backfillPhase, type BackfillDeps } from './backfill';
import { RolloutInterrupted, type PhaseContext } from './phase-context';
import { reevaluatePhase } from './reevaluate';
import { baseOf, definitionVersions, parseRecord, planRun, type BaseRecord, type RunRecord } from './rollout-records';

export interface RolloutOptions {
  /** Lease time to live; renewed every third of it. A crashed coordinator is replaced after this. */
  readonly leaseTtlMs?: number;
  /** How often an idle instance checks for work (and tries to take the lease). */
  readonly pollMs?: number;
  /** Log messages per backfill chunk (one checkpoint per chunk). */
  readonly chunkSize?: number;
  /** Profile ids per re-evaluation batch (one checkpoint per batch). */
  readonly scanBatch?: number;
  /** Minimum interval between progress reports (phase changes are always reported). */
  readonly statusEveryMs?: number;
  /** Lease owner id (default: a random one per process). */
  readonly owner?: string;
}

export interface RolloutDeps {
  readonly store: RolloutStore;
  readonly reader: EventLogReader;
  readonly index: ProfileIndex;
  readonly members?: SegmentMembersWriter;
  /** The live pipeline's dependencies (repo, change sink, membership index, schedule). */
  readonly update: UpdateDeps;
  /** The live plan (the latest built from the definitions topic). */
  readonly plan: () => Plan;
  readonly topic: string;
  /** Value decoder of the live path (the backfill must read the log the same way). */
  readonly decodeValue?: BackfillDeps['decodeValue'];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: RolloutOptions;
  /** Test hook, see BackfillDeps.afterChunk. */
  readonly afterChunk?: BackfillDeps['afterChunk'];
}

/** Status of one definition as admin shows it (`progress` is everything but `status`). */
export interface RolloutStatus {
  readonly status: 'backfilling' | 'live';
  readonly version: number;
  readonly planId: string;
  readonly phase: RunRecord['phase'] | 'done';
  readonly processed: number;
  readonly total: number;
  readonly eventsProcessed: number;
  readonly eventsTotal: number;
  readonly startedAt: string | null;
  readonly updatedAt: string;
}

/**
 * Rolls a definitions change out to every existing profile, in the background, on ONE processor
 * instance: the holder of a lease in the rollout store (a Redis key with an expiry, renewed while held;
 * any instance can take over when the holder dies, and resumes from the checkpoint). A lease rather
 * than "owner of partition 0": it needs no hook into the consumer group, survives rebalances without a
 * gap or an overlap, and works the same in embedded mode.
 *
 * A run (base plan → target plan) has three phases, checkpointed after every batch:
 * 1. backfill — series the target needs and the base did not keep are rebuilt from the events log
 *    below per-(series, partition) fences (see LiveFences and backfillPhase: no event is counted by
 *    both the live path and the backfill, and none by neither);
 * 2. reevaluate — every profile is evaluated with the target plan (reevaluatePhase);
 * 3. finish — fences of dropped series cleared, membership indexes of deleted segments dropped, status
 *    'live', the target becomes the base.
 * A newer plan arriving mid-run replaces the run (planRun keeps what can be kept). The live path never
 * stops: it runs the newest plan throughout, and compare-and-set writes make both sides safe.
 */
export class RolloutCoordinator {
  readonly owner: string;
  private readonly o: Required<Omit<RolloutOptions, 'owner'>>;
  private stopping = false;
  private holding = false;
  private leaseLost = false;
  private renewTimer: NodeJS.Timeout | null = null;
  private loopDone: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private lastStatusAt = 0;

  constructor(private readonly deps: RolloutDeps) {
    this.owner = deps.options?.owner ?? `processor-${randomUUID()}`;
    this.o = {
      leaseTtlMs: deps.options?.leaseTtlMs ?? 15_000,
      pollMs: deps.options?.pollMs ?? 1_000,
      chunkSize: deps.options?.chunkSize ?? 1_000,
      scanBatch: deps.options?.scanBatch ?? 200,
      statusEveryMs: deps.options?.statusEveryMs ?? 1_000,
    };
  }

  start(): void {
    if (this.loopDone) return;
    this.stopping = false;
    this.loopDone = this.loop();
  }

  /** The plan changed: look at it now rather than at the next poll. */
  notify(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops at the next batch boundary, releases the lease and the log reader. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loopDone;
    this.loopDone = null;
    this.stopRenewing();
    if (this.holding) await this.deps.store.releaseLease(this.owner).catch(() => undefined);
    this.holding = false;
    await this.deps.reader.close().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.tick();
        failures = 0;
      } catch (err) {
        failures++;
        if (err instanceof RolloutInterrupted) this.deps.logger.warn({ reason: err.message }, 'rollout_interrupted');
        else this.deps.logger.error({ err, failures }, 'rollout_failed');
      }
      await this.sleep(failures > 0 ? Math.min(30_000, this.o.pollMs * 2 ** Math.min(failures, 5)) : this.o.pollMs);
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeUp = null;
    this.woken = false;
  }

  private async ensureLease(): Promise<boolean> {
    if (this.holding && !this.leaseLost) return true;
    this.holding = await this.deps.store.acquireLease(this.owner, this.o.leaseTtlMs);
    this.leaseLost = false;
    if (this.holding) {
      this.deps.logger.info({ owner: this.owner }, 'rollout_lease_acquired');
      this.startRenewing();
    }
    return this.holding;
  }

  private startRenewing(): void {
    this.stopRenewing();
    let lastOk = this.deps.clock.now();
    this.renewTimer = setInterval(() => {
      this.deps.store.acquireLease(this.owner, this.o.leaseTtlMs).then(
        (ok) => {
          if (ok) lastOk = this.deps.clock.now();
          else this.loseLease('taken by another instance');
        },
        (err) => {
          this.deps.logger.warn({ err }, 'rollout_lease_renew_failed');
          if (this.deps.clock.now() - lastOk >= this.o.leaseTtlMs) this.loseLease('not renewed in time');
        },
      );
    }, Math.max(50, Math.floor(this.o.leaseTtlMs / 3)));
    this.renewTimer.unref();
  }

  private loseLease(why: string): void {
    if (!this.holding) return;
    this.deps.logger.warn({ owner: this.owner, why }, 'rollout_lease_lost');
    this.leaseLost = true;
    this.holding = false;
    this.stopRenewing();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  /** One look at the work: adopt, start, replace or resume a run, and drive it as far as possible. */
  private async tick(): Promise<void> {
    if (!(await this.ensureLease())) return;
    const cp = await this.deps.store.loadCheckpoint();
    const plan = this.deps.plan();
    const now = this.deps.clock.now();
    const base = parseRecord<BaseRecord>(cp.base);
    let run = parseRecord<RunRecord>(cp.run);
    if (!base) {
      // No rollout ever ran against this state: the live path built every profile with this plan (or
      // there are none yet), so it is the base as it is.
      await this.save({ base: JSON.stringify(baseOf(plan)) }, ['run']);
      await this.deps.store.writeStatus(this.statuses(plan, Object.keys(definitionVersions(plan)), 'live', null));
      this.deps.logger.info({ planId: plan.planId }, 'rollout_base_adopted');
      return;
    }
    if (run && run.planId !== plan.planId) {
      this.deps.logger.info({ from: run.planId, to: plan.planId }, 'rollout_superseded');
      run = await this.prepare(planRun(base, plan, now, run), plan);
    } else if (!run) {
      if (base.planId === plan.planId) return;
      run = await this.prepare(planRun(base, plan, now, null), plan);
    }
    await this.execute(run, plan);
  }

  /** Fences for the series to rebuild (the log's high watermark unless the live path claimed lower). */
  private async prepare(run: RunRecord, plan: Plan): Promise<RunRecord> {
    if (run.newSeries.length > 0) {
      const marks = await this.deps.reader.highWatermarks();
      const claims = run.newSeries.flatMap((series) => [...marks].map(([partition, m]) => ({ series, partition, offset: m.high })));
      const got = await this.deps.store.claimFences(claims);
      claims.forEach((c, i) => ((run.fences[c.series] ??= {})[String(c.partition)] = got[i]!));
      for (const [p, m] of marks) {
        const top = Math.max(...run.newSeries.map((s) => run.fences[s]![String(p)]!));
        run.eventsTotal += Math.max(0, top - m.low);
      }
    }
    await this.save({ run: JSON.stringify(run) });
    this.deps.logger.info(
      { planId: plan.planId, newSeries: run.newSeries, pruneSeries: run.pruneSeries, removedSegments: run.removedSegments, affected: run.affected },
      'rollout_started',
    );
    await this.report(run, plan, true);
    return run;
  }

  private async execute(run: RunRecord, plan: Plan): Promise<void> {
    const ctx: PhaseContext = {
      plan,
      run,
      now: () => this.deps.clock.now(),
      checkpoint: async () => {
        await this.save({ run: JSON.stringify(run) });
        await this.report(run, plan, false);
      },
      stopped: () => this.stopping || this.leaseLost || this.deps.plan().planId !== run.planId,
    };
    if (run.phase === 'backfill') {
      const done = await backfillPhase(
        {
          repo: this.deps.update.repo,
          reader: this.deps.reader,
          topic: this.deps.topic,
          chunkSize: this.o.chunkSize,
          logger: this.deps.logger,
          ...(this.deps.decodeValue ? { decodeValue: this.deps.decodeValue } : {}),
          ...(this.deps.afterChunk ? { afterChunk: this.deps.afterChunk } : {}),
        },
        ctx,
      );
      if (!done) return;
      await this.deps.reader.close();
      run.phase = 'reevaluate';
      await this.save({ run: JSON.stringify(run) });
      await this.report(run, plan, true);
      this.deps.logger.info({ planId: run.planId, events: run.eventsProcessed }, 'rollout_backfill_done');
    }
    if (run.phase === 'reevaluate') {
      const done = await reevaluatePhase({ update: this.deps.update, index: this.deps.index, scanBatch: this.o.scanBatch }, ctx);
      if (!done) return;
      run.phase = 'finish';
      await this.save({ run: JSON.stringify(run) });
    }
    // finish (idempotent: a crash here repeats it). Leave alone what a newer plan uses again.
    const live = this.deps.plan();
    await this.deps.store.clearFences(run.pruneSeries.filter((s) => !live.seriesById.has(s)));
    await this.deps.members?.drop(run.removedSegments.filter((s) => !live.segmentsByKey.has(s)));
    run.total = run.processed;
    await this.deps.store.writeStatus(this.statuses(plan, run.affected, 'live', run), run.deleted);
    await this.save({ base: JSON.stringify(baseOf(plan)) }, ['run']);
    this.deps.logger.info(
      { planId: run.planId, profiles: run.processed, events: run.eventsProcessed, ms: this.deps.clock.now() - run.startedAt },
      'rollout_finished',
    );
  }

  private async save(set: Record<string, string>, del: string[] = []): Promise<void> {
    if (!(await this.deps.store.saveCheckpoint(this.owner, set, del))) {
      this.loseLease('checkpoint refused');
      throw new RolloutInterrupted('lease lost');
    }
  }

  private async report(run: RunRecord, plan: Plan, force: boolean): Promise<void> {
    const now = this.deps.clock.now();
    if (!force && now - this.lastStatusAt < this.o.statusEveryMs) return;
    this.lastStatusAt = now;
    await this.deps.store.writeStatus(this.statuses(plan, run.affected, 'backfilling', run));
  }

  private statuses(plan: Plan, fields: readonly string[], status: RolloutStatus['status'], run: RunRecord | null): Record<string, string> {
    const versions = definitionVersions(plan);
    const at = new Date(this.deps.clock.now()).toISOString();
    const out: Record<string, string> = {};
    for (const f of fields) {
      const version = versions[f];
      if (version === undefined) continue;
      const s: RolloutStatus = {
        status,
        version,
        planId: plan.planId,
        phase: status === 'live' ? 'done' : (run?.phase ?? 'reevaluate'),
        processed: run?.processed ?? 0,
        total: run?.total ?? 0,
        eventsProcessed: run?.eventsProcessed ?? 0,
        eventsTotal: run?.eventsTotal ?? 0,
        startedAt: run ? new Date(run.startedAt).toISOString() : null,
        updatedAt: at,
      };
      out[f] = JSON.stringify(s);
    }
    return out;
  }
}
