import type { Redis } from 'ioredis';
import { RedisRolloutStore } from '@tinycdp/redis';
import type { ReportedRollout, RolloutStatusReader } from './rollout-status-reader.port';

/** Reads the processors' rollout reports from Redis; unreadable entries count as none. */
export class RedisRolloutStatusReader implements RolloutStatusReader {
  private readonly store: RedisRolloutStore;

  constructor(redis: Redis, prefix: string) {
    this.store = new RedisRolloutStore(redis, prefix);
  }

  async read(fields: readonly string[]): Promise<(ReportedRollout | null)[]> {
    return (await this.store.readStatus(fields)).map(parseReport);
  }
}

export function parseReport(json: string | null): ReportedRollout | null {
  if (json === null) return null;
  try {
    const { status, version, ...progress } = JSON.parse(json) as Record<string, unknown>;
    if ((status !== 'live' && status !== 'backfilling') || typeof version !== 'number') return null;
    return { status, version, progress };
  } catch {
    return null;
  }
}
