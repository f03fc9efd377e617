import type { Logger } from 'pino';
import type { Clock } from '@tinycdp/common';
import { updateProfiles, type ProfileWork, type UpdateDeps } from './update-profiles';

/**
 * Time-driven segment changes: profiles whose membership can change only because time passes are kept
 * in a per-partition schedule (sorted set by due instant). Each tick re-evaluates the due profiles of
 * the partitions this instance owns; the engine computes the next due instant again.
 */
export class TimeScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private partitions: number[] = [];

  constructor(
    private readonly deps: UpdateDeps,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: { intervalMs: number; batchSize: number } = { intervalMs: 1000, batchSize: 500 },
  ) {}

  /** Partitions of the events topic this instance owns (from the consumer group assignment). */
  setPartitions(partitions: readonly number[]): void {
    this.partitions = [...partitions];
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) => this.logger.error({ err }, 'schedule_tick_failed'))
        .finally(() => (this.running = null));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over the owned partitions; returns how many profiles were re-evaluated. */
  async tick(): Promise<number> {
    let total = 0;
    for (const p of this.partitions) {
      // Bounded per tick so one busy partition cannot starve the others or loop forever.
      for (let round = 0; round < 20; round++) {
        const now = this.clock.now();
        const ids = await this.deps.repo.due(p, now, this.opts.batchSize);
        if (ids.length === 0) break;
        const work = new Map<string, ProfileWork>(ids.map((id) => [id, { events: [], merges: new Set() }]));
        const stats = await updateProfiles(this.deps, work, now, 'time');
        total += ids.length;
        if (stats.changes > 0) this.logger.debug({ partition: p, profiles: ids.length, changes: stats.changes }, 'schedule_applied');
        if (ids.length < this.opts.batchSize) break;
      }
    }
    return total;
  }
}
