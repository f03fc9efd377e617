/**
 * The real ingest gateway for the scenarios, wired as services/ingest/src/main.ts wires it
 * (createIngestApp + KafkaSink over the BatchingProducer, PRODUCER_CONFIG, on a ThreadedProducer as
 * TINYCDP_PRODUCE_THREAD decides) with an in-memory write key,
 * on an ephemeral loopback port, producing to `topic`.
 */
import type { Kafka, Producer } from 'kafkajs';
import pino from 'pino';
import { systemClock } from '@tinycdp/common';
import { startServer, staticKeyVerifier } from '@tinycdp/http';
import { BatchingProducer, PRODUCER_CONFIG, ThreadedProducer } from '@tinycdp/kafka';
import { KAFKA_BROKERS } from './stack';
import { createIngestApp } from '../../services/ingest/src/app';
import { KafkaSink } from '../../services/ingest/src/adapters/kafka-sink';
import { produceThread } from '../../services/ingest/src/config';

export const INGEST_KEY = 'bench-write-key';

export interface RunningIngest {
  readonly url: string;
  readonly port: number;
  /** Stops the server, flushes what it accepted to Kafka, disconnects. */
  close(): Promise<void>;
}

/** Ingest's Kafka producer as services/ingest/src/main.ts makes it: on a thread of its own as TINYCDP_PRODUCE_THREAD decides. */
export function ingestProducer(kafka: Kafka): ThreadedProducer | Producer {
  return produceThread(process.env.TINYCDP_PRODUCE_THREAD) ? new ThreadedProducer({ clientId: 'bench-ingest', brokers: [...KAFKA_BROKERS] }) : kafka.producer(PRODUCER_CONFIG);
}

export async function startIngest(kafka: Kafka, topic: string): Promise<RunningIngest> {
  const producer = ingestProducer(kafka);
  await producer.connect();
  const batching = new BatchingProducer(producer);
  const app = createIngestApp({
    sink: new KafkaSink({ producer: batching, topic }),
    keys: staticKeyVerifier([{ secret: INGEST_KEY, id: 'bench', scope: 'write' }]),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
  });
  const server = await startServer(app, 0, '127.0.0.1');
  return {
    url: server.url,
    port: server.port,
    async close() {
      await server.close();
      await batching.flush();
      await producer.disconnect();
    },
  };
}

/**
 * POSTs `messages` to `/v1/batch` in batches of `batch`, `concurrency` requests in flight; resolves
 * once every batch was answered 200 with all its items accepted (ingest answers only after Kafka acked).
 * @throws Error naming the first batch that was not fully accepted.
 */
export async function postBatches(ingest: RunningIngest, messages: readonly Record<string, unknown>[], batch = 100, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < messages.length) {
      const from = next;
      next += batch;
      const items = messages.slice(from, from + batch);
      const res = await fetch(`${ingest.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_KEY}` },
        body: JSON.stringify({ batch: items }),
      });
      const body = (await res.json()) as { accepted?: number };
      if (res.status !== 200 || body.accepted !== items.length) {
        throw new Error(`ingest batch at ${from}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
