import type { LogMessage } from './ports';

/** A record read back from the log: a LogMessage plus its headers. */
export interface LogRecord extends LogMessage {
  readonly headers: Readonly<Record<string, string>>;
}

export interface BatchContext {
  readonly partition: number;
  /**
   * False once `stop()` was called. A long handler may give up then by throwing: nothing of its batch is
   * committed and the batch comes again to the next consumer. Resolving commits the whole batch.
   */
  isRunning(): boolean;
}

export interface ConsumeOptions {
  readonly topic: string;
  /**
   * Consumer group: its committed offsets say where to start, and each batch's offsets are committed
   * (durably) after the handler resolved. Omit for a tail that starts per `fromBeginning` and commits nothing.
   * One running consumer per group and topic (a single-process log has no rebalancing).
   */
  readonly group?: string;
  /** Without a committed offset: start at the oldest record (true) or at the end (false, default — kafkajs's default). */
  readonly fromBeginning?: boolean;
  /** Most records per handler call (default 500). */
  readonly maxBatch?: number;
  /** Most bytes read per handler call, at least one record (default 1 MiB — kafkajs's maxBytesPerPartition). */
  readonly maxBatchBytes?: number;
  /**
   * Called with each partition's next records, in offset order; partitions run concurrently, one batch at a
   * time each. A rejection makes the same records come again after a backoff (never skipped), like kafkajs eachBatch.
   */
  readonly handler: (messages: LogRecord[], ctx: BatchContext) => Promise<void>;
  /** Told the partitions this consumer owns (all of them) when it starts. */
  readonly onAssignment?: (partitions: number[]) => void;
  /** Told about handler and commit failures; the consumer keeps going. */
  readonly onError?: (err: unknown, partition: number, attempt: number) => void;
  /** Backoff after a failed batch: initial and maximum delay, ms (default 100 / 5000, with jitter). */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** What LogConsumer needs from a log (FileEventLog implements it). */
export interface ConsumableLog {
  partitions(topic: string): number;
  offsets(topic: string, partition: number): { low: number; high: number };
  read(topic: string, partition: number, fromOffset: number, maxRecords: number, maxBytes?: number): Promise<LogRecord[]>;
  committed(group: string, topic: string): Promise<Map<number, number>>;
  commit(group: string, topic: string, offsets: Iterable<readonly [number, number]>): Promise<void>;
  onAppend(topic: string, partition: number, listener: (high: number) => void): () => void;
}

/**
 * Tails every partition of a topic and hands the records to a handler, one batch per partition at a
 * time, committing a batch's offsets only after the handler resolved: at-least-once, the semantics the
 * processor relies on with kafkajs eachBatch (a crash between handler and commit redelivers the batch).
 * New records wake the tail through the log's in-process append notice, so there is no polling delay.
 */
export class LogConsumer {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Map<number, () => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly position = new Map<number, number>();

  constructor(
    private readonly log: ConsumableLog,
    private readonly opts: ConsumeOptions,
    private readonly onStop: () => void = () => undefined,
  ) {}

  /** Resolves once every partition's start offset is known (records appended after this are delivered). */
  async start(): Promise<void> {
    if (this.running) return;
    const { topic, group } = this.opts;
    const n = this.log.partitions(topic);
    const committed = group === undefined ? new Map<number, number>() : await this.log.committed(group, topic);
    const partitions = Array.from({ length: n }, (_, p) => p);
    for (const p of partitions) {
      const { low, high } = this.log.offsets(topic, p);
      const c = committed.get(p);
      this.position.set(p, c !== undefined ? Math.max(c, low) : this.opts.fromBeginning ? low : high);
      this.unsubscribe.push(this.log.onAppend(topic, p, () => this.wake(p)));
    }
    this.running = true;
    this.opts.onAssignment?.(partitions);
    this.loops = partitions.map((p) => this.run(p));
  }

  /** Stops fetching, waits for in-flight handlers and their commits. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const w of [...this.wakers.values()]) w();
    await Promise.all(this.loops);
    this.loops = [];
    this.onStop();
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Next offset this consumer will hand out, per partition. */
  positions(): Map<number, number> {
    return new Map(this.position);
  }

  private wake(partition: number): void {
    const w = this.wakers.get(partition);
    this.wakers.delete(partition);
    w?.();
  }

  private async run(partition: number): Promise<void> {
    const { topic, group, handler } = this.opts;
    const maxBatch = this.opts.maxBatch ?? 500;
    const maxBytes = this.opts.maxBatchBytes ?? 1_048_576;
    const ctx: BatchContext = { partition, isRunning: () => this.running };
    let attempt = 0;
    while (this.running) {
      const from = this.position.get(partition)!;
      // Register for the wake-up before looking, so an append between the read and the wait is not missed.
      const appended = new Promise<void>((r) => this.wakers.set(partition, r));
      let batch: LogRecord[];
      try {
        batch = await this.log.read(topic, partition, from, maxBatch, maxBytes);
      } catch (err) {
        await this.fail(err, partition, ++attempt);
        continue;
      }
      if (batch.length === 0) {
        await appended;
        continue;
      }
      this.wakers.delete(partition);
      try {
        await handler(batch, ctx);
      } catch (err) {
        await this.fail(err, partition, ++attempt);
        continue;
      }
      attempt = 0;
      const next = Number(batch[batch.length - 1]!.offset) + 1;
      this.position.set(partition, next);
      if (group !== undefined) {
        try {
          await this.log.commit(group, topic, [[partition, next]]);
        } catch (err) {
          // Not fatal: a later commit covers it; a crash before then redelivers (at-least-once).
          this.opts.onError?.(err, partition, 0);
        }
      }
    }
  }

  private async fail(err: unknown, partition: number, attempt: number): Promise<void> {
    this.opts.onError?.(err, partition, attempt);
    if (!this.running) return;
    const initial = this.opts.retry?.initialMs ?? 100;
    const max = this.opts.retry?.maxMs ?? 5000;
    const delay = Math.min(max, initial * 2 ** Math.min(attempt - 1, 20)) * (0.5 + Math.random() / 2);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      this.wakers.set(partition, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
