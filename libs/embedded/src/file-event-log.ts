import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError, systemClock, type Clock } from '@tinycdp/common';
import { partitionForKey } from '@tinycdp/kafka';
import { PartitionLog, type PendingRecord } from './internal/partition-log';
import { OffsetStore } from './internal/offset-store';
import { fsyncDir, isErrno, writeFileAtomic } from './internal/fs-util';
import { LogConsumer, type ConsumableLog, type ConsumeOptions, type LogRecord } from './log-consumer';

export interface FileEventLogOptions {
  /** Append timestamps and retention (default: the system clock). */
  readonly clock?: Clock;
  /** A partition rolls to a new segment file past this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * Group commit: 0 (default) flushes on the next turn of the event loop, and appends arriving while an
   * fsync runs share the next one; 1–5 ms waits that long first to gather more appends per fsync.
   */
  readonly lingerMs?: number;
  /** Largest accepted record, key + value + headers (default 4 MiB). */
  readonly maxRecordBytes?: number;
}

export interface TopicConfig {
  readonly partitions: number;
  /** Segments whose newest record is older than this are deleted by `deleteExpired` (default: kept). */
  readonly retentionMs?: number | null;
}

export interface AppendRecord {
  /** Partition key (murmur2, like Kafka's default partitioner); null spreads round-robin. */
  readonly key: string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Explicit partition, overriding the key. */
  readonly partition?: number;
}

export interface AppendResult {
  readonly partition: number;
  readonly offset: number;
}

/** A partition whose torn tail was cut off when the log was opened (a crash mid-write). */
export interface LogRecoveryNote {
  readonly topic: string;
  readonly partition: number;
  readonly segment: string;
  readonly truncatedBytes: number;
  readonly reason: string;
}

interface Topic {
  readonly config: Required<TopicConfig>;
  readonly partitions: PartitionLog[];
  roundRobin: number;
}

const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;
/** Data dirs opened by this process, to refuse a second FileEventLog on the same files. */
const openDirs = new Set<string>();

function notFound(topic: string): AppError {
  return new AppError('not_found', `topic ${topic} does not exist`, { details: { topic } });
}

/**
 * A durable, partitioned, append-only event log in a directory: the embedded stand-in for Kafka.
 *
 * Layout under `<dataDir>`:
 *   log/<topic>/topic.json                 {"partitions":n,"retentionMs":…}, written atomically
 *   log/<topic>/<partition>/<base>.log     segments, named by their first offset (20 digits)
 *   offsets/<group>.json                   committed offsets of a consumer group, replaced atomically
 *   LOCK                                   pid of the process that has the log open
 * Record framing: see internal/record-codec.ts (length, CRC-32, offset, timestamp, key, value, headers).
 *
 * Guarantees: `append` resolves only after its records are written and fdatasync'ed (group commit: one
 * write + fsync per partition for all appends gathered meanwhile); offsets are dense per partition and
 * records are readable in append order once durable; `open` cuts a torn tail left by a crash and
 * recovers every acknowledged record. Keys map to partitions exactly as Kafka's default partitioner does.
 * Methods throw AppError: 'not_found' (unknown topic), 'bad_request' (bad input), 'payload_too_large',
 * 'unavailable' (I/O failure, retriable), 'internal' (corruption found), 'conflict' (dir in use).
 */
export class FileEventLog implements ConsumableLog {
  private readonly topicMap = new Map<string, Topic>();
  private readonly offsetStore: OffsetStore;
  private readonly activeGroups = new Set<string>();
  private readonly consumers = new Set<LogConsumer>();
  private readonly creating = new Map<string, Promise<void>>();
  private closed = false;
  /** Torn tails cut off at open. */
  readonly recovery: LogRecoveryNote[] = [];

  private constructor(
    readonly dataDir: string,
    private readonly opts: Required<FileEventLogOptions>,
  ) {
    this.offsetStore = new OffsetStore(join(dataDir, 'offsets'));
  }

  /** Opens (creating) the log in `dataDir` and recovers every topic found there. */
  static async open(dataDir: string, options: FileEventLogOptions = {}): Promise<FileEventLog> {
    const dir = resolve(dataDir);
    const opts: Required<FileEventLogOptions> = {
      clock: options.clock ?? systemClock,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      lingerMs: Math.min(Math.max(options.lingerMs ?? 0, 0), 5),
      maxRecordBytes: options.maxRecordBytes ?? 4 * 1024 * 1024,
    };
    await mkdir(join(dir, 'log'), { recursive: true });
    await mkdir(join(dir, 'offsets'), { recursive: true });
    await lock(dir);
    const log = new FileEventLog(dir, opts);
    try {
      for (const name of await readdir(join(dir, 'log'))) {
        if (!TOPIC_RE.test(name)) continue;
        let config: Required<TopicConfig>;
        try {
          config = JSON.parse(await readFile(join(dir, 'log', name, 'topic.json'), 'utf8')) as Required<TopicConfig>;
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue; // a createTopic that crashed before its config was durable
          throw err;
        }
        await log.openTopic(name, config);
      }
    } catch (err) {
      await log.close().catch(() => undefined);
      throw err instanceof AppError ? err : new AppError('unavailable', `open event log failed: ${(err as Error).message}`, { cause: err });
    }
    return log;
  }

