/**
 * Redis state-loss guard. Profile state in Redis is a view of the event log; if Redis comes back
 * EMPTY (restart without persistence, FLUSHALL, failover to an empty replica) while the consumer group
 * keeps its committed offsets, continuing would write partial state (counts restarting from zero,
 * dedupe ids forgotten, segment exits/entries computed from nothing) and commit offsets past events
 * that are no longer reflected anywhere. So the processor pauses instead:
 *
 * - at start-up `ensure()` looks for the epoch marker (`<prefix>epoch`, libs/redis `keys.epoch()`);
 *   missing on a fresh consumer group (nothing committed yet) → it is created; missing while the
 *   group has committed offsets → state was lost, the guard starts in the `lost` state;
 * - every `load()` of the wrapped repository reads the marker in the same event-loop turn as the state
 *   (ioredis auto-pipelining puts both in one write); the other repository calls re-read it only after
 *   the connection dropped (a restart always drops it) or when the last check is older than `maxAgeMs`;
 * - marker gone → AppError('unavailable', retriable): the batch fails, kafkajs redelivers it, offsets
 *   are not committed; `healthy()` is false (→ /processor/health 503); `redis_state_lost_rebuild_required`
 *   is logged once per loss and the gauge `tinycdp_processor_redis_state_lost` is 1;
 * - it resumes as soon as the marker exists again, i.e. after a rebuild: stop the processors, delete the
 *   consumer group (so it replays the log from the beginning), start them (the fresh group creates the
 *   marker) — or `markRebuilt()` from a rebuild tool that replayed the log itself.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { AppError } from '@tinycdp/common';
import { redisKeys } from '@tinycdp/redis';
import type { LoadedProfile, ProfileRepository, ProfileWrite, WriteResult } from '../ports';

export type EpochStatus = 'unknown' | 'ok' | 'lost';

export interface RedisEpochGuardOptions {
  /** Non-load calls re-read the marker when the last successful check is older than this (default 1 000 ms). */
  readonly maxAgeMs?: number;
  /** Registers `tinycdp_processor_redis_state_lost` (0/1) here when given. */
  readonly registry?: Registry;
  /** Time source for the cache (default performance.now). */
  readonly now?: () => number;
}

export class RedisEpochGuard {
  private readonly key: string;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly gauge: Gauge | null;
  private status: EpochStatus = 'unknown';
  private epoch: string | null = null;
  private verifiedAt = Number.NEGATIVE_INFINITY;
  /** Bumped on every connection loss; a check only counts for the generation it ran in. */
  private generation = 0;
  private verifiedGeneration = -1;
  private inflight: Promise<void> | null = null;
  private readonly onClose = (): void => {
    this.generation++;
  };

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    options: RedisEpochGuardOptions = {},
  ) {
    this.key = redisKeys(prefix).epoch();
    this.maxAgeMs = options.maxAgeMs ?? 1_000;
    this.now = options.now ?? (() => performance.now());
    this.gauge = options.registry
      ? new Gauge({
          name: 'tinycdp_processor_redis_state_lost',
          help: '1 while the Redis state epoch marker is missing (state lost; the processor is paused until a rebuild)',
          registers: [options.registry],
        })
      : null;
    this.gauge?.set(0);
    redis.on('close', this.onClose);
    redis.on('reconnecting', this.onClose);
  }

  /** The marker key (`<prefix>epoch`). */
  get markerKey(): string {
    return this.key;
  }

  get state(): EpochStatus {
    return this.status;
  }

  /**
   * Start-up: finds the marker, or creates it when `fresh()` says the consumer group has never
   * committed (a new deployment or a rebuild from the beginning of the log).
   * @returns the resulting status; 'lost' means every guarded call fails until a rebuild.
   * @throws AppError('unavailable') when Redis cannot be reached, or what `fresh` throws.
   */
  async ensure(fresh: () => Promise<boolean>): Promise<EpochStatus> {
    const generation = this.generation;
    const current = await this.read();
    if (current !== null) {
      this.accept(current, generation);
      return this.status;
    }
    if (await fresh()) {
      const created = await this.markRebuilt();
      this.logger.info({ key: this.key, epoch: created }, 'redis_epoch_created');
      return this.status;
    }
    this.lose('start');
    return this.status;
  }

  /**
   * Sets the marker (a new epoch id) unless one exists, and accepts whatever is there afterwards.
   * For a fresh state or a rebuild tool that has replayed the log; never call it to "unstick" a
   * processor whose state was lost — that is exactly the partial state the guard prevents.
   */
  async markRebuilt(): Promise<string> {
    const generation = this.generation;
    const id = `${new Date().toISOString()}/${randomUUID()}`;
    try {
      await this.redis.set(this.key, id, 'NX');
    } catch (err) {
      throw unavailable('redis epoch marker could not be written', err);
    }
    const current = (await this.read()) ?? id;
    this.accept(current, generation);
    return current;
  }

  /** Reads the marker now (one GET). @throws AppError('unavailable') when missing or Redis fails. */
  async check(): Promise<void> {
    // Concurrent callers share one GET.
    this.inflight ??= this.checkOnce().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Cheap: no I/O while the last check is recent and the connection has not dropped since. */
  async checkIfStale(): Promise<void> {
    if (this.status === 'ok' && this.verifiedGeneration === this.generation && this.now() - this.verifiedAt < this.maxAgeMs) return;
    return this.check();
  }

  /** Health check: resolves when the marker was present at the last check. */
  async health(): Promise<void> {
    await this.checkIfStale();
  }

  /** Stops listening to the client's events. */
  close(): void {
    this.redis.off('close', this.onClose);
    this.redis.off('reconnecting', this.onClose);
  }

  private async checkOnce(): Promise<void> {
    const generation = this.generation;
    const current = await this.read();
    if (current === null) {
      this.lose('check');
      throw new AppError('unavailable', `Redis state epoch marker ${this.key} is missing: state lost, rebuild required`, {
        retriable: true,
        details: { key: this.key, reason: 'redis_state_lost' },
      });
    }
    this.accept(current, generation);
  }

  private async read(): Promise<string | null> {
    try {
      return await this.redis.get(this.key);
    } catch (err) {
      throw unavailable('redis epoch marker could not be read', err);
    }
  }

  private accept(value: string, generation: number): void {
    if (this.status === 'lost') this.logger.warn({ key: this.key, epoch: value }, 'redis_state_epoch_restored');
    else if (this.epoch !== null && this.epoch !== value) this.logger.warn({ key: this.key, from: this.epoch, to: value }, 'redis_state_epoch_changed');
    this.epoch = value;
    this.status = 'ok';
    this.verifiedAt = this.now();
    this.verifiedGeneration = generation;
    this.gauge?.set(0);
  }

  private lose(when: 'start' | 'check'): void {
    if (this.status !== 'lost') {
      this.logger.error(
        { key: this.key, previousEpoch: this.epoch, when },
        'redis_state_lost_rebuild_required',
      );
    }
    this.status = 'lost';
    this.gauge?.set(1);
  }
}

