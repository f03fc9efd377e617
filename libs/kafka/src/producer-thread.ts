/**
 * The thread of a ThreadedProducer (threaded-producer.ts): a kafkajs producer (PRODUCER_CONFIG) whose
 * record batches are encoded by `encodeRecordBatch` (installed in this thread only), sending what the
 * owning thread asks it to and answering each request once the broker acked it or kafkajs gave up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { PRODUCER_CONFIG } from './batching-producer';
import { installRecordBatchEncoding } from './record-batch-encoding';
import { messageFromClone, type FromProducerThread, type KafkaConnection, type ToProducerThread } from './threaded-producer';

// Before the first produce loads kafkajs' produce request (it reads the record encoders once).
const encoding = installRecordBatchEncoding();
const port = parentPort!;
const post = (m: FromProducerThread) => port.postMessage(m);

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
          messages: t.messages.map(messageFromClone),
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