  /** Creates the topic if missing (idempotent; an existing topic keeps its settings, like ensureTopics). */
  async createTopic(topic: string, config: TopicConfig): Promise<void> {
    this.assertOpen();
    if (this.topicMap.has(topic)) return;
    if (!TOPIC_RE.test(topic)) throw new AppError('bad_request', `invalid topic name ${JSON.stringify(topic)}`);
    if (!Number.isInteger(config.partitions) || config.partitions < 1 || config.partitions > 10_000) {
      throw new AppError('bad_request', `invalid partition count ${config.partitions}`);
    }
    let creating = this.creating.get(topic);
    if (!creating) {
      const full: Required<TopicConfig> = { partitions: config.partitions, retentionMs: config.retentionMs ?? null };
      creating = (async () => {
        const tdir = join(this.dataDir, 'log', topic);
        await mkdir(tdir, { recursive: true });
        await fsyncDir(join(this.dataDir, 'log'));
        await writeFileAtomic(join(tdir, 'topic.json'), JSON.stringify(full));
        await this.openTopic(topic, full);
      })().finally(() => this.creating.delete(topic));
      this.creating.set(topic, creating);
    }
    await creating;
  }

  topics(): string[] {
    return [...this.topicMap.keys()];
  }

  isOpen(): boolean {
    return !this.closed;
  }

  hasTopic(topic: string): boolean {
    return this.topicMap.has(topic);
  }

