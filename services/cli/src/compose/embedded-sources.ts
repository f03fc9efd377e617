import type { FileEventLog, LogConsumer } from '@tinycdp/embedded';
import type { DefinitionSource, EventSource, LagReport, LogMessage } from '@tinycdp/processor';

/**
 * The processor's EventSource over the embedded file log: one consumer group, every partition owned
 * by this process, offsets committed after each batch resolved (kafkajs eachBatch semantics).
 */
export class FileLogEventSource implements EventSource {
  private consumer: LogConsumer | null = null;

  constructor(
    private readonly log: FileEventLog,
    private readonly topic: string,
    private readonly group: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  async start(handler: (messages: readonly LogMessage[]) => Promise<void>, onAssignment: (partitions: number[]) => void) {
    this.consumer = await this.log.consume({
      topic: this.topic,
      group: this.group,
      fromBeginning: true,
      maxBatch: 500,
      handler: (messages) => handler(messages),
      onAssignment,
      onError: (err) => this.onError(err),
    });
  }

  async stop() {
    await this.consumer?.stop();
    this.consumer = null;
  }

  async lag(): Promise<LagReport[]> {
    const committed = await this.log.committed(this.group, this.topic);
    const out: LagReport[] = [];
    for (let p = 0; p < this.log.partitions(this.topic); p++) {
      const { high } = this.log.offsets(this.topic, p);
      const c = committed.get(p) ?? 0;
      out.push({ partition: p, committed: String(c), high: String(high), lag: high - c });
    }
    return out;
  }

  /** True once every partition's committed offset reached the given high watermarks. */
  async caughtUp(targets: ReadonlyMap<number, number>): Promise<boolean> {
    const committed = await this.log.committed(this.group, this.topic);
    for (const [p, high] of targets) if ((committed.get(p) ?? 0) < high) return false;
    return true;
  }
}

/** The definitions log in the embedded file log, read from the beginning at every start. */
export class FileLogDefinitionSource implements DefinitionSource {
  private consumer: LogConsumer | null = null;

  constructor(
    private readonly log: FileEventLog,
    private readonly topic: string,
  ) {}

  async start(onRecords: (records: { key: string; value: string | null }[]) => Promise<void>) {
    const targets = new Map<number, number>();
    for (let p = 0; p < this.log.partitions(this.topic); p++) targets.set(p, this.log.offsets(this.topic, p).high);
    const seen = new Map<number, number>();
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    const check = () => {
      for (const [p, high] of targets) if ((seen.get(p) ?? 0) < high) return;
      caughtUp();
    };
    check();
    this.consumer = await this.log.consume({
      topic: this.topic,
      fromBeginning: true,
      handler: async (messages, ctx) => {
        await onRecords(
          messages.map((m) => ({
            key: m.key ?? '',
            value: m.value === null ? null : m.value.toString('utf8'),
          })),
        );
        const last = messages[messages.length - 1];
        if (last) seen.set(ctx.partition, Number(last.offset) + 1);
        check();
      },
    });
    await ready;
  }

  async stop() {
    await this.consumer?.stop();
    this.consumer = null;
  }
}

/** Admin's DefinitionPublisher over the file log (a deletion is a null value, as on Kafka). */
export function fileLogDefinitionPublisher(log: FileEventLog, topic: string) {
  return {
    async publish(records: readonly { key: string; value: string | null }[]) {
      if (records.length === 0) return;
      await log.append(
        topic,
        records.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': 'application/json' } })),
      );
    },
  };
}
