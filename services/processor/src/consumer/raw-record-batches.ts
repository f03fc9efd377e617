/**
 * Record batches read in place on the Kafka thread. kafkajs decodes every record of a fetch into an
 * object (Long arithmetic and two strings for its offset and timestamp, a Buffer view each for its key,
 * value and every header, a headers object built by spreading one per header) — most of the Kafka
 * thread's time, and its garbage, for records that are copied into a packed buffer right after
 * (packed-records.ts). `installRawRecordBatches()` replaces kafkajs' record-batch decoder, in the module
 * registry of the thread that calls it only, with one that answers a plain record batch (magic 2,
 * uncompressed, not transactional, not control) with a single `RawRecordBatch` standing for all its
 * records, which `packRecords` reads straight from the fetch response's bytes. Anything else — a
 * compressed, transactional or control batch, a partial one at the end of a fetch — goes to kafkajs' own
 * decoder, unchanged: its records come as kafkajs objects, and `packRecords` takes both kinds.
 *
 * The pieces of kafkajs this relies on (pinned at 2.2.4): the module
 * `src/protocol/recordBatch/v0/decoder.js` (called with the fetch response's Decoder, positioned at a
 * batch, it must consume the batch and return `{ records }`), and what the consumer reads of a record
 * (`offset` as a string, `isControlRecord`, `key` and `batchContext` to drop aborted transactions when
 * the fetch lists some — transactional batches never take this path, so a raw batch is never dropped). The kafkajs Batch keeps a raw
 * batch whose last offset is at or above the fetch offset; `packRecords` drops its records below it.
 */
import { kafkajsModules } from '@tinycdp/kafka';

/** All records of one plain record batch, read in place (see the module comment). */
export interface RawRecordBatch {
  readonly rawBatch: true;
  /** The batch's last offset (kafkajs compares it with the fetch offset, and `batch.lastOffset()` is it). */
  readonly offset: string;
  readonly isControlRecord: false;
  /** What kafkajs reads of a record to drop aborted transactions (a fetch under read_committed lists them). */
  readonly batchContext: { readonly producerId: string; readonly inTransaction: false };
  /** The fetch response's bytes; the records are bytes[recordsAt, end). */
  readonly bytes: Buffer;
  readonly recordsAt: number;
  readonly end: number;
  readonly count: number;
  readonly baseOffset: number;
  readonly baseTimestamp: number;
  /** Every record's timestamp when the topic stamps the log append time, else null (create time: base + delta). */
  readonly appendTime: number | null;
}

export function isRawRecordBatch(r: object): r is RawRecordBatch {
  return (r as Partial<RawRecordBatch>).rawBatch === true;
}

/** What this module uses of kafkajs' protocol Decoder. */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  forward(bytes: number): void;
}

type BatchDecoder = (decoder: KafkaDecoder) => unknown;

// Record batch v2 header: where each field is, from the batch's first byte.
const LENGTH_AT = 8;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const BASE_TIMESTAMP_AT = 27;
const MAX_TIMESTAMP_AT = 35;
const PRODUCER_ID_AT = 43;
const COUNT_AT = 57;
const HEADER_BYTES = 61;
/** Bytes before the length field's end: the batch is `LENGTH_FIELD_END + length` bytes long. */
const LENGTH_FIELD_END = 12;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME_FLAG = 0x08;
const TRANSACTIONAL_OR_CONTROL = 0x30;

/**
 * The batch at the decoder's position as a RawRecordBatch (consumed), or null when it is not a complete
 * plain batch (the decoder is left where it was).
 */
export function readRawRecordBatch(decoder: KafkaDecoder): RawRecordBatch | null {
  const b = decoder.buffer;
  const at = decoder.offset;
  if (b.length - at < HEADER_BYTES) return null;
  const end = at + LENGTH_FIELD_END + b.readInt32BE(at + LENGTH_AT);
  if (end > b.length || end < at + HEADER_BYTES) return null;
  const attributes = b.readInt16BE(at + ATTRIBUTES_AT);
  if (b[at + MAGIC_AT] !== 2 || (attributes & (COMPRESSION_MASK | TRANSACTIONAL_OR_CONTROL)) !== 0) return null;
  const count = b.readInt32BE(at + COUNT_AT);
  if (count < 0) return null;
  const baseOffset = Number(b.readBigInt64BE(at));
  decoder.forward(end - at);
  return {
    rawBatch: true,
    offset: String(baseOffset + b.readInt32BE(at + LAST_OFFSET_DELTA_AT)),
    isControlRecord: false,
    batchContext: { producerId: String(b.readBigInt64BE(at + PRODUCER_ID_AT)), inTransaction: false },
    bytes: b,
    recordsAt: at + HEADER_BYTES,
    end,
    count,
    baseOffset,
    baseTimestamp: Number(b.readBigInt64BE(at + BASE_TIMESTAMP_AT)),
    appendTime: (attributes & LOG_APPEND_TIME_FLAG) !== 0 ? Number(b.readBigInt64BE(at + MAX_TIMESTAMP_AT)) : null,
  };
}

