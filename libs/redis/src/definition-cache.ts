import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { redisKeys, type RedisKeys } from './keys';
import { withScripts } from './scripts';

/**
 * Definitions materialized in Redis so decide (which never talks to Kafka or Postgres) can read them.
 * Values are JSON strings; a deletion is kept as `{"deleted":true,"version":v}` so an older write that
 * arrives late cannot resurrect it.
 */
export class RedisDefinitionCache {
  readonly keys: RedisKeys;
  private readonly redis: ReturnType<typeof withScripts>;

  constructor(redis: Redis, prefix = 'tinycdp:') {
    this.redis = withScripts(redis);
    this.keys = redisKeys(prefix);
  }

  /** Writes one definition if newer than the stored one; publishes a change notice. */
  async put(field: string, version: number, json: string | null): Promise<boolean> {
    try {
      const r = await this.redis.putDefinition(
        this.keys.definitions(),
        field,
        version,
        json ?? '',
        this.keys.definitionsChannel(),
      );
      return Number(r) === 1;
    } catch (err) {
      throw new AppError('unavailable', `redis put definition failed: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    }
  }

  /** Every materialized definition, field → JSON (tombstones included). */
  async all(): Promise<Record<string, string>> {
    try {
      return await this.redis.hgetall(this.keys.definitions());
    } catch (err) {
      throw new AppError('unavailable', `redis read definitions failed: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    }
  }
}
