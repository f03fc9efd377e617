import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { AppError } from '@tinycdp/common';
import type { EventLogReader, LogMessage } from '../ports';
import { KafkaLogMessage } from './kafka-log-message';

interface ReadRequest {
  readonly partition: number;
  readonly from: number;
  readonly max: number;
  readonly resolve: (messages: LogMessage[]) => void;
}

/**
 * Reads the events topic by position for backfills, over kafkajs (which has no pull API): one consumer
 * in a fresh group of its own (so it is assigned every partition and shares nothing with the
 * processor's group), never committing, all partitions paused between reads. `read` seeks the asked
 * partition, resumes it, takes the first fetched batch at or after `from`, and pauses it again.
 * Reads are sequential (one backfill at a time per process). Created lazily; `close` leaves the group.
 */
export class KafkaEventLogReader implements EventLogReader {
  private consumer: Consumer | null = null;
  private ready: Promise<Consumer> | null = null;
  private request: ReadRequest | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly opts: { groupPrefix?: string; readTimeoutMs?: number } = {},
  ) {}

  async highWatermarks(): Promise<Map<number, { low: number; high: number }>> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
    } catch (err) {
      throw new AppError('unavailable', `kafka offsets of ${this.topic} failed: ${(err as Error).message}`, { retriable: true, cause: err });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async read(partition: number, from: number, max: number): Promise<LogMessage[]> {
    const marks = await this.highWatermarks();
    const m = marks.get(partition);
    if (!m || from >= m.high) return [];
    const consumer = await this.open();
    const start = Math.max(from, m.low);
    const timeoutMs = this.opts.readTimeoutMs ?? 15_000;
    return new Promise<LogMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.request?.resolve !== done) return;
        this.request = null;
        consumer.pause([{ topic: this.topic, partitions: [partition] }]);
        reject(new AppError('unavailable', `no messages from ${this.topic}[${partition}] at ${start} within ${timeoutMs} ms`, { retriable: true }));
      }, timeoutMs);
      const done = (messages: LogMessage[]) => {
        clearTimeout(timer);
        resolve(messages);
      };
      this.request = { partition, from: start, max, resolve: done };
      consumer.seek({ topic: this.topic, partition, offset: String(start) });
      consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    });
  }

  async close(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    this.ready = null;
    this.request = null;
    await c?.disconnect();
  }

  private open(): Promise<Consumer> {
    this.ready ??= (async () => {
      const consumer = this.kafka.consumer({
        groupId: `${this.opts.groupPrefix ?? 'tinycdp-backfill'}-${randomUUID()}`,
        maxWaitTimeInMs: 100,
        allowAutoTopicCreation: false,
        retry: { retries: 5 },
      });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.onBatch(batch) });
      await joined;
      consumer.pause([{ topic: this.topic }]);
      this.consumer = consumer;
      this.logger.debug({ topic: this.topic }, 'backfill_reader_ready');
      return consumer;
    })();
    return this.ready;
  }

  private onBatch(batch: Batch): void {
    const r = this.request;
    if (!r || batch.partition !== r.partition) return; // a fetch from before the last seek/pause
    const out: LogMessage[] = [];
    for (const m of batch.messages) {
      if (Number(m.offset) < r.from) continue;
      out.push(new KafkaLogMessage(batch.partition, m));
      if (out.length >= r.max) break;
    }
    if (out.length === 0) return;
    this.request = null;
    this.consumer?.pause([{ topic: this.topic, partitions: [r.partition] }]);
    r.resolve(out);
  }
}
