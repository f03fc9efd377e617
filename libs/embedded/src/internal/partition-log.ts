import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, type Clock } from '@tinycdp/common';
import { decodeRecord, encodeRecord, scanSegment, type StoredRecord } from './record-codec';
import { fsyncDir, isErrno } from './fs-util';

export interface PendingRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartitionLogOptions {
  readonly clock: Clock;
  readonly segmentBytes: number;
  /** 0: flush on the next turn of the event loop; otherwise wait this long to gather more appends. */
  readonly lingerMs: number;
  /** Upper bound of one group-commit write. */
  readonly maxFlushBytes: number;
}

export interface RecoveryNote {
  readonly segment: string;
  readonly truncatedBytes: number;
  readonly reason: string;
}

interface Segment {
  readonly base: number;
  readonly path: string;
  /** File position of each durable record. */
  readonly positions: number[];
  /** Durable size: end of the last durable record. */
  size: number;
  maxTimestamp: number;
  reader: Promise<FileHandle> | null;
}

interface Waiter {
  readonly records: readonly PendingRecord[];
  readonly timestamp: number;
  readonly resolve: (offsets: number[]) => void;
  readonly reject: (err: unknown) => void;
}

const SEGMENT_RE = /^(\d{20})\.log$/;
const segmentName = (base: number) => `${String(base).padStart(20, '0')}.log`;

