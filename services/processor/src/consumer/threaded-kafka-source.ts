import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { AppError } from '@tinycdp/common';
import { DEFAULT_FETCH_MB, type RecordProducer } from '@tinycdp/kafka';
import type { EventSource, LagReport, LogMessage } from '../ports';
import type { FetchThreadSetup, FromFetchThread, KafkaConnection, SendRequest, ToFetchThread } from './fetch-thread-protocol';
import { GroupLag } from './group-lag';
import { unpackRecords } from './packed-records';

export interface ThreadedKafkaEventSourceOptions {
  /** Most events per handler call: a partition's backlog is handled in calls of up to this many. */
  readonly chunkSize?: number;
  readonly sessionTimeoutMs?: number;
  /** MiB per fetch of a fetch thread (processorConsumerConfig). */
  readonly fetchMb?: number;
  /**
   * MiB fetched ahead and not yet processed, at most (default twice `fetchMb`), shared by the threads:
   * each stops fetching ahead at its share, or at `fetchMb` if that is more.
   */
  readonly maxQueuedMb?: number;
  /**
   * Join the group but fetch nothing until `resume()` (e.g. so that every instance of a group holds its
   * share of the partitions before any of them handles an event).
   */
  readonly startPaused?: boolean;
  /**
   * Kafka threads (default 1): each a consumer of the group with its share of the partitions, so
   * fetches are decoded in parallel (a backlog's first fetch no longer waits on one core).
   */
  readonly threads?: number;
}

/** One partition's records handed over by one fetch thread and not yet processed. */
interface Lane {
  readonly partition: number;
  readonly worker: Worker;
  readonly queue: { packed: ArrayBuffer; from: number }[];
  /** Records of a split packet not handled yet (they go first), and that packet's bytes. */
  rest: LogMessage[];
  restBytes: number;
  /** Offset after the last record queued: a re-fetched record below it (after a rebalance) is dropped. */
  next: number;
  busy: boolean;
}

type Handler = (messages: readonly LogMessage[]) => Promise<void>;

/** Bytes of the packets a lane holds and has not handed to a call yet. */
function laneBytes(lane: Lane): number {
  return lane.queue.reduce((s, q) => s + q.packed.byteLength, lane.restBytes);
}

const DEFAULT_CHUNK_SIZE = 40_000;
const RETRY_MS = [200, 500, 1000, 2000, 5000];
const RESPAWN_MS = 1000;
const THREAD_URL = new URL('./fetch-thread.mjs', import.meta.url);

/**
 * Fetch threads stopped sources left, kept for the next source of this process: their kafkajs decoding
 * and packing are compiled already (a new thread starts cold: slower, and its compiler and collector
 * compete with the pipeline for cores). Unreferenced, so they never keep the process alive; MAX_SPARES at most.
 */
const spares: Worker[] = [];
const MAX_SPARES = 4;

/** Our listeners only: Node's own (newListener/removeListener, which ref the port) must stay. */
function detach(w: Worker) {
  for (const event of ['message', 'error', 'exit']) w.removeAllListeners(event);
}

function takeThread(): Worker {
  const w = spares.pop();
  if (!w) return new Worker(THREAD_URL);
  detach(w);
  w.ref();
  return w;
}

function parkThread(w: Worker) {
  detach(w);
  if (spares.length >= MAX_SPARES) {
    void w.terminate();
    return;
  }
  spares.push(w);
  w.unref();
  w.on('error', () => undefined); // an idle thread's failure matters to nobody: it is dropped on exit
  w.once('exit', () => {
    const i = spares.indexOf(w);
    if (i >= 0) spares.splice(i, 1);
  });
}

/** Stops a fetch thread: it leaves the group and is kept for the next source ('stopped'), or ended (no answer). */
async function stopThread(worker: Worker) {
  const stopped = new Promise<boolean>((resolve) => {
    worker.on('message', (m: FromFetchThread) => m.t === 'stopped' && resolve(true));
    worker.once('exit', () => resolve(false));
  });
  worker.postMessage({ t: 'stop' } satisfies ToFetchThread);
  let timer: NodeJS.Timeout | undefined;
  const reusable = await Promise.race([stopped, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 30_000)))]);
  clearTimeout(timer);
  if (reusable) parkThread(worker);
  else await worker.terminate();
}

