import { DIGEST_HEADER, DIGEST_TYPES, newDigestScan, parseDigest, scanDigest, type DigestScan, type EventDigest } from '@tinycdp/events';
import type { LogMessage } from '../ports';

/**
 * Kafka records of one partition packed into one ArrayBuffer, so the fetch thread can hand them to the
 * pipeline thread without a structured clone (the buffer is transferred, not copied), with the digest
 * header already parsed there. Per record (big-endian):
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

/** The digest header's value as bytes (null: none). */
function digestBytes(r: PackedRecord): Buffer | null {
  const h = r.headers?.[DIGEST_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

const DIGEST_FIELDS = 5;

/**
 * `scanDigest` of `raw`, with `parseDigest` of its text for a digest that is not ASCII: true when
 * usable (`out` then describes it).
 */
function scan(raw: Buffer, out: DigestScan): boolean {
  const fast = scanDigest(raw, 0, raw.length, out);
  if (fast !== null) return fast;
  const d = parseDigest(raw.toString('utf8'));
  if (d === null) return false;
  out.type = d.type;
  out.timestampMs = d.timestampMs;
  let at = 2 + Buffer.byteLength(d.type) + 1;
  [d.messageId, d.userId, d.anonymousId, d.event, d.timestamp].forEach((f, k) => {
    const n = f === null ? 0 : Buffer.byteLength(f);
    out.ranges[2 * k] = at;
    out.ranges[2 * k + 1] = f === null ? -1 : n;
    at += n + 1;
  });
  return true;
}

const digestScan = newDigestScan();

/** Packs records (kafkajs messages as they are) into one buffer; reads their digest headers. */
export function packRecords(records: readonly PackedRecord[]): ArrayBuffer {
  // The usable digest of each record (null: none), with what the scan found.
  const digests: (Buffer | null)[] = new Array(records.length);
  const types = new Uint8Array(records.length);
  const times = new Float64Array(records.length);
  const ranges = new Int32Array(records.length * 2 * DIGEST_FIELDS);
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += 16 + 4 + (r.key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 1;
    const raw = digestBytes(r);
    digests[i] = raw !== null && scan(raw, digestScan) ? raw : null;
    if (digests[i] === null) continue;
    types[i] = DIGEST_TYPES.indexOf(digestScan.type) + 1;
    times[i] = digestScan.timestampMs;
    for (let k = 0; k < 2 * DIGEST_FIELDS; k++) ranges[i * 2 * DIGEST_FIELDS + k] = digestScan.ranges[k]!;
    size += 8 + 4 + raw!.length + 8 * DIGEST_FIELDS;
  }
  const ab = new ArrayBuffer(size);
  const bytes = Buffer.from(ab);
  const view = new DataView(ab);
  let at = 0;
  const putBytes = (b: Buffer | null) => {
    view.setInt32(at, b === null ? -1 : b.length);
    at += 4;
    if (b !== null) {
      bytes.set(b, at);
      at += b.length;
    }
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    view.setFloat64(at, Number(r.offset));
    view.setFloat64(at + 8, Number(r.timestamp));
    at += 16;
    putBytes(r.key);
    putBytes(r.value);
    view.setUint8(at++, types[i]!);
    const raw = digests[i]!;
    if (raw === null) continue;
    view.setFloat64(at, times[i]!);
    at += 8;
    putBytes(raw);
    for (let k = i * 2 * DIGEST_FIELDS; k < (i + 1) * 2 * DIGEST_FIELDS; k++, at += 4) view.setInt32(at, ranges[k]!);
  }
  return ab;
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