/**
 * Makes this thread's kafkajs hand plain record batches over as RawRecordBatch (see the module comment).
 * False — nothing changed — when kafkajs' fetch decoding was loaded already (it holds the original
 * decoder) or its files are not where 2.2.4 has them.
 */
export function installRawRecordBatches(): boolean {
  const modules = kafkajsModules(['protocol/recordBatch/v0/decoder'], 'protocol/requests/fetch/v4/decodeMessages');
  if (modules === null) return false;
  const mod = modules[0]!;
  const original = mod.exports as BatchDecoder;
  if (typeof original !== 'function') return false;
  if ((original as { raw?: true }).raw) return true;
  const patched: BatchDecoder & { raw?: true } = (decoder) => {
    const raw = readRawRecordBatch(decoder);
    return raw === null ? original(decoder) : { records: [raw] };
  };
  patched.raw = true;
  mod.exports = patched;
  return true;
}

/** Where a record's parts are in a RawRecordBatch's bytes (the reader's output, reused). */
export interface RawRecordScan {
  offset: number;
  timestamp: number;
  /** Start and length of key and value (length -1: null). */
  keyAt: number;
  keyLen: number;
  valueAt: number;
  valueLen: number;
  /** Start and length of the first header named as asked (length -1: none, or a null value). */
  headerAt: number;
  headerLen: number;
}

export function newRawRecordScan(): RawRecordScan {
  return { offset: 0, timestamp: 0, keyAt: 0, keyLen: -1, valueAt: 0, valueLen: -1, headerAt: 0, headerLen: -1 };
}

let pos = 0;

function corrupt(what: string): never {
  throw new Error(`corrupt record batch: ${what} at byte ${pos}`);
}

/** A zig-zag varint (32 bits) at `pos`, which moves past it. */
function varint(b: Buffer, end: number): number {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) corrupt('varint');
    const byte = b[pos++]!;
    v |= (byte & 0x7f) << shift;
    if (byte < 0x80) return (v >>> 1) ^ -(v & 1);
  }
}

/** A zig-zag varlong at `pos` as a number (exact up to 2^53; timestamp deltas are far below). */
function varlong(b: Buffer, end: number): number {
  let v = 0;
  for (let scale = 1; ; scale *= 128) {
    if (pos >= end || scale > 2 ** 63) corrupt('varlong');
    const byte = b[pos++]!;
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
}

/**
 * Reads the record at `at` of `batch` into `out` (its header named `header`, as bytes, is looked for);
 * returns where the next record starts.
 * @throws when the bytes do not hold a record (kafkajs does not check batch CRCs either).
 */
export function readRawRecord(batch: RawRecordBatch, at: number, header: Uint8Array, out: RawRecordScan): number {
  const b = batch.bytes;
  pos = at;
  const length = varint(b, batch.end);
  const end = pos + length;
  if (length < 0 || end > batch.end) corrupt('record length');
  pos++; // attributes
  const timestampDelta = varlong(b, end);
  const offsetDelta = varint(b, end);
  out.offset = batch.baseOffset + offsetDelta;
  out.timestamp = batch.appendTime ?? batch.baseTimestamp + timestampDelta;
  out.keyLen = varint(b, end);
  out.keyAt = pos;
  pos += Math.max(out.keyLen, 0);
  out.valueLen = varint(b, end);
  out.valueAt = pos;
  pos += Math.max(out.valueLen, 0);
  out.headerLen = -1;
  let found = false;
  const headers = varint(b, end);
  for (let h = 0; h < headers; h++) {
    const nameLen = varint(b, end);
    const nameAt = pos;
    pos += Math.max(nameLen, 0);
    const valueLen = varint(b, end);
    if (!found && nameLen === header.length && sameBytes(b, nameAt, header)) {
      found = true;
      out.headerAt = pos;
      out.headerLen = valueLen;
    }
    pos += Math.max(valueLen, 0);
  }
  if (pos > end) corrupt('record fields');
  return end;
}

function sameBytes(b: Buffer, at: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (b[at + i] !== expected[i]) return false;
  return true;
}
