/**
 * A Kafka thread of ThreadedKafkaEventSource (threaded-kafka-source.ts): a kafkajs consumer in the
 * processor's group, with its share of the source's partitions, that fetches and decodes records on its
 * own core and hands each batch to the pipeline thread packed in one transferred buffer. It fetches
 * ahead of the pipeline (offsets are resolved at once, so kafkajs fetches again without waiting), up to
 * `maxQueuedBytes` not yet processed, and commits an offset only when the pipeline thread reports the
 * records before it processed. It also produces what the pipeline thread asks it to (the source's first
 * thread: segment changes): kafkajs' record encoding runs here too.
 */
import { parentPort } from 'node:worker_threads';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { installRecordBatchEncoding, messageFromClone, processorConsumerConfig } from '@tinycdp/kafka';
import { packRecords, type PackedRecord } from './packed-records';
import { installRawRecordBatches, type RawRecordBatch } from './raw-record-batches';
import type { FetchThreadSetup, FromFetchThread, SendRequest, ToFetchThread } from './fetch-thread-protocol';

const port = parentPort!;
// Before any fetch or produce loads kafkajs' fetch decoding or produce encoding: plain record batches
// are then packed from their bytes, and the segment changes' batches encoded in one pass.
const rawBatches = installRawRecordBatches();
const batchEncoding = installRecordBatchEncoding();
const post = (m: FromFetchThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);


/**
 * One source's use of this thread, from `start` to `stopped`. The thread outlives it: a stopped
 * source's thread may serve the next source of the process (ThreadedKafkaEventSource keeps it), with
 * its code already compiled.
 */
class Session {
  private readonly consumer: Consumer;
  /** Idempotent, one request in flight: records of a partition stay in order (as the pipeline's own producer did). */
  private readonly producer: Producer;
  private producerReady: Promise<void> | null = null;
  /** Bytes handed over and not yet reported processed; eachBatch waits while above the limit. */
  private queued = 0;
  private wake: (() => void) | null = null;
  /** Offsets to commit (next offset per partition), sent in one request at a time. */
  private readonly toCommit = new Map<number, string>();
  private committing: Promise<void> | null = null;
  private stopping = false;
  private paused: boolean;

  constructor(private readonly setup: FetchThreadSetup) {
    const kafka = new Kafka({ ...setup.connection, logLevel: logLevel.WARN });
    this.consumer = kafka.consumer(processorConsumerConfig(setup.groupId, setup.sessionTimeoutMs, setup.fetchMb, setup.instanceId));
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.paused = setup.startPaused;
  }

  /**
   * Commits what `toCommit` holds, one request at a time, until it is empty. (`committing` is cleared in
   * a promise reaction, never synchronously: were it cleared inside the function that creates it, a call
   * with nothing to commit would clear it before it is set, leaving it set for good — and every later
   * commit waiting on it.)
   */
  private commitLoop(): Promise<void> {
    if (this.committing === null && this.toCommit.size > 0 && !this.stopping) {
      this.committing = this.commitAll().finally(() => {
        this.committing = null;
      });
    }
    return this.committing ?? Promise.resolve();
  }

  private async commitAll() {
    while (this.toCommit.size > 0 && !this.stopping) {
      const partitions = [...this.toCommit].map(([partition, offset]) => ({ topic: this.setup.topic, partition, offset }));
      this.toCommit.clear();
      try {
        await this.consumer.commitOffsets(partitions);
      } catch (err) {
        // Not ours any more (rebalance) or the coordinator moved: the next owner starts from the last
        // committed offset and the pipeline's message-id dedupe makes the replay a no-op.
        post({ t: 'log', level: 'warn', msg: 'offset_commit_failed', detail: String(err) });
      }
    }
  }

  private async send(id: number, r: SendRequest) {
    try {
      this.producerReady ??= this.producer.connect().catch((err: unknown) => {
        this.producerReady = null;
        throw err;
      });
      await this.producerReady;
      await this.producer.send({
        topic: r.topic,
        acks: r.acks,
        messages: r.messages.map(messageFromClone),
      });
      post({ t: 'sent', id, error: null });
    } catch (err) {
      post({ t: 'sent', id, error: String(err instanceof Error ? err.message : err) });
    }
  }

  handle(m: Exclude<ToFetchThread, { t: 'start' }>) {
    if (m.t === 'send') {
      void this.send(m.id, m.request);
    } else if (m.t === 'processed') {
      this.queued -= m.bytes;
      if (m.next !== null) this.toCommit.set(m.partition, m.next);
      void this.commitLoop();
      if (this.queued <= this.setup.maxQueuedBytes && this.wake) {
        const w = this.wake;
        this.wake = null;
        w();
      }
    } else if (m.t === 'resume') {
      this.paused = false;
      this.consumer.resume([{ topic: this.setup.topic }]);
    } else if (m.t === 'stop') {
      void (async () => {
        await this.commitLoop();
        this.stopping = true;
        this.wake?.();
        await this.consumer.disconnect().catch(() => undefined);
        await this.producer.disconnect().catch(() => undefined);
        session = null;
        post({ t: 'stopped' });
      })();
    }
  }

  async run() {
    const { consumer, setup } = this;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      // Emitted after the assignment is synced and before the generation's first fetch.
      if (this.paused) consumer.pause([{ topic: setup.topic }]);
      post({ t: 'assigned', partitions: (e.payload.memberAssignment[setup.topic] ?? []).slice().sort((a, b) => a - b) });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      post({ t: 'log', level: 'error', msg: 'consumer_crashed', detail: `${String(e.payload.error)} (restart: ${e.payload.restart})` });
      // kafkajs gave up: end this thread; the pipeline thread starts another one.
      if (!e.payload.restart) setTimeout(() => process.exit(1), 100);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: setup.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return;
        // A record batch read in place may start below the fetch offset: its records there are left out.
        const packed = packRecords(batch.messages as unknown as (PackedRecord | RawRecordBatch)[], Number((batch as unknown as { fetchedOffset: string }).fetchedOffset));
        if (packed.count > 0) {
          this.queued += packed.buffer.byteLength;
          post({ t: 'batch', partition: batch.partition, first: String(packed.first), last: String(packed.last), packed: packed.buffer }, [packed.buffer]);
        }
        resolveOffset(batch.lastOffset());
        // Back-pressure: fetch ahead only while the pipeline's backlog is small; keep the session alive.
        while (this.queued > setup.maxQueuedBytes && !this.stopping && isRunning()) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            setTimeout(resolve, 1000);
          });
          await heartbeat();
        }
      },
    });
    post({ t: 'running', rawBatches, batchEncoding });
  }
}

let session: Session | null = null;

port.on('message', (m: ToFetchThread) => {
  if (m.t !== 'start') {
    session?.handle(m);
    return;
  }
  const s = (session = new Session(m.setup));
  s.run().catch((err: unknown) => {
    post({ t: 'failed', error: String(err instanceof Error ? (err.stack ?? err.message) : err) });
    setTimeout(() => process.exit(1), 100);
  });
});
