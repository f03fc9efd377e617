import type { Kafka, Consumer, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { sendRecords } from './send-records';

export interface DefinitionRecord {
  /** `trait:<key>` | `segment:<key>` | `flag:<key>` */
  readonly key: string;
  /** JSON of the definition; null is a deletion (tombstone). */
  readonly value: string | null;
}

/**
 * Reads the compacted definitions topic from the beginning, for ever. Every instance needs every
 * definition, so each reader uses its own consumer group (never shares partitions with another).
 * `ready` resolves once everything that existed at start-up has been delivered.
 */
export class DefinitionsReader {
  private consumer: Consumer | null = null;
  private caughtUp!: () => void;
  readonly ready: Promise<void> = new Promise((r) => (this.caughtUp = r));

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly onRecords: (records: DefinitionRecord[]) => Promise<void> | void,
    private readonly groupPrefix = 'tinycdp-definitions',
  ) {}

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    await admin.disconnect();
    const target = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    const done = new Set<number>();
    const checkDone = (partition: number, nextOffset: bigint) => {
      if (nextOffset >= (target.get(partition) ?? 0n)) done.add(partition);
      if (done.size >= target.size) this.caughtUp();
    };
    for (const [p, high] of target) if (high === 0n) done.add(p);
    if (done.size >= target.size) this.caughtUp();

    this.consumer = this.kafka.consumer({
      groupId: `${this.groupPrefix}-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const records = batch.messages.map((m) => ({
          key: m.key?.toString('utf8') ?? '',
          value: m.value === null ? null : m.value.toString('utf8'),
        }));
        await this.onRecords(records.filter((r) => r.key !== ''));
        const last = batch.messages[batch.messages.length - 1];
        if (last) checkDone(batch.partition, BigInt(last.offset) + 1n);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Writes definitions to the compacted topic (admin's outbox relay uses this). Resolves when acked. */
export class DefinitionsWriter {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(records: readonly DefinitionRecord[]): Promise<void> {
    await sendRecords(
      this.producer,
      this.topic,
      records.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': 'application/json' } })),
    );
  }
}