function unavailable(what: string, err: unknown, retriable = true): AppError {
  return new AppError('unavailable', `event log ${what} failed: ${(err as Error)?.message ?? err}`, {
    retriable,
    cause: err,
  });
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

async function readAll(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of segment at ${position + done}`);
    done += bytesRead;
  }
}

/**
 * One partition of a topic: a directory of segment files `<20-digit base offset>.log`, appended to
 * with group commit. Offsets are assigned when a batch is written; appends resolve, and records
 * become readable and are announced to listeners, only once the batch is fsync'ed (the high watermark
 * is the durable end). A failed write is truncated away so the file never keeps a half batch.
 */
export class PartitionLog {
  private next: number;
  private readonly queue: Waiter[] = [];
  private flushing = false;
  private scheduled = false;
  private failed: AppError | null = null;
  private closed = false;
  private readonly listeners = new Set<(high: number) => void>();
  private drained: (() => void) | null = null;
  /** Group commits done (write + fdatasync), for metrics and tests. */
  flushes = 0;

  private constructor(
    private readonly dir: string,
    private readonly segments: Segment[],
    private writer: FileHandle,
    private readonly opts: PartitionLogOptions,
  ) {
    const last = segments[segments.length - 1]!;
    this.next = last.base + last.positions.length;
  }

  /**
   * Opens (creating if needed) the partition in `dir`. Scans every segment, checking CRCs and offsets;
   * a bad tail of the last segment (a crash mid-write) is truncated and reported; a bad record in an
   * older segment is corruption and throws AppError('internal').
   */
  static async open(dir: string, opts: PartitionLogOptions): Promise<{ log: PartitionLog; recovery: RecoveryNote | null }> {
    const names = (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const segments: Segment[] = [];
    let recovery: RecoveryNote | null = null;
    for (let i = 0; i < names.length; i++) {
      const path = join(dir, names[i]!);
      const base = Number(SEGMENT_RE.exec(names[i]!)![1]);
      const prev = segments[segments.length - 1];
      if (prev && prev.base + prev.positions.length !== base) {
        throw new AppError('internal', `event log corrupt: ${path} starts at ${base}, expected ${prev.base + prev.positions.length}`);
      }
      const buf = await readFile(path);
      const scan = scanSegment(buf, base);
      const isLast = i === names.length - 1;
      if (scan.stoppedAt && !isLast) {
        throw new AppError(
          'internal',
          `event log corrupt: ${path} at byte ${scan.stoppedAt.position}: ${scan.stoppedAt.reason}`,
        );
      }
      if (scan.stoppedAt) {
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(scan.validBytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        recovery = { segment: path, truncatedBytes: buf.length - scan.validBytes, reason: scan.stoppedAt.reason };
      }
      segments.push({ base, path, positions: scan.positions, size: scan.validBytes, maxTimestamp: scan.maxTimestamp, reader: null });
    }
    if (segments.length === 0) {
      const path = join(dir, segmentName(0));
      await (await open(path, 'a')).close();
      await fsyncDir(dir);
      segments.push({ base: 0, path, positions: [], size: 0, maxTimestamp: 0, reader: null });
    }
    const writer = await open(segments[segments.length - 1]!.path, 'a');
    return { log: new PartitionLog(dir, segments, writer, opts), recovery };
  }

  /** First offset still stored. */
  get low(): number {
    return this.segments[0]!.base;
  }

  /** Offset the next record will get; everything below is durable. */
  get high(): number {
    return this.next;
  }

  /** Resolves with the offsets given to `records`, in order, once they are fsync'ed. */
  append(records: readonly PendingRecord[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new AppError('unavailable', 'event log is closed'));
    if (this.failed) return Promise.reject(this.failed);
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, timestamp: this.opts.clock.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Calls `listener(high)` after each durable batch; returns the unsubscribe function. */
  onAppend(listener: (high: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Up to `maxRecords` durable records from `fromOffset` (moved up to `low` if it was deleted), within
   * one segment and about `maxBytes` (always at least one record). Empty at the high watermark.
   */
  async read(fromOffset: number, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.readOnce(fromOffset, maxRecords, maxBytes);
      } catch (err) {
        // A segment deleted by retention under our feet: try again from the new low watermark.
        if (attempt === 0 && (isErrno(err, 'ENOENT') || isErrno(err, 'EBADF'))) continue;
        throw unavailable('read', err);
      }
    }
  }

  private async readOnce(fromOffset: number, maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    const start = Math.max(fromOffset, this.low);
    if (maxRecords <= 0 || start >= this.next) return [];
    let s = this.segments.length - 1;
    while (s > 0 && this.segments[s]!.base > start) s--;
    const seg = this.segments[s]!;
    const idx = start - seg.base;
    const count = seg.positions.length;
    if (idx >= count) return [];
    const posAt = (i: number) => (i < count ? seg.positions[i]! : seg.size);
    const startPos = seg.positions[idx]!;
    let endIdx = Math.min(idx + maxRecords, count);
    while (endIdx > idx + 1 && posAt(endIdx) - startPos > maxBytes) endIdx = idx + 1 + Math.floor((endIdx - idx - 1) / 2);
    const buf = Buffer.allocUnsafe(posAt(endIdx) - startPos);
    seg.reader ??= open(seg.path, 'r');
    await readAll(await seg.reader, buf, startPos);
    const out: StoredRecord[] = [];
    let pos = 0;
    for (let i = idx; i < endIdx; i++) {
      const r = decodeRecord(buf, pos);
      if (!r.ok) throw new AppError('internal', `event log corrupt: ${seg.path} offset ${seg.base + i}: ${r.reason}`);
      out.push(r.record);
      pos = r.next;
    }
    return out;
  }

  /** Deletes whole segments (never the active one) whose newest record is older than `cutoff` (ms). */
  async deleteOlderThan(cutoff: number): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[0]!.maxTimestamp < cutoff) {
      const seg = this.segments.shift()!;
      const reader = seg.reader;
      seg.reader = null;
      await rm(seg.path, { force: true });
      if (reader) await (await reader).close().catch(() => undefined);
      deleted++;
    }
    if (deleted > 0) await fsyncDir(this.dir);
    return deleted;
  }

  /** Waits for queued appends, then closes the files. Appends after this reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing || this.queue.length > 0) {
      await new Promise<void>((r) => {
        this.drained = r;
        this.schedule();
      });
    }
    this.listeners.clear();
    await this.writer.close().catch(() => undefined);
    for (const seg of this.segments) {
      const reader = seg.reader;
      seg.reader = null;
      if (reader) await (await reader).close().catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    const run = () => void this.flush();
    if (this.opts.lingerMs > 0) setTimeout(run, this.opts.lingerMs);
    else setImmediate(run);
  }

  private takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const w = this.queue[0]!;
      let size = 0;
      for (const r of w.records) size += (r.value?.length ?? 0) + (r.key?.length ?? 0) + 64;
      if (batch.length > 0 && bytes + size > this.opts.maxFlushBytes) break;
      batch.push(this.queue.shift()!);
      bytes += size;
    }
    return batch;
  }

  /** One group commit: every queued append (up to maxFlushBytes) in one write + one fdatasync. */
  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return;
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.drained?.();
      return;
    }
    this.flushing = true;
    try {
      if (this.failed) throw this.failed;
      await this.maybeRoll();
      const seg = this.segments[this.segments.length - 1]!;
      const buffers: Buffer[] = [];
      const positions: number[] = [];
      const offsets: number[][] = [];
      let offset = this.next;
      let pos = seg.size;
      let maxTimestamp = seg.maxTimestamp;
      for (const w of batch) {
        const mine: number[] = [];
        for (const r of w.records) {
          const b = encodeRecord({ offset, timestamp: w.timestamp, key: r.key, value: r.value, headers: r.headers });
          buffers.push(b);
          positions.push(pos);
          mine.push(offset++);
          pos += b.length;
        }
        offsets.push(mine);
        if (w.timestamp > maxTimestamp) maxTimestamp = w.timestamp;
      }
      try {
        await writeAll(this.writer, Buffer.concat(buffers, pos - seg.size));
        await this.writer.datasync();
      } catch (err) {
        await this.rollback(seg.size);
        throw unavailable('append', err);
      }
      this.flushes++;
      for (const p of positions) seg.positions.push(p);
      seg.size = pos;
      seg.maxTimestamp = maxTimestamp;
      this.next = offset;
      batch.forEach((w, i) => w.resolve(offsets[i]!));
      for (const l of this.listeners) {
        try {
          l(this.next);
        } catch {
          // listeners only wake consumers; their faults are theirs
        }
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else this.drained?.();
    }
  }

  private async maybeRoll(): Promise<void> {
    const active = this.segments[this.segments.length - 1]!;
    if (active.size < this.opts.segmentBytes || active.positions.length === 0) return;
    const path = join(this.dir, segmentName(this.next));
    const writer = await open(path, 'a');
    await fsyncDir(this.dir);
    const old = this.writer;
    this.writer = writer;
    this.segments.push({ base: this.next, path, positions: [], size: 0, maxTimestamp: 0, reader: null });
    await old.close().catch(() => undefined);
  }

  /** Cuts a failed write off; if even that fails the partition refuses appends until reopened. */
  private async rollback(size: number): Promise<void> {
    try {
      await this.writer.truncate(size);
      await this.writer.datasync();
    } catch (err) {
      this.failed = unavailable('append (the partition needs a reopen after a failed rollback)', err, false);
    }
  }
}
