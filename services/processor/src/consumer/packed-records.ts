import { DIGEST_HEADER, parseDigest, type EventDigest } from '@tinycdp/events';
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

const DIGEST_TYPES = ['track', 'page', 'screen'] as const;

/** The digest header's bytes and what parseDigest makes of them (null: none, or not usable). */
function digestOf(r: PackedRecord): { raw: Buffer; d: EventDigest } | null {
  const h = r.headers?.[DIGEST_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined) return null;
  const raw = typeof v === 'string' ? Buffer.from(v) : v;
  const d = parseDigest(typeof v === 'string' ? v : v.toString('utf8'));
  return d === null ? null : { raw, d };
}

const DIGEST_FIELDS = 5;

/**
 * Where the fields of a version-1 digest (`1␟type␟messageId␟userId␟anonymousId␟event␟timestamp`) are in
 * its bytes: [start, length] × 5, length -1 for an absent (empty) id or name.
 */
function fieldRanges(raw: Buffer, d: EventDigest, out: Int32Array) {
  const ascii =
    raw.length ===
    2 + d.type.length + 1 + d.messageId.length + 1 + (d.userId?.length ?? 0) + 1 + (d.anonymousId?.length ?? 0) + 1 + (d.event?.length ?? 0) + 1 + d.timestamp.length;
  let at = 2 + d.type.length + 1;
  at = range(out, 0, at, d.messageId, ascii);
  at = range(out, 1, at, d.userId, ascii);
  at = range(out, 2, at, d.anonymousId, ascii);
  at = range(out, 3, at, d.event, ascii);
  range(out, 4, at, d.timestamp, ascii);
}

/** Records field `k` (`s`, at byte `at`) in `out`; returns where the next field starts. */
function range(out: Int32Array, k: number, at: number, s: string | null, ascii: boolean): number {
  const n = s === null ? 0 : ascii ? s.length : Buffer.byteLength(s);
  out[2 * k] = at;
  out[2 * k + 1] = s === null ? -1 : n;
  return at + n + 1;
}

/** Packs records (kafkajs messages as they are) into one buffer; parses their digest headers. */
export function packRecords(records: readonly PackedRecord[]): ArrayBuffer {
  const digests: ({ raw: Buffer; d: EventDigest } | null)[] = new Array(records.length);
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += 16 + 4 + (r.key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 1;
    const g = (digests[i] = digestOf(r));
    if (g !== null) size += 8 + 4 + g.raw.length + 8 * DIGEST_FIELDS;
  }
  const ab = new ArrayBuffer(size);
  const bytes = Buffer.from(ab);
  const view = new DataView(ab);
  const ranges = new Int32Array(2 * DIGEST_FIELDS);
  let at = 0;
  const putBytes = (b: Buffer | null) => {
    view.setInt32(at, b === null ? -1 : b.length);
    at += 4;
    if (b !== null) at += b.copy(bytes, at);
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    view.setFloat64(at, Number(r.offset));
    view.setFloat64(at + 8, Number(r.timestamp));
    at += 16;
    putBytes(r.key);
    putBytes(r.value);
    const g = digests[i]!;
    view.setUint8(at++, g === null ? 0 : DIGEST_TYPES.indexOf(g.d.type) + 1);
    if (g === null) continue;
    view.setFloat64(at, g.d.timestampMs);
    at += 8;
    putBytes(g.raw);
    fieldRanges(g.raw, g.d, ranges);
    for (let k = 0; k < 2 * DIGEST_FIELDS; k++, at += 4) view.setInt32(at, ranges[k]!);
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
      userId: field(b, raw, ranges + 8),
      anonymousId: field(b, raw, ranges + 16),
      event: field(b, raw, ranges + 24),
      timestamp: field(b, raw, ranges + 32)!,
      timestampMs,
    };
  }
}

/** The digest field whose [start, length] pair is at `range`, read from the digest bytes at `raw`. */
function field(b: Buffer, raw: number, range: number): string | null {
  const len = b.readInt32BE(range + 4);
  if (len < 0) return null;
  const start = raw + b.readInt32BE(range);
  return b.toString('utf8', start, start + len);
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