  partitions(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  /**
   * Appends records; resolves with each record's partition and offset (in input order) once all of them
   * are fsync'ed. Records of one call keep their order within each partition.
   */
  async append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    this.assertOpen();
    const t = this.topic(topic);
    const n = t.partitions.length;
    const byPartition = new Map<number, { index: number; record: PendingRecord }[]>();
    records.forEach((r, index) => {
      const partition = this.partitionFor(t, r);
      if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
        throw new AppError('bad_request', `partition ${partition} out of range for ${topic} (${n} partitions)`);
      }
      const value = r.value === null ? null : typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
      const headers = r.headers ?? {};
      let size = (value?.length ?? 0) + (r.key === null ? 0 : Buffer.byteLength(r.key));
      for (const [k, v] of Object.entries(headers)) {
        const kl = Buffer.byteLength(k);
        if (kl > 0xffff) throw new AppError('bad_request', 'header name too long');
        size += kl + Buffer.byteLength(v);
      }
      if (size > this.opts.maxRecordBytes) {
        throw new AppError('payload_too_large', `record of ${size} bytes exceeds ${this.opts.maxRecordBytes}`);
      }
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, (list = []));
      list.push({ index, record: { key: r.key, value, headers } });
    });
    const out: AppendResult[] = new Array(records.length);
    await Promise.all(
      [...byPartition].map(async ([partition, list]) => {
        const offsets = await t.partitions[partition]!.append(list.map((l) => l.record));
        list.forEach((l, i) => (out[l.index] = { partition, offset: offsets[i]! }));
      }),
    );
    return out;
  }

  /** Up to `maxRecords` durable records of a partition from `fromOffset` (within about `maxBytes`). */
  async read(topic: string, partition: number, fromOffset: number, maxRecords = 500, maxBytes = 1_048_576): Promise<LogRecord[]> {
    const p = this.partition(topic, partition);
    const records = await p.read(fromOffset, maxRecords, maxBytes);
    return records.map((r) => ({
      partition,
      offset: String(r.offset),
      key: r.key,
      value: r.value,
      timestamp: String(r.timestamp),
      headers: r.headers,
    }));
  }

  /** Oldest stored offset and the high watermark (next offset) of a partition. */
  offsets(topic: string, partition: number): { low: number; high: number } {
    const p = this.partition(topic, partition);
    return { low: p.low, high: p.high };
  }

  /** Committed offsets (next to consume) of a group for a topic, by partition. */
  committed(group: string, topic: string): Promise<Map<number, number>> {
    return this.offsetStore.get(group, topic);
  }

  /** Commits next-to-consume offsets for a group; resolves once durable. */
  commit(group: string, topic: string, offsets: Iterable<readonly [number, number]>): Promise<void> {
    return this.offsetStore.commit(group, topic, offsets);
  }

  /** Forgets a group's committed offsets (e.g. to rebuild in-memory state from the start of the log). */
  async deleteGroup(group: string): Promise<void> {
    if ([...this.activeGroups].some((g) => g.startsWith(`${group}\u0000`))) {
      throw new AppError('conflict', `consumer group ${group} is running`);
    }
    await this.offsetStore.delete(group);
  }

  onAppend(topic: string, partition: number, listener: (high: number) => void): () => void {
    return this.partition(topic, partition).onAppend(listener);
  }

  /**
   * Starts a consumer over every partition of `topic` (see ConsumeOptions); without `group` it is a
   * plain tail (e.g. segment changes streamed over HTTP). Throws AppError('conflict') if the group
   * already has a running consumer on this topic.
   */
  async consume(opts: ConsumeOptions): Promise<LogConsumer> {
    this.assertOpen();
    this.topic(opts.topic);
    const slot = opts.group === undefined ? null : `${opts.group}\u0000${opts.topic}`;
    if (slot !== null) {
      if (this.activeGroups.has(slot)) {
        throw new AppError('conflict', `consumer group ${opts.group} already consumes ${opts.topic} in this process`);
      }
      this.activeGroups.add(slot);
    }
    const consumer = new LogConsumer(this, opts, () => {
      if (slot !== null) this.activeGroups.delete(slot);
      this.consumers.delete(consumer);
    });
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (err) {
      if (slot !== null) this.activeGroups.delete(slot);
      this.consumers.delete(consumer);
      throw err;
    }
    return consumer;
  }

  /** Tails a topic from now on (or from the start), committing nothing. Stop it with `stop()`. */
  tail(
    topic: string,
    handler: ConsumeOptions['handler'],
    options: Omit<ConsumeOptions, 'topic' | 'group' | 'handler'> = {},
  ): Promise<LogConsumer> {
    return this.consume({ ...options, topic, handler });
  }

  /** Counters for metrics: group commits (write + fdatasync) done and records stored, over all partitions. */
  stats(): { flushes: number; records: number } {
    let flushes = 0;
    let records = 0;
    for (const t of this.topicMap.values()) {
      for (const p of t.partitions) {
        flushes += p.flushes;
        records += p.high - p.low;
      }
    }
    return { flushes, records };
  }

  /** Deletes segments older than each topic's retention; returns how many were removed. */
  async deleteExpired(): Promise<number> {
    const now = this.opts.clock.now();
    let n = 0;
    for (const t of this.topicMap.values()) {
      if (t.config.retentionMs === null) continue;
      for (const p of t.partitions) n += await p.deleteOlderThan(now - t.config.retentionMs);
    }
    return n;
  }

  /** Stops consumers, waits for queued appends to be durable, closes files, releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    for (const t of this.topicMap.values()) await Promise.all(t.partitions.map((p) => p.close()));
    await unlock(this.dataDir);
  }

  private async openTopic(name: string, config: Required<TopicConfig>): Promise<void> {
    const partitions: PartitionLog[] = [];
    for (let p = 0; p < config.partitions; p++) {
      const pdir = join(this.dataDir, 'log', name, String(p));
      await mkdir(pdir, { recursive: true });
      const { log, recovery } = await PartitionLog.open(pdir, {
        clock: this.opts.clock,
        segmentBytes: this.opts.segmentBytes,
        lingerMs: this.opts.lingerMs,
        maxFlushBytes: 16 * 1024 * 1024,
      });
      partitions.push(log);
      if (recovery) this.recovery.push({ topic: name, partition: p, ...recovery });
    }
    await fsyncDir(join(this.dataDir, 'log', name));
    this.topicMap.set(name, { config, partitions, roundRobin: 0 });
  }

  private partitionFor(t: Topic, r: AppendRecord): number {
    if (r.partition !== undefined) return r.partition;
    if (r.key === null) return t.roundRobin++ % t.partitions.length;
    return partitionForKey(r.key, t.partitions.length);
  }

  private topic(name: string): Topic {
    const t = this.topicMap.get(name);
    if (!t) throw notFound(name);
    return t;
  }

  private partition(topic: string, partition: number): PartitionLog {
    const p = this.topic(topic).partitions[partition];
    if (!p) throw new AppError('bad_request', `partition ${partition} out of range for ${topic}`);
    return p;
  }

  private assertOpen(): void {
    if (this.closed) throw new AppError('unavailable', 'event log is closed');
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

/** One process per data dir: a LOCK file with our pid; a lock whose process died is taken over. */
async function lock(dir: string): Promise<void> {
  if (openDirs.has(dir)) throw new AppError('conflict', `event log ${dir} is already open in this process`);
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      openDirs.add(dir);
      return;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new AppError('conflict', `event log ${dir} is in use by process ${pid} (delete ${path} if it is not)`);
    }
    await rm(path, { force: true });
  }
  throw new AppError('conflict', `could not lock event log ${dir}`);
}

async function unlock(dir: string): Promise<void> {
  if (!openDirs.delete(dir)) return;
  await rm(join(dir, 'LOCK'), { force: true });
}