/**
 * The consumer-group edge of the processor with fetching on threads of its own: kafkajs consumers in
 * worker threads (fetch-thread.ts; `threads` of them, each a member of the group with its share of the
 * partitions) fetch and decode records while this thread runs the pipeline, and fetch ahead (up to
 * `maxQueuedMb`) instead of waiting for the pipeline between fetches. Each
 * partition is a lane: its queued records go to the handler in offset order, in calls of up to
 * `chunkSize` (everything that arrived while the previous call ran), one call per lane at a time and
 * the lanes concurrently. An offset is committed only after the handler resolved for every record before
 * it; a throwing handler gets the same records again (with backoff) — the EventSource contract of
 * KafkaEventSource, whose consumer runs on the pipeline thread. A fetch thread that dies is replaced
 * (its successor starts from the committed offsets); a stopped source leaves its threads to the next
 * source of the process (`spares`).
 */
export class ThreadedKafkaEventSource implements EventSource {
  /** The Kafka threads running, with the partitions each holds. */
  private readonly threads = new Map<Worker, readonly number[]>();
  private readonly lanes = new Map<number, Lane>();
  private readonly inFlight = new Set<Promise<void>>();
  /** The handler call under way per partition, whichever lane (current or dropped) made it. */
  private readonly calling = new Map<number, Promise<void>>();
  private stopping = false;
  private handler: Handler | null = null;
  private onAssignment: (partitions: number[]) => void = () => undefined;
  private readonly opts: Required<ThreadedKafkaEventSourceOptions>;
  private readonly groupLag: GroupLag;
  /** Names this source to the group's assigner: its threads share its partitions. */
  private readonly instanceId = randomUUID();
  private resumed = false;
  /**
   * Whether the (last started) Kafka thread packs plain record batches from their bytes and encodes
   * produced ones in one pass (null: none started yet).
   */
  codecs: { rawBatches: boolean; batchEncoding: boolean } | null = null;
  /** Produce requests on the Kafka thread awaiting its answer. */
  private sendIds = 0;
  private readonly sends = new Map<number, { worker: Worker; resolve: () => void; reject: (err: unknown) => void }>();

  constructor(
    kafka: Kafka,
    private readonly connection: KafkaConnection,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly logger: Logger,
    options: ThreadedKafkaEventSourceOptions = {},
  ) {
    const fetchMb = options.fetchMb ?? DEFAULT_FETCH_MB;
    this.opts = {
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      fetchMb,
      maxQueuedMb: options.maxQueuedMb ?? 2 * fetchMb,
      startPaused: options.startPaused ?? false,
      threads: options.threads ?? 1,
    };
    if (!Number.isInteger(this.opts.threads) || this.opts.threads < 1) throw new Error(`threads must be a positive integer, got ${this.opts.threads}`);
    this.groupLag = new GroupLag(kafka, topic, groupId);
  }

  start(handler: Handler, onAssignment: (partitions: number[]) => void): Promise<void> {
    this.handler = handler;
    this.onAssignment = onAssignment;
    this.stopping = false;
    return Promise.all(Array.from({ length: this.opts.threads }, () => this.spawn())).then(() => undefined);
  }

