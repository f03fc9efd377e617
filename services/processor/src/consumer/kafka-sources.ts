import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { DEFAULT_FETCH_MB, DefinitionsReader, processorConsumerConfig, sendRecords, type RecordProducer } from '@tinycdp/kafka';
import type { DefinitionSource, EventSource, LagReport, LogMessage, OutRecord, RecordSink } from '../ports';
import { GroupLag } from './group-lag';
import { KafkaLogMessage } from './kafka-log-message';

/**
 * A topic sink over a kafkajs producer: resolves once all in-sync replicas acked. Large calls go out as
 * several produce requests (`sendRecords`): one chunk of events can publish megabytes of changes.
 */
export function kafkaSink(producer: RecordProducer, topic: string): RecordSink {
  return {
    async send(records: readonly OutRecord[]) {
      await sendRecords(
        producer,
        topic,
        records.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': 'application/json', ...r.headers } })),
      );
    },
  };
}

/** Events per handler call (one Redis load and one write per touched profile per call). */
const DEFAULT_CHUNK_SIZE = 40_000;

export interface KafkaEventSourceOptions {
  /**
   * Events per handler call. Large chunks: more events per profile per compare-and-set write (the
   * dominant cost is per profile). A full fetch of one partition (16 MB by default) is about 30,000
   * events: one chunk.
   */
  readonly chunkSize?: number;
  readonly sessionTimeoutMs?: number;
  /**
   * Every partition of an instance in flight at once (up to this many): while one batch waits on Redis
   * or Kafka, another computes. kafkajs fetches again only when all batches of a fetch are done.
   */
  readonly partitionsConsumedConcurrently?: number;
  /** Most MiB one fetch reads (processorConsumerConfig): bounds memory while catching up. */
  readonly fetchMb?: number;
  /** Join the group but fetch nothing (on every group join) until `resume()`. */
  readonly startPaused?: boolean;
}

/**
 * The consumer-group edge of the processor. Offsets are resolved (and so committed) only after the
 * handler resolved, i.e. after state, change events and DLQ records are durable. A thrown
 * (infrastructure) error makes kafkajs seek back and retry; nothing is skipped.
 */
export class KafkaEventSource implements EventSource {
  private consumer: Consumer | null = null;

  private readonly opts: Required<KafkaEventSourceOptions>;
  private readonly groupLag: GroupLag;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly logger: Logger,
    options: KafkaEventSourceOptions = {},
  ) {
    this.opts = {
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 8,
      fetchMb: options.fetchMb ?? DEFAULT_FETCH_MB,
      startPaused: options.startPaused ?? false,
    };
    this.paused = this.opts.startPaused;
    this.groupLag = new GroupLag(kafka, topic, groupId);
  }

  async start(handler: (messages: readonly LogMessage[]) => Promise<void>, onAssignment: (partitions: number[]) => void) {
    const consumer = this.kafka.consumer(processorConsumerConfig(this.groupId, this.opts.sessionTimeoutMs, this.opts.fetchMb));
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      // Emitted after the assignment is synced and before the generation's first fetch.
      if (this.paused) consumer.pause([{ topic: this.topic }]);
      const partitions = (e.payload.memberAssignment[this.topic] ?? []).slice().sort((a, b) => a - b);
      this.logger.info({ partitions }, 'partitions_assigned');
      onAssignment(partitions);
    });
    consumer.on(consumer.events.CRASH, (e) =>
      this.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer_crashed'),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        for (let i = 0; i < batch.messages.length; i += this.opts.chunkSize) {
          if (!isRunning() || isStale()) return;
          const chunk = batch.messages.slice(i, i + this.opts.chunkSize);
          await handler(chunk.map((m) => new KafkaLogMessage(batch.partition, m)));
          resolveOffset(chunk[chunk.length - 1]!.offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      },
    });
  }

  async stop() {
    await this.consumer?.disconnect();
    this.consumer = null;
    await this.groupLag.close();
  }

  private paused: boolean;

  /** Starts fetching after `startPaused`. */
  resume() {
    this.paused = false;
    this.consumer?.resume([{ topic: this.topic }]);
  }

  lag(): Promise<LagReport[]> {
    return this.groupLag.report();
  }
}

export class KafkaDefinitionSource implements DefinitionSource {
  private reader: DefinitionsReader | null = null;
  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  async start(onRecords: (records: { key: string; value: string | null }[]) => Promise<void>) {
    this.reader = new DefinitionsReader(this.kafka, this.topic, onRecords);
    await this.reader.start();
    await this.reader.ready;
  }

  async stop() {
    await this.reader?.stop();
  }
}