function unavailable(message: string, cause: unknown): AppError {
  return new AppError('unavailable', `${message}: ${(cause as Error)?.message ?? String(cause)}`, { retriable: true, cause });
}

/**
 * A ProfileRepository that refuses to touch state while the epoch marker is missing. `load()` (the
 * first call of every batch, time-driven re-evaluation and rollout pass) always reads the marker,
 * issued in the same tick as the state reads; the writes re-check only after a reconnect or when the
 * last check is older than `maxAgeMs`. Drop-in: createProcessor needs no change.
 */
export class EpochGuardedRepository implements ProfileRepository {
  constructor(
    private readonly inner: ProfileRepository,
    private readonly guard: RedisEpochGuard,
  ) {}

  async load(requests: readonly { id: string; messageIds?: readonly string[] }[]): Promise<Map<string, LoadedProfile>> {
    const marker = this.guard.check();
    const loaded = this.inner.load(requests);
    // Both are in flight; the marker decides. A failed load after a failed check is not reported twice.
    const [m, l] = await Promise.allSettled([marker, loaded]);
    if (m.status === 'rejected') throw m.reason;
    if (l.status === 'rejected') throw l.reason;
    return l.value;
  }

  async write(w: ProfileWrite, now: number): Promise<WriteResult> {
    await this.guard.checkIfStale();
    return this.inner.write(w, now);
  }

  async ackPending(acks: readonly { id: string; count: number }[]): Promise<void> {
    await this.guard.checkIfStale();
    return this.inner.ackPending(acks);
  }

  async remove(id: string): Promise<void> {
    await this.guard.checkIfStale();
    return this.inner.remove(id);
  }

  async resolveLinks(anonymousIds: readonly string[]): Promise<Map<string, string>> {
    await this.guard.checkIfStale();
    return this.inner.resolveLinks(anonymousIds);
  }

  async link(anonymousId: string, userId: string): Promise<string> {
    await this.guard.checkIfStale();
    return this.inner.link(anonymousId, userId);
  }

  async schedule(entries: readonly { partition: number; id: string; dueAt: number | null }[]): Promise<void> {
    await this.guard.checkIfStale();
    return this.inner.schedule(entries);
  }

  async due(partition: number, now: number, limit: number): Promise<string[]> {
    await this.guard.checkIfStale();
    return this.inner.due(partition, now, limit);
  }
}