  /** Starts a fetch thread; resolves once its consumer runs. */
  private spawn(): Promise<void> {
    const setup: FetchThreadSetup = {
      connection: this.connection,
      topic: this.topic,
      groupId: this.groupId,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      fetchMb: this.opts.fetchMb,
      instanceId: this.instanceId,
      maxQueuedBytes: Math.max(this.opts.fetchMb, this.opts.maxQueuedMb / this.opts.threads) * 1_048_576,
      startPaused: this.opts.startPaused && !this.resumed,
    };
    const worker = takeThread();
    this.threads.set(worker, []);
    const started = new Promise<void>((resolve, reject) => {
      let running = false;
      worker.on('message', (m: FromFetchThread) => {
        switch (m.t) {
          case 'running':
            running = true;
            this.codecs = { rawBatches: m.rawBatches, batchEncoding: m.batchEncoding };
            if (!m.rawBatches || !m.batchEncoding) this.logger.warn(this.codecs, 'kafka_thread_codecs_unavailable');
            resolve();
            break;
          case 'failed':
            reject(new Error(`fetch thread failed: ${m.error}`));
            break;
          case 'assigned': {
            this.assigned(worker, m.partitions);
            // What this source holds (its threads' shares as each last reported them), and this thread's share.
            const all = [...new Set([...this.threads.values()].flat())].sort((a, b) => a - b);
            this.logger.info({ partitions: all, thread: m.partitions }, 'partitions_assigned');
            this.onAssignment(all);
            break;
          }
          case 'batch':
            this.enqueue(worker, m.partition, m.first, m.last, m.packed);
            break;
          case 'log':
            this.logger[m.level]({ detail: m.detail }, m.msg);
            break;
          case 'sent':
            this.sent(m.id, m.error);
            break;
          case 'stopped':
            break;
        }
      });
      worker.on('error', (err) => {
        this.logger.error({ err }, 'fetch_thread_error');
        if (!running) reject(err);
      });
      worker.on('exit', (code) => {
        if (!this.threads.delete(worker)) return; // stopped
        if (!running) {
          reject(new Error(`fetch thread exited (code ${code}) before its consumer ran`));
          return;
        }
        // Its lanes' records come again from the committed offsets, through the next thread; its sends
        // under way failed (their callers retry).
        this.logger.error({ code }, 'fetch_thread_exited_respawning');
        for (const lane of [...this.lanes.values()]) if (lane.worker === worker) this.drop(lane);
        for (const [id, s] of [...this.sends]) if (s.worker === worker) this.sent(id, `Kafka thread exited (code ${code})`);
        setTimeout(() => {
          if (!this.stopping && this.threads.size < this.opts.threads) this.spawn().catch((err: unknown) => this.logger.error({ err }, 'fetch_thread_respawn_failed'));
        }, RESPAWN_MS);
      });
    });
    worker.postMessage({ t: 'start', setup } satisfies ToFetchThread);
    return started;
  }

  /** Thread id of the (first) fetch thread (null while there is none). */
  get threadId(): number | null {
    return this.firstThread()?.threadId ?? null;
  }

  private firstThread(): Worker | null {
    for (const w of this.threads.keys()) return w;
    return null;
  }

  private send(worker: Worker, m: ToFetchThread) {
    if (this.threads.has(worker)) worker.postMessage(m);
  }

  /**
   * A thread's new share of the partitions: its lanes of partitions it no longer holds are dropped (their
   * next owner — another process, or another thread of this one — starts from the committed offset).
   */
  private assigned(worker: Worker, partitions: readonly number[]) {
    if (!this.threads.has(worker)) return; // stopped or exited meanwhile
    this.threads.set(worker, partitions);
    const held = new Set(partitions);
    for (const [p, lane] of this.lanes) if (lane.worker === worker && !held.has(p)) this.drop(lane);
  }

  private drop(lane: Lane) {
    this.lanes.delete(lane.partition);
    const bytes = laneBytes(lane);
    lane.queue.length = 0;
    lane.rest = [];
    if (bytes > 0) this.send(lane.worker, { t: 'processed', partition: lane.partition, next: null, bytes });
  }

  private enqueue(worker: Worker, partition: number, first: string, last: string, packed: ArrayBuffer) {
    let lane = this.lanes.get(partition);
    // Moved to another thread of this source (its old thread's assignment may not have come yet).
    if (lane && lane.worker !== worker) {
      this.drop(lane);
      lane = undefined;
    }
    if (!lane) {
      // A partition given back after a rebalance took it: a call of the dropped lane may still run, over
      // records the new lane gets again (nothing was committed past it). The new lane waits for it: one
      // call per partition at a time, always.
      const prior = this.calling.get(partition);
      const fresh: Lane = { partition, worker, queue: [], rest: [], restBytes: 0, next: Number(first), busy: prior !== undefined };
      const go = () => {
        fresh.busy = false;
        if (this.lanes.get(partition) === fresh) this.pump(fresh);
      };
      prior?.then(go, go);
      this.lanes.set(partition, (lane = fresh));
    }
    if (this.stopping || Number(last) < lane.next) {
      this.send(worker, { t: 'processed', partition, next: null, bytes: packed.byteLength });
      return;
    }
    lane.queue.push({ packed, from: lane.next });
    lane.next = Number(last) + 1;
    this.pump(lane);
  }

