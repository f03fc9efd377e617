import { DIGEST_HEADER, DIGEST_TYPES, newDigestScan, parseDigest, scanDigest, type DigestScan, type EventDigest } from '@tinycdp/events';
import type { LogMessage } from '../ports';
import { isRawRecordBatch, newRawRecordScan, readRawRecord, type RawRecordBatch } from './raw-record-batches';

/**
 * Kafka records of one partition packed into one ArrayBuffer, so the fetch thread can hand them to the
 * pipeline thread without a structured clone (the buffer is transferred, not copied), with the digest
 * header already parsed there. The records come as kafkajs messages or, for plain record batches, as the
 * batch's bytes (raw-record-batches.ts): both pack to the same bytes. Per record (big-endian):
 *   offset f64, timestamp f64 (Kafka offsets stay below 2^53),
 *   key, value: i32 length (-1 = absent) + bytes,
 *   digest: u8 type (0 = none or not usable, else DIGEST_TYPES index + 1); when not 0: timestampMs f64,
 *   the header's bytes (i32 length + bytes), then where messageId, userId, anonymousId, event and
 *   timestamp are in them (i32 start and i32 length each, length -1 = null).
 * The pipeline thread reads a record in place: key and value are materialized on use.
 */
export interface PackedRecord {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values (kafkajs' shape): only the digest is carried over. */
  readonly headers?: { readonly [name: string]: Buffer | string | (Buffer | string)[] | undefined };
}

/** The digest header of a kafkajs record: the first value under its name (null: none, or a null value). */
function digestBytes(r: PackedRecord): Buffer | null {
  const h = r.headers?.[DIGEST_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

const DIGEST_FIELDS = 5;
const DIGEST_NAME = Buffer.from(DIGEST_HEADER);

/**
 * `scanDigest` of `raw[at, at + len)`, with `parseDigest` of its text for a digest that is not ASCII:
 * true when usable (`out` then describes it).
 */
function scan(raw: Buffer, at: number, len: number, out: DigestScan): boolean {
  const fast = scanDigest(raw, at, at + len, out);
  if (fast !== null) return fast;
  const d = parseDigest(raw.toString('utf8', at, at + len));
  if (d === null) return false;
  out.type = d.type;
  out.timestampMs = d.timestampMs;
  let pos = 2 + Buffer.byteLength(d.type) + 1;
  [d.messageId, d.userId, d.anonymousId, d.event, d.timestamp].forEach((f, k) => {
    const n = f === null ? 0 : Buffer.byteLength(f);
    out.ranges[2 * k] = pos;
    out.ranges[2 * k + 1] = f === null ? -1 : n;
    pos += n + 1;
  });
  return true;
}

const digestScan = newDigestScan();
const rawScan = newRawRecordScan();

/** A packed batch: its buffer, how many records it holds and their first and last offsets (-1: none). */
export interface PackedBatch {
  readonly buffer: ArrayBuffer;
  readonly count: number;
  readonly first: number;
  readonly last: number;
}

// Per record, where its key, value and digest are: source buffer, start, length (-1: null / none).
const KEY = 0;
const VALUE = 1;
const DIGEST = 2;
const PARTS = 3;

/**
 * Packs records — kafkajs messages as they are, and record batches read in place (raw-record-batches.ts)
 * — into one buffer, those with offset >= `from` (a fetch may start inside a batch); reads their digest
 * headers.
 */
export function packRecords(records: readonly (PackedRecord | RawRecordBatch)[], from = 0): PackedBatch {
  let max = 0;
  for (const r of records) max += isRawRecordBatch(r) ? r.count : 1;
  const offsets = new Float64Array(max);
  const stamps = new Float64Array(max);
  const sources: (Buffer | null)[] = new Array(max * PARTS);
  const spans = new Int32Array(max * PARTS * 2);
  const types = new Uint8Array(max);
  const times = new Float64Array(max);
  const ranges = new Int32Array(max * 2 * DIGEST_FIELDS);
  let n = 0;
  let size = 0;
  const part = (k: number, src: Buffer | null, at: number, len: number) => {
    sources[n * PARTS + k] = src;
    spans[(n * PARTS + k) * 2] = at;
    spans[(n * PARTS + k) * 2 + 1] = src === null ? -1 : len;
    if (src !== null && k !== DIGEST) size += len;
  };
  /** Scans record n's digest part (set by `part`); counts its packed size. */
  const digest = () => {
    const src = sources[n * PARTS + DIGEST]!;
    const at = spans[(n * PARTS + DIGEST) * 2]!;
    const len = spans[(n * PARTS + DIGEST) * 2 + 1]!;
    size += 16 + 4 + 4 + 1;
    if (src === null || !scan(src, at, len, digestScan)) {
      types[n] = 0;
      return;
    }
    types[n] = DIGEST_TYPES.indexOf(digestScan.type) + 1;
    times[n] = digestScan.timestampMs;
    ranges.set(digestScan.ranges, n * 2 * DIGEST_FIELDS);
    size += 8 + 4 + len + 8 * DIGEST_FIELDS;
  };
  for (const r of records) {
    if (isRawRecordBatch(r)) {
      let at = r.recordsAt;
      for (let i = 0; i < r.count; i++) {
        at = readRawRecord(r, at, DIGEST_NAME, rawScan);
        if (rawScan.offset < from) continue;
        offsets[n] = rawScan.offset;
        stamps[n] = rawScan.timestamp;
        part(KEY, rawScan.keyLen < 0 ? null : r.bytes, rawScan.keyAt, rawScan.keyLen);
        part(VALUE, rawScan.valueLen < 0 ? null : r.bytes, rawScan.valueAt, rawScan.valueLen);
        part(DIGEST, rawScan.headerLen < 0 ? null : r.bytes, rawScan.headerAt, rawScan.headerLen);
        digest();
        n++;
      }
      if (at !== r.end) throw new Error(`corrupt record batch: ${r.count} records end at byte ${at}, the batch at ${r.end}`);
    } else {
      const offset = Number(r.offset);
      if (offset < from) continue;
      offsets[n] = offset;
      stamps[n] = Number(r.timestamp);
      part(KEY, r.key, 0, r.key?.length ?? 0);
      part(VALUE, r.value, 0, r.value?.length ?? 0);
      const d = digestBytes(r);
      part(DIGEST, d, 0, d?.length ?? 0);
      digest();
      n++;
    }
  }

  const ab = new ArrayBuffer(size);
  const bytes = Buffer.from(ab);
  const view = new DataView(ab);
  let at = 0;
  const put = (i: number, k: number) => {
    const src = sources[i * PARTS + k]!;
    const start = spans[(i * PARTS + k) * 2]!;
    const len = spans[(i * PARTS + k) * 2 + 1]!;
    view.setInt32(at, len);
    at += 4;
    if (len > 0) {
      bytes.set(src.subarray(start, start + len), at);
      at += len;
    }
  };
  for (let i = 0; i < n; i++) {
    view.setFloat64(at, offsets[i]!);
    view.setFloat64(at + 8, stamps[i]!);
    at += 16;
    put(i, KEY);
    put(i, VALUE);
    view.setUint8(at++, types[i]!);
    if (types[i] === 0) continue;
    view.setFloat64(at, times[i]!);
    at += 8;
    put(i, DIGEST);
    for (let k = i * 2 * DIGEST_FIELDS; k < (i + 1) * 2 * DIGEST_FIELDS; k++, at += 4) view.setInt32(at, ranges[k]!);
  }
  return { buffer: ab, count: n, first: n > 0 ? offsets[0]! : -1, last: n > 0 ? offsets[n - 1]! : -1 };
}

/** A record read in place from a packed buffer. */
class PackedLogMessage implements LogMessage {
  private valueBuffer: Buffer | null | undefined = undefined;

  constructor(
    readonly partition: number,
    private readonly bytes: Buffer,
    private readonly offsetNum: number,
    private readonly timestampNum: number,
    /** Where the key's length is; the value's and the digest's follow. */
    private readonly keyAt: number,
    private readonly valueAt: number,
    readonly valueSize: number,
    private readonly digestAt: number,
  ) {}

  get offset(): string {
    return String(this.offsetNum);
  }

  get timestamp(): string {
    return String(this.timestampNum);
  }

  get key(): string | null {
    const len = this.bytes.readInt32BE(this.keyAt);
    return len < 0 ? null : this.bytes.toString('utf8', this.keyAt + 4, this.keyAt + 4 + len);
  }

  get value(): Buffer | null {
    if (this.valueBuffer === undefined) {
      this.valueBuffer = this.valueSize < 0 ? null : this.bytes.subarray(this.valueAt + 4, this.valueAt + 4 + this.valueSize);
    }
    return this.valueBuffer;
  }

  get parsedDigest(): EventDigest | null {
    const b = this.bytes;
    const type = b[this.digestAt]!;
    if (type === 0) return null;
    const timestampMs = b.readDoubleBE(this.digestAt + 1);
    const raw = this.digestAt + 9 + 4;
    const ranges = raw + b.readInt32BE(this.digestAt + 9);
    return {
      type: DIGEST_TYPES[type - 1]!,
      messageId: field(b, raw, ranges)!,
      userId: field(b, raw, ranges + 8, true),
      anonymousId: field(b, raw, ranges + 16, true),
      event: field(b, raw, ranges + 24, true),
      timestamp: field(b, raw, ranges + 32)!,
      timestampMs,
    };
  }
}

/**
 * The digest field whose [start, length] pair is at `range`, read from the digest bytes at `raw`;
 * `repeats` (ids, event names): through the string cache.
 */
function field(b: Buffer, raw: number, range: number, repeats = false): string | null {
  const len = b.readInt32BE(range + 4);
  if (len < 0) return null;
  const start = raw + b.readInt32BE(range);
  return repeats && len <= MAX_CACHED_LENGTH ? cachedString(b, start, len) : b.toString('utf8', start, start + len);
}

const CACHE_SLOTS = 8192;
const MAX_CACHED_LENGTH = 64;
const cacheStrings: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

/**
 * The string of `len` bytes at `start` — the same string object as last time for bytes seen before (a
 * profile's id and an event's name recur across thousands of records: one string each instead of one
 * per record, and no call into the decoder). Only strings of one character per byte are kept (ASCII), a
 * slot holding the last one hashed to it; a hit is verified byte by byte.
 */
function cachedString(b: Buffer, start: number, len: number): string {
  let h = len;
  for (let i = start; i < start + len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1);
  const s = cacheStrings[slot];
  if (s !== undefined && s.length === len) {
    let i = 0;
    while (i < len && s.charCodeAt(i) === b[start + i]) i++;
    if (i === len) return s;
  }
  const v = b.toString('utf8', start, start + len);
  if (v.length === len) cacheStrings[slot] = v;
  return v;
}

/** The records of `packed` (one partition's) with offset >= `from`, in the order they were packed. */
export function unpackRecords(partition: number, packed: ArrayBuffer, from = 0): LogMessage[] {
  const bytes = Buffer.from(packed);
  const out: LogMessage[] = [];
  let at = 0;
  while (at < packed.byteLength) {
    const offset = bytes.readDoubleBE(at);
    const timestamp = bytes.readDoubleBE(at + 8);
    const keyAt = at + 16;
    const keyLen = bytes.readInt32BE(keyAt);
    const valueAt = keyAt + 4 + Math.max(keyLen, 0);
    const valueLen = bytes.readInt32BE(valueAt);
    const digestAt = valueAt + 4 + Math.max(valueLen, 0);
    at = digestAt + 1;
    if (bytes[digestAt] !== 0) at += 8 + 4 + bytes.readInt32BE(at + 8) + 8 * DIGEST_FIELDS;
    if (offset >= from) out.push(new PackedLogMessage(partition, bytes, offset, timestamp, keyAt, valueAt, valueLen, digestAt));
  }
  return out;
}
