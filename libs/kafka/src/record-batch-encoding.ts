/**
 * Record batches encoded in one pass into one buffer. kafkajs encodes a produce request's records with an
 * Encoder per record and per header (each a zero-filled 512-byte Buffer.alloc, grown by copying) and a
 * Buffer.from per varint — most of a producer's CPU (13% of ingest's in a profile was Buffer
 * allocation alone). `encodeRecordBatch` writes the same bytes (CRC included) straight into one buffer;
 * `installRecordBatchEncoding()` makes this thread's kafkajs use it for uncompressed batches (a compressed
 * one goes through kafkajs' own encoder, unchanged). Install it in threads of the producer's own only
 * (ingest's and the processor's Kafka threads): the bench's raw kafkajs baselines keep kafkajs as it is.
 *
 * The pieces of kafkajs this relies on (pinned at 2.2.4): `src/protocol/recordBatch/record/v0` (a
 * function from `{ key, value, headers, offsetDelta, timestampDelta }` to an Encoder) and
 * `RecordBatch` of `src/protocol/recordBatch/v0` (async, from the batch's fields to an Encoder), both read
 * by `src/protocol/requests/produce/v3/request.js` when it loads — so install before the first produce.
 */
import { createRequire } from 'node:module';
import { kafkajsModules } from './kafkajs-modules';

type HeaderValue = Buffer | string | null | undefined;

/** A record as kafkajs' produce request hands it to its record encoder. */
export interface RecordFields {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, HeaderValue | HeaderValue[]>>;
  readonly offsetDelta: number;
  readonly timestampDelta: number;
}

/** kafkajs' RecordBatch parameters (uncompressed). Int64 fields as kafkajs passes them: number, string or Long. */
export interface RecordBatchFields {
  readonly records: readonly RecordFields[];
  readonly firstOffset?: unknown;
  readonly firstTimestamp: unknown;
  readonly maxTimestamp: unknown;
  readonly partitionLeaderEpoch?: number;
  readonly lastOffsetDelta: number;
  readonly transactional?: boolean;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
}

const require = createRequire(import.meta.url);
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

const MAGIC = 2;
const TRANSACTIONAL_FLAG = 0x10;
/** Batch bytes before the records: base offset … record count. */
const BATCH_HEADER = 61;
/** Where the CRC'd part starts (attributes) and where the CRC is. */
const CRC_FROM = 21;
const CRC_AT = 17;

/** An int64 as kafkajs holds one (number, decimal string, Long, bigint) → bigint. */
function int64(v: unknown, fallback: bigint): bigint {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return BigInt(String(v)); // Long.toString() and strings
}

function bytesOf(v: Buffer | string | null | undefined): Buffer | string | null {
  return v === undefined || v === null ? null : Buffer.isBuffer(v) ? v : String(v);
}

function byteLength(v: Buffer | string): number {
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

/** Zig-zag of a safe integer as a non-negative number (varlong). */
function zigzag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function uvarintSize(u: number): number {
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/** kafkajs' headers object as the [name, value] pairs it writes (a list under one name: one pair each). */
function headerPairs(headers: RecordFields['headers']): [string, Buffer | string | null][] {
  const out: [string, Buffer | string | null][] = [];
  if (!headers) return out;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) out.push([name, bytesOf(x)]);
    else out.push([name, bytesOf(v)]);
  }
  return out;
}

class Writer {
  at = 0;
  constructor(readonly buf: Buffer) {}

