import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompressionTypes, IHeaders, Message } from 'kafkajs';
import { AppError } from '@tinycdp/common';

/** The kafkajs client settings a thread can be given (plain data: no functions, no sockets). */
export interface KafkaConnection {
  readonly clientId: string;
  readonly brokers: string[];
  readonly ssl?: boolean;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  readonly retry?: { readonly retries?: number; readonly initialRetryTime?: number; readonly maxRetryTime?: number };
  /** kafkajs' logLevel (default WARN). */
  readonly logLevel?: number;
}

/** What BatchingProducer sends: kafkajs' `sendBatch` argument, records as plain data. */
export interface RecordsBatch {
  readonly topicMessages: { readonly topic: string; readonly messages: { readonly key?: string | Buffer | null; readonly value: string | Buffer | null; readonly headers?: IHeaders }[] }[];
  readonly acks: number;
  readonly timeout: number;
  readonly compression?: CompressionTypes;
}

export type ToProducerThread = { readonly t: 'send'; readonly id: number; readonly batch: RecordsBatch } | { readonly t: 'stop' };

export type FromProducerThread =
  /** Connected; `encoding`: record batches are encoded by encodeRecordBatch (record-batch-encoding.ts). */
  | { readonly t: 'ready'; readonly encoding: boolean }
  | { readonly t: 'failed'; readonly error: string }
  /** A send done: acked (error null) or failed. */
  | { readonly t: 'sent'; readonly id: number; readonly error: string | null }
  | { readonly t: 'stopped' };

const THREAD_URL = new URL('./producer-thread.mjs', import.meta.url);

/** Structured clone turns a Buffer into a Uint8Array: kafkajs wants Buffers. */
function asBuffer<T>(v: T | Uint8Array): T | Buffer {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

/** A message as it came through postMessage, as kafkajs takes it (Buffers again, header values too). */
export function messageFromClone(m: {
  readonly key?: string | Uint8Array | null;
  readonly value: string | Uint8Array | null;
  readonly headers?: Readonly<Record<string, unknown>>;
}): Message {
  const out: Message = { key: asBuffer(m.key), value: asBuffer(m.value) };
  if (m.headers) {
    const headers: NonNullable<Message['headers']> = {};
    for (const k of Object.keys(m.headers)) {
      const v = m.headers[k] as string | Uint8Array | (string | Uint8Array)[] | undefined;
      headers[k] = Array.isArray(v) ? v.map((x) => asBuffer(x)) : asBuffer(v);
    }
    out.headers = headers;
  }
  return out;
}

/** TINYCDP_PRODUCE_THREAD's values: see `produceThread`. */
export const PRODUCE_THREAD_SETTING = /^(auto|true|false|yes|no|on|off)$/i;

/**
 * Whether ingest's Kafka producer runs on a thread of its own (ThreadedProducer) for TINYCDP_PRODUCE_THREAD.
 * `auto`: from 2 cores — on one the thread would only take turns with the HTTP thread. Measured on a
 * 2-vCPU VM (the ingest bench: 100-event batches, 8 connections): 30–34k events/s against 20–24k with
 * the producer on the HTTP thread, 0.91× raw kafkajs sendBatch against 0.57×.
 */
export function produceThread(setting: string | undefined, cores = availableParallelism()): boolean {
  const v = (setting ?? 'auto').toLowerCase();
  if (v === 'auto') return cores >= 2;
  return ['true', 'yes', 'on'].includes(v);
}

/**
 * A kafkajs producer (PRODUCER_CONFIG) on a thread of its own, for BatchingProducer: the records'
 * encoding — most of a producer's CPU — runs there, in one pass per batch (record-batch-encoding.ts),
 * not on the thread that serves HTTP. `sendBatch` resolves once the broker acked. A thread that fails to
 * connect or exits fails the sends under way (retriable: ingest answers 503) and is started again by the
 * next send.
 */
export class ThreadedProducer {
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  private ids = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  /** Whether the (last started) thread encodes record batches in one pass (null: not started yet). */
  encoding: boolean | null = null;

  constructor(private readonly connection: KafkaConnection) {}

  /** Starts the thread and connects its producer (again after it exited). */
  connect(): Promise<void> {
    return this.started().then(() => undefined);
  }

  private started(): Promise<Worker> {
    this.ready ??= this.spawn().catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private spawn(): Promise<Worker> {
    const worker = new Worker(THREAD_URL, { workerData: { connection: this.connection } });
    return new Promise<Worker>((resolve, reject) => {
      worker.on('message', (m: FromProducerThread) => {
        if (m.t === 'ready') {
          this.worker = worker;
          this.encoding = m.encoding;
          resolve(worker);
        } else if (m.t === 'failed') {
          reject(new AppError('unavailable', `Kafka producer could not connect: ${m.error}`, { retriable: true }));
          void worker.terminate(); // the next send starts another
        } else if (m.t === 'sent') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.error === null) p?.resolve();
          else p?.reject(new Error(m.error));
        }
      });
      worker.on('error', (err) => reject(err));
      worker.on('exit', (code) => {
        reject(new Error(`Kafka producer thread exited (code ${code}) before it connected`));
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = null;
        const failed = [...this.pending.values()];
        this.pending.clear();
        for (const p of failed) p.reject(new Error(`Kafka producer thread exited (code ${code})`));
      });
    });
  }

  /** Produces `batch`; resolves once the broker acked every record (acks as given). */
  async sendBatch(batch: RecordsBatch): Promise<void> {
    const worker = await this.started();
    await new Promise<void>((resolve, reject) => {
      const id = ++this.ids;
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ t: 'send', id, batch } satisfies ToProducerThread);
    });
  }

  /** Disconnects the producer and ends the thread (sends under way finish first). */
  async disconnect(): Promise<void> {
    const ready = this.ready;
    this.ready = null;
    const worker = await ready?.catch(() => null);
    if (!worker) return;
    while (this.pending.size > 0) await new Promise((r) => setTimeout(r, 10));
    const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ t: 'stop' } satisfies ToProducerThread);
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    await stopped;
    clearTimeout(timer);
  }
}
