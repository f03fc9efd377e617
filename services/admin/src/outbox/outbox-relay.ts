import type { SqlClient } from '@tinycdp/postgres';
import type { Logger } from 'pino';
import { outboxPending, outboxPublished, outboxPublishErrors } from '../metrics';
import type { DefinitionPublisher } from './definition-publisher.port';

export interface OutboxRelayOptions {
  readonly db: SqlClient;
  readonly publisher: DefinitionPublisher;
  readonly logger: Logger;
  /** Poll interval when idle (default 200 ms). */
  readonly intervalMs?: number;
  /** Records per publish (default 100). */
  readonly batchSize?: number;
  /** Longest back-off after failures (default 5 s). */
  readonly maxBackoffMs?: number;
  /**
   * Published rows older than this are deleted (default 7 days): the definitions topic is compacted and
   * holds every definition's latest value, and admin's history table keeps every version, so old
   * outbox rows serve only debugging. 0 keeps them forever.
   */
  readonly retainPublishedMs?: number;
  /** At most one clean-up per this period (default 60 s); each deletes at most 1,000 rows. */
  readonly cleanupEveryMs?: number;
}

/**
 * Advisory lock that makes one relay at a time publish, per schema (tests share a database).
 * Must not change while relays of two releases may run side by side.
 */
export const RELAY_LOCK_SQL = `hashtext('tinycdp.outbox:' || current_schema())`;

interface OutboxRow {
  id: string;
  topic_key: string;
  payload: unknown;
}

/**
 * Moves committed outbox rows to the definitions topic, in id order, at least once.
 *
 * One round: in a transaction, take a try-advisory-lock (so among several admin instances only one
 * publishes, keeping order), read the oldest unpublished rows, publish them, mark them published,
 * commit. A crash or failure after publishing but before the commit republishes the same rows later:
 * duplicates are harmless on a compacted topic whose consumers compare versions. Ids are allocated
 * under the definitions catalog lock, so id order is commit order.
 */
export class OutboxRelay {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly maxBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private failures = 0;
  private readonly retainPublishedMs: number;
  private readonly cleanupEveryMs: number;
  private lastCleanupAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: OutboxRelayOptions) {
    this.intervalMs = o.intervalMs ?? 200;
    this.batchSize = o.batchSize ?? 100;
    this.maxBackoffMs = o.maxBackoffMs ?? 5_000;
    this.retainPublishedMs = o.retainPublishedMs ?? 7 * 24 * 3600 * 1000;
    this.cleanupEveryMs = o.cleanupEveryMs ?? 60_000;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Wake up now (called after a write commits). */
  notify(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops polling and waits for a round in progress. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * One round: publishes up to `batchSize` rows. Returns how many were published (0 when nothing is
   * pending or another instance holds the relay lock). Throws the publisher's or database's error.
   */
  async relayOnce(): Promise<number> {
    return this.o.db.transaction(async (tx) => {
      const lock = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_SQL}) AS locked`);
      if (!lock.rows[0]?.locked) return 0;
      const { rows } = await tx.query<OutboxRow>(
        'SELECT id, topic_key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1',
        [this.batchSize],
      );
      outboxPending.set(rows.length);
      if (rows.length === 0) {
        await this.cleanup(tx);
        return 0;
      }
      await this.o.publisher.publish(
        rows.map((r) => ({ key: r.topic_key, value: r.payload === null ? null : JSON.stringify(r.payload) })),
      );
      await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((r) => String(r.id))]);
      outboxPublished.inc(rows.length);
      return rows.length;
    });
  }

  /**
   * Deletes up to 1,000 published rows older than the retention, at most once per `cleanupEveryMs`
   * (idle rounds only, under the relay lock). Returns how many were deleted.
   */
  private async cleanup(tx: SqlClient): Promise<number> {
    const now = performance.now();
    if (this.retainPublishedMs <= 0 || now - this.lastCleanupAt < this.cleanupEveryMs) return 0;
    this.lastCleanupAt = now;
    const { rows } = await tx.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM outbox WHERE id IN (
           SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)
           ORDER BY id LIMIT 1000)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [this.retainPublishedMs / 1000],
    );
    const deleted = rows[0]?.n ?? 0;
    if (deleted > 0) this.o.logger.info({ deleted }, 'outbox_published_rows_deleted');
    return deleted;
  }

  /** Publishes until nothing is pending. Returns the total. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.relayOnce();
      total += n;
      if (n < this.batchSize) return total;
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (!this.started || this.running) return;
    let next = this.intervalMs;
    this.running = (async () => {
      try {
        const n = await this.relayOnce();
        this.failures = 0;
        if (n === this.batchSize) next = 0; // more is waiting
      } catch (err) {
        this.failures++;
        outboxPublishErrors.inc();
        const backoff = Math.min(this.maxBackoffMs, this.intervalMs * 2 ** this.failures);
        next = Math.round(backoff / 2 + Math.random() * (backoff / 2));
        this.o.logger.warn({ err, failures: this.failures, retryInMs: next }, 'outbox_publish_failed');
      }
    })();
    await this.running;
    this.running = undefined;
    if (!this.started) return;
    if (this.again && this.failures === 0) next = 0;
    this.again = false;
    this.schedule(next);
  }
}
