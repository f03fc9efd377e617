/** Messages between ThreadedKafkaEventSource (pipeline thread) and its fetch thread (fetch-thread.ts). */
import type { KafkaConnection } from '@tinycdp/kafka';

export type { KafkaConnection };

export interface FetchThreadSetup {
  readonly connection: KafkaConnection;
  readonly topic: string;
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly fetchMb: number;
  /** The source's id, the same for all its threads: partitions are shared by source first (instanceAssigner). */
  readonly instanceId: string;
  /** Packed bytes handed over and not yet processed above which the fetch thread stops fetching ahead. */
  readonly maxQueuedBytes: number;
  /** Join the group but fetch nothing (on every group join) until told `resume`. */
  readonly startPaused: boolean;
}

export type FromFetchThread =
  /**
   * The consumer runs; `rawBatches`: plain record batches are packed from their bytes (raw-record-batches.ts);
   * `batchEncoding`: produced batches are encoded in one pass (@tinycdp/kafka installRecordBatchEncoding).
   */
  | { readonly t: 'running'; readonly rawBatches: boolean; readonly batchEncoding: boolean }
  | { readonly t: 'failed'; readonly error: string }
  | { readonly t: 'assigned'; readonly partitions: number[] }
  /** One partition's records in offset order, packed (packed-records.ts), first and last offset. */
  | { readonly t: 'batch'; readonly partition: number; readonly first: string; readonly last: string; readonly packed: ArrayBuffer }
  | { readonly t: 'log'; readonly level: 'warn' | 'error'; readonly msg: string; readonly detail: string }
  /** A `send` request done: acked by the broker, or failed with `error`. */
  | { readonly t: 'sent'; readonly id: number; readonly error: string | null }
  | { readonly t: 'stopped' };

/** A produce request (kafkajs `producer.send` of the thread's idempotent producer). */
export interface SendRequest {
  readonly topic: string;
  readonly acks: number;
  readonly messages: { readonly key: string | Uint8Array | null; readonly value: string | Uint8Array | null; readonly headers?: Record<string, string | Uint8Array> }[];
}

export type ToFetchThread =
  /** Begin serving a source (a new thread, or one a stopped source left; see ThreadedKafkaEventSource). */
  | { readonly t: 'start'; readonly setup: FetchThreadSetup }
  /** `bytes` of handed-over batches are done with; commit `next` for `partition` (null: nothing to commit). */
  | { readonly t: 'processed'; readonly partition: number; readonly next: string | null; readonly bytes: number }
  | { readonly t: 'send'; readonly id: number; readonly request: SendRequest }
  | { readonly t: 'resume' }
  /** Commit what is processed, leave the group; answered with `stopped`, after which the thread takes a new `start`. */
  | { readonly t: 'stop' };
