import type { ConsumableLog } from './log-consumer';
import type { LogMessage } from './ports';

/**
 * The processor's EventLogReader (services/processor/src/ports.ts) over the embedded log: reads by
 * position for rollout backfills. The file log already has a pull API, so this only adapts names.
 */
export class FileLogEventReader {
  constructor(
    private readonly log: Pick<ConsumableLog, 'partitions' | 'offsets' | 'read'>,
    private readonly topic: string,
  ) {}

  async highWatermarks(): Promise<Map<number, { low: number; high: number }>> {
    const out = new Map<number, { low: number; high: number }>();
    for (let p = 0; p < this.log.partitions(this.topic); p++) out.set(p, this.log.offsets(this.topic, p));
    return out;
  }

  async read(partition: number, from: number, max: number): Promise<LogMessage[]> {
    const { low, high } = this.log.offsets(this.topic, partition);
    if (from >= high) return [];
    return this.log.read(this.topic, partition, Math.max(from, low), max);
  }

  async close(): Promise<void> {}
}