  private pump(lane: Lane) {
    if (lane.busy || (lane.queue.length === 0 && lane.rest.length === 0) || this.stopping) return;
    lane.busy = true;
    const run = this.drain(lane).finally(() => {
      this.inFlight.delete(run);
      if (this.calling.get(lane.partition) === run) this.calling.delete(lane.partition);
      lane.busy = false;
      if (this.lanes.get(lane.partition) === lane) this.pump(lane);
    });
    this.inFlight.add(run);
    this.calling.set(lane.partition, run);
  }

  /** One handler call over the lane's queued records (up to chunkSize), retried until it succeeds. */
  private async drain(lane: Lane) {
    // A chunk that ends inside a packet leaves the packet's other records first in the lane; the packet's
    // bytes are released with the call that takes its last record.
    const messages = lane.rest;
    let held = lane.restBytes; // bytes of the packet `messages` ends in
    let bytes = 0;
    lane.rest = [];
    lane.restBytes = 0;
    while (lane.queue.length > 0 && messages.length < this.opts.chunkSize) {
      const q = lane.queue.shift()!;
      for (const m of unpackRecords(lane.partition, q.packed, q.from)) messages.push(m);
      bytes += held;
      held = q.packed.byteLength;
    }
    if (messages.length > this.opts.chunkSize) {
      lane.rest = messages.splice(this.opts.chunkSize);
      lane.restBytes = held;
    } else bytes += held;
    for (let attempt = 0; ; attempt++) {
      try {
        if (messages.length > 0) await this.handler!(messages);
        break;
      } catch (err) {
        this.logger.warn({ err, partition: lane.partition, attempt }, 'batch_failed_retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
        // Stopping, or revoked meanwhile: nothing is committed, the next consumer gets these records again.
        if (this.stopping || this.lanes.get(lane.partition) !== lane) return;
      }
    }
    const next = messages.length > 0 ? String(Number(messages[messages.length - 1]!.offset) + 1) : null;
    this.send(lane.worker, { t: 'processed', partition: lane.partition, next, bytes });
  }

  async stop() {
    this.stopping = true;
    await Promise.allSettled([...this.inFlight]);
    const workers = [...this.threads.keys()];
    this.threads.clear();
    await Promise.all(workers.map((w) => stopThread(w)));
    for (const id of [...this.sends.keys()]) this.sent(id, 'the event source stopped');
    this.lanes.clear();
    await this.groupLag.close();
  }

  /** Starts fetching after `startPaused`. */
  resume() {
    this.resumed = true;
    for (const w of this.threads.keys()) w.postMessage({ t: 'resume' } satisfies ToFetchThread);
  }

  lag(): Promise<LagReport[]> {
    return this.groupLag.report();
  }

  /**
   * A producer on the (first) Kafka thread (idempotent, one request in flight, like the pipeline's
   * own): what it sends is encoded there, not on the pipeline thread. Usable while the source runs; a
   * send when the thread is not there (stopped, or being replaced) fails as retriable.
   */
  readonly producer: RecordProducer = {
    send: (record) =>
      new Promise((resolve, reject) => {
        const worker = this.firstThread();
        if (!worker) {
          reject(new AppError('unavailable', 'the Kafka thread is not running', { retriable: true }));
          return;
        }
        const id = ++this.sendIds;
        this.sends.set(id, { worker, resolve: () => resolve([]), reject });
        const request: SendRequest = {
          topic: record.topic,
          acks: record.acks ?? -1,
          messages: record.messages.map((m) => ({
            key: (m.key ?? null) as string | Buffer | null,
            value: m.value,
            ...(m.headers ? { headers: m.headers as Record<string, string | Buffer> } : {}),
          })),
        };
        worker.postMessage({ t: 'send', id, request } satisfies ToFetchThread);
      }),
  };

  private sent(id: number, error: string | null) {
    const s = this.sends.get(id);
    if (!s) return;
    this.sends.delete(id);
    if (error === null) s.resolve();
    else s.reject(new AppError('unavailable', `produce failed: ${error}`, { retriable: true }));
  }

  /** Bytes fetched ahead and waiting in the lanes (not counting calls under way). */
  queuedBytes(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += laneBytes(lane);
    return n;
  }
}
