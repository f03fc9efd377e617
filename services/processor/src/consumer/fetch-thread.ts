/**
 * The Kafka thread of ThreadedKafkaEventSource (threaded-kafka-source.ts): a kafkajs consumer in the
 * processor's group that fetches and decodes records on its own core and hands each batch to the
 * pipeline thread packed in one transferred buffer. It fetches ahead of the pipeline (offsets are
 * resolved at once, so kafkajs fetches again without waiting), up to `maxQueuedBytes` not yet processed,
 * and commits an offset only when the pipeline thread reports the records before it processed. It also
 * produces for the pipeline thread (segment changes): kafkajs' record encoding runs here too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { processorConsumerConfig } from '@tinycdp/kafka';
import { packRecords } from './packed-records';
import type { FetchThreadSetup, FromFetchThread, SendRequest, ToFetchThread } from './fetch-thread-protocol';

const setup = workerData as FetchThreadSetup;

const port = parentPort!;
const post = (m: FromFetchThread, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

const kafka = new Kafka({ ...setup.connection, logLevel: logLevel.WARN });
const consumer = kafka.consumer({
  ...processorConsumerConfig(setup.groupId, setup.sessionTimeoutMs, setup.fetchMb),
});

/** Bytes handed over and not yet reported processed; eachBatch waits while above the limit. */
let queued = 0;
let wake: (() => void) | null = null;
/** Offsets to commit (next offset per partition), sent in one request at a time. */
const toCommit = new Map<number, string>();
let committing: Promise<void> | null = null;
let stopping = false;
let paused = setup.startPaused;

function commitLoop(): Promise<void> {
  committing ??= (async () => {
    while (toCommit.size > 0 && !stopping) {
      const partitions = [...toCommit].map(([partition, offset]) => ({ topic: setup.topic, partition, offset }));
      toCommit.clear();
      try {
        await consumer.commitOffsets(partitions);
      } catch (err) {
        // Not ours any more (rebalance) or the coordinator moved: the next owner starts from the last
        // committed offset and the pipeline's message-id dedupe makes the replay a no-op.
        post({ t: 'log', level: 'warn', msg: 'offset_commit_failed', detail: String(err) });
      }
    }
    committing = null;
  })();
  return committing;
}

/** Idempotent, one request in flight: records of a partition stay in order (as the pipeline's own producer did). */
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
let producerReady: Promise<void> | null = null;

/** Structured clone turns a Buffer into a Uint8Array: kafkajs wants Buffers. */
const asBuffer = <T>(v: T | Uint8Array): T | Buffer => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

async function send(id: number, r: SendRequest) {
  try {
    producerReady ??= producer.connect().catch((err: unknown) => {
      producerReady = null;
      throw err;
    });
    await producerReady;
    await producer.send({
      topic: r.topic,
      acks: r.acks,
      messages: r.messages.map((m) => ({
        key: asBuffer(m.key),
        value: asBuffer(m.value),
        ...(m.headers ? { headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, asBuffer(v)])) } : {}),
      })),
    });
    post({ t: 'sent', id, error: null });
  } catch (err) {
    post({ t: 'sent', id, error: String(err instanceof Error ? err.message : err) });
  }
}

port.on('message', (m: ToFetchThread) => {
  if (m.t === 'send') {
    void send(m.id, m.request);
  } else if (m.t === 'processed') {
    queued -= m.bytes;
    if (m.next !== null) toCommit.set(m.partition, m.next);
    void commitLoop();
    if (queued <= setup.maxQueuedBytes && wake) {
      const w = wake;
      wake = null;
      w();
    }
  } else if (m.t === 'resume') {
    paused = false;
    consumer.resume([{ topic: setup.topic }]);
  } else if (m.t === 'stop') {
    void (async () => {
      await commitLoop();
      stopping = true;
      wake?.();
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      post({ t: 'stopped' });
    })();
  }
});

consumer.on(consumer.events.GROUP_JOIN, (e) => {
  // Emitted after the assignment is synced and before the generation's first fetch.
  if (paused) consumer.pause([{ topic: setup.topic }]);
  post({ t: 'assigned', partitions: (e.payload.memberAssignment[setup.topic] ?? []).slice().sort((a, b) => a - b) });
});
consumer.on(consumer.events.CRASH, (e) => {
  post({ t: 'log', level: 'error', msg: 'consumer_crashed', detail: `${String(e.payload.error)} (restart: ${e.payload.restart})` });
  // kafkajs gave up: end this thread; the pipeline thread starts another one.
  if (!e.payload.restart) setTimeout(() => process.exit(1), 100);
});

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topic: setup.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const packed = packRecords(batch.messages);
      queued += packed.byteLength;
      post({ t: 'batch', partition: batch.partition, first: batch.firstOffset()!, last: batch.lastOffset(), packed }, [packed]);
      resolveOffset(batch.lastOffset());
      // Back-pressure: fetch ahead only while the pipeline's backlog is small; keep the session alive.
      while (queued > setup.maxQueuedBytes && !stopping && isRunning()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000);
        });
        await heartbeat();
      }
    },
  });
  post({ t: 'running' });
}

main().catch((err: unknown) => {
  post({ t: 'failed', error: String(err instanceof Error ? (err.stack ?? err.message) : err) });
  setTimeout(() => process.exit(1), 100);
});
