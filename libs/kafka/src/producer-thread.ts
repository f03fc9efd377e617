/**
 * The thread of a ThreadedProducer (threaded-producer.ts): a kafkajs producer (PRODUCER_CONFIG) whose
 * record batches are encoded by `encodeRecordBatch` (installed in this thread only), sending what the
 * owning thread asks it to and answering each request once the broker acked it or kafkajs gave up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { PRODUCER_CONFIG } from './batching-producer';
import { installRecordBatchEncoding } from './record-batch-encoding';
import type { FromProducerThread, KafkaConnection, ToProducerThread } from './threaded-producer';

// Before the first produce loads kafkajs' produce request (it reads the record encoders once).
const encoding = installRecordBatchEncoding();
const port = parentPort!;
const post = (m: FromProducerThread) => port.postMessage(m);

/** Structured clone turns a Buffer into a Uint8Array: kafkajs wants Buffers. */
const asBuffer = <T>(v: T | Uint8Array): T | Buffer => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

function headersOf(h: Record<string, unknown>): Message['headers'] {
  const out: NonNullable<Message['headers']> = {};
  for (const k of Object.keys(h)) {
    const v = h[k];
    out[k] = Array.isArray(v) ? v.map((x) => asBuffer(x as string | Buffer)) : (asBuffer(v as string | Buffer | undefined) as string | Buffer | undefined);
  }
  return out;
}

const { connection } = workerData as { connection: KafkaConnection };
const kafka = new Kafka({ ...connection, logLevel: connection.logLevel ?? logLevel.WARN });
const producer = kafka.producer(PRODUCER_CONFIG);

port.on('message', (m: ToProducerThread) => {
  if (m.t === 'send') {
    const { id, batch } = m;
    producer
      .sendBatch({
        acks: batch.acks,
        timeout: batch.timeout,
        ...(batch.compression === undefined ? {} : { compression: batch.compression }),
        topicMessages: batch.topicMessages.map((t) => ({
          topic: t.topic,
          messages: t.messages.map((r): Message => ({ key: asBuffer(r.key), value: asBuffer(r.value), ...(r.headers ? { headers: headersOf(r.headers) } : {}) })),
        })),
      })
      .then(
        () => post({ t: 'sent', id, error: null }),
        (err: unknown) => post({ t: 'sent', id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
      );
  } else if (m.t === 'stop') {
    void producer
      .disconnect()
      .catch(() => undefined)
      .then(() => {
        post({ t: 'stopped' });
        port.close();
      });
  }
});

producer.connect().then(
  () => post({ t: 'ready', encoding }),
  (err: unknown) => {
    post({ t: 'failed', error: err instanceof Error ? err.message : String(err) });
    port.close();
  },
);