  uvarint(u: number) {
    while (u >= 128) {
      this.buf[this.at++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    this.buf[this.at++] = u;
  }

  varint(v: number) {
    this.uvarint(zigzag32(v));
  }

  /** Length-prefixed bytes (varint length, -1 for null). */
  bytes(v: Buffer | string | null, len: number) {
    if (v === null) {
      this.varint(-1);
      return;
    }
    this.varint(len);
    if (typeof v === 'string') this.buf.write(v, this.at, len, 'utf8');
    else v.copy(this.buf, this.at);
    this.at += len;
  }
}

/** The bytes kafkajs' `RecordBatch` (uncompressed) encodes for `b`: one buffer, one pass over the records. */
export function encodeRecordBatch(b: RecordBatchFields): Buffer {
  const n = b.records.length;
  const keys: (Buffer | string | null)[] = new Array(n);
  const values: (Buffer | string | null)[] = new Array(n);
  const headers: [string, Buffer | string | null][][] = new Array(n);
  const sizes = new Float64Array(n * 3); // per record: key length, value length (-1: null), body size
  let total = BATCH_HEADER;
  for (let i = 0; i < n; i++) {
    const r = b.records[i]!;
    const key = (keys[i] = bytesOf(r.key));
    const value = (values[i] = bytesOf(r.value));
    const hs = (headers[i] = headerPairs(r.headers));
    const keyLen = key === null ? -1 : byteLength(key);
    const valueLen = value === null ? -1 : byteLength(value);
    let body = 1 + uvarintSize(zigzag64(r.timestampDelta)) + uvarintSize(zigzag32(r.offsetDelta));
    body += uvarintSize(zigzag32(keyLen)) + Math.max(keyLen, 0) + uvarintSize(zigzag32(valueLen)) + Math.max(valueLen, 0);
    body += uvarintSize(zigzag32(hs.length));
    for (const [name, v] of hs) {
      const nameLen = Buffer.byteLength(name, 'utf8');
      const len = v === null ? -1 : byteLength(v);
      body += uvarintSize(zigzag32(nameLen)) + nameLen + uvarintSize(zigzag32(len)) + Math.max(len, 0);
    }
    sizes[i * 3] = keyLen;
    sizes[i * 3 + 1] = valueLen;
    sizes[i * 3 + 2] = body;
    total += uvarintSize(zigzag32(body)) + body;
  }

  const buf = Buffer.allocUnsafe(total);
  buf.writeBigInt64BE(int64(b.firstOffset, 0n), 0);
  buf.writeInt32BE(total - 12, 8);
  buf.writeInt32BE(b.partitionLeaderEpoch ?? 0, 12);
  buf.writeInt8(MAGIC, 16);
  buf.writeInt16BE(b.transactional ? TRANSACTIONAL_FLAG : 0, 21);
  buf.writeInt32BE(b.lastOffsetDelta, 23);
  buf.writeBigInt64BE(int64(b.firstTimestamp, 0n), 27);
  buf.writeBigInt64BE(int64(b.maxTimestamp, 0n), 35);
  buf.writeBigInt64BE(int64(b.producerId, -1n), 43);
  buf.writeInt16BE(b.producerEpoch ?? 0, 51);
  buf.writeInt32BE(b.firstSequence ?? 0, 53);
  buf.writeInt32BE(n, 57);
  const w = new Writer(buf);
  w.at = BATCH_HEADER;
  for (let i = 0; i < n; i++) {
    const r = b.records[i]!;
    w.varint(sizes[i * 3 + 2]!);
    buf[w.at++] = 0; // attributes
    w.uvarint(zigzag64(r.timestampDelta));
    w.varint(r.offsetDelta);
    w.bytes(keys[i]!, sizes[i * 3]!);
    w.bytes(values[i]!, sizes[i * 3 + 1]!);
    const hs = headers[i]!;
    w.varint(hs.length);
    for (const [name, v] of hs) {
      w.bytes(name, Buffer.byteLength(name, 'utf8'));
      w.bytes(v, v === null ? -1 : byteLength(v));
    }
  }
  if (w.at !== total) throw new Error(`record batch encoding: wrote ${w.at} bytes, sized ${total}`);
  buf.writeUInt32BE(crc32C(buf.subarray(CRC_FROM)), CRC_AT);
  return buf;
}

/** A record kept as its fields until its batch is encoded (what the installed record encoder returns). */
class PendingRecord {
  constructor(readonly fields: RecordFields) {}
}

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}

/**
 * Makes this thread's kafkajs encode uncompressed record batches with `encodeRecordBatch` (see the
 * module comment). False — nothing changed — when kafkajs' produce request was loaded already (it holds
 * the original encoders) or its files are not where 2.2.4 has them.
 */
export function installRecordBatchEncoding(): boolean {
  const modules = kafkajsModules(['protocol/recordBatch/record/v0', 'protocol/recordBatch/v0', 'protocol/encoder'], 'protocol/requests/produce/v3/request');
  if (modules === null) return false;
  const [recordModule, batchModuleRecord, encoderModule] = modules as [NodeJS.Module, NodeJS.Module, NodeJS.Module];
  const originalRecord = recordModule.exports as ((f: RecordFields) => unknown) & { pending?: true };
  const batchModule = batchModuleRecord.exports as { RecordBatch: (p: Record<string, unknown>) => Promise<unknown> };
  const Encoder = encoderModule.exports as { prototype: object };
  if (typeof originalRecord !== 'function' || typeof batchModule.RecordBatch !== 'function') return false;
  if (originalRecord.pending) return true;
  const originalBatch = batchModule.RecordBatch;
  const record = Object.assign((fields: RecordFields) => new PendingRecord(fields), { pending: true as const });
  recordModule.exports = record;
  batchModule.RecordBatch = async (p) => {
    const records = p['records'] as unknown[];
    if ((p['compression'] ?? 0) === 0 && records.every((r) => r instanceof PendingRecord)) {
      const buf = encodeRecordBatch({ ...(p as unknown as RecordBatchFields), records: (records as PendingRecord[]).map((r) => r.fields) });
      // A kafkajs Encoder holding the bytes (the produce request appends it with writeEncoder).
      const e = Object.create(Encoder.prototype) as KafkajsEncoder;
      e.buf = buf;
      e.offset = buf.length;
      return e;
    }
    return originalBatch({ ...p, records: records.map((r) => (r instanceof PendingRecord ? originalRecord(r.fields) : r)) });
  };
  return true;
}
