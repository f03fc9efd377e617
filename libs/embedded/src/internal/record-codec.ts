import { crc32 } from 'node:zlib';

/**
 * On-disk framing of one log record (all integers big-endian):
 *
 *   u32  bodyLength               bytes of `body` that follow the 8-byte frame header
 *   u32  crc32(body)              zlib CRC-32 (IEEE), detects torn and corrupted writes
 *   body:
 *     u8   magic = 1              format version
 *     u8   flags                  bit 0: key is null, bit 1: value is null
 *     u64  offset                 the record's offset in its partition (checked on recovery)
 *     f64  timestamp              append time, ms since epoch
 *     u32  keyLength,   key bytes (UTF-8)
 *     u32  valueLength, value bytes
 *     u16  headerCount, then per header: u16 nameLength, name (UTF-8), u32 valueLength, value (UTF-8)
 *
 * Do not change without bumping `MAGIC` and keeping a reader for the old one: logs outlive releases.
 */
export const MAGIC = 1;
export const FRAME_HEADER_BYTES = 8;
const FIXED_BODY_BYTES = 1 + 1 + 8 + 8 + 4 + 4 + 2;
const KEY_NULL = 1;
const VALUE_NULL = 2;

export interface StoredRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export function encodeRecord(r: StoredRecord): Buffer {
  const key = r.key === null ? null : Buffer.from(r.key, 'utf8');
  const headers = Object.entries(r.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  let size = FIXED_BODY_BYTES + (key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [k, v] of headers) size += 2 + k.length + 4 + v.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + size);
  let p = FRAME_HEADER_BYTES;
  buf.writeUInt8(MAGIC, p++);
  buf.writeUInt8((key === null ? KEY_NULL : 0) | (r.value === null ? VALUE_NULL : 0), p++);
  buf.writeBigUInt64BE(BigInt(r.offset), p);
  p += 8;
  buf.writeDoubleBE(r.timestamp, p);
  p += 8;
  buf.writeUInt32BE(key?.length ?? 0, p);
  p += 4;
  if (key) p += key.copy(buf, p);
  buf.writeUInt32BE(r.value?.length ?? 0, p);
  p += 4;
  if (r.value) p += r.value.copy(buf, p);
  buf.writeUInt16BE(headers.length, p);
  p += 2;
  for (const [k, v] of headers) {
    buf.writeUInt16BE(k.length, p);
    p += 2;
    p += k.copy(buf, p);
    buf.writeUInt32BE(v.length, p);
    p += 4;
    p += v.copy(buf, p);
  }
  buf.writeUInt32BE(size, 0);
  buf.writeUInt32BE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 4);
  return buf;
}

export type DecodeResult =
  | { readonly ok: true; readonly record: StoredRecord; readonly next: number }
  | { readonly ok: false; readonly reason: string };

/** Decodes the record framed at `pos`; `ok: false` when the bytes there are incomplete or corrupt. */
export function decodeRecord(buf: Buffer, pos: number): DecodeResult {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { ok: false, reason: 'truncated frame header' };
  const size = buf.readUInt32BE(pos);
  const end = pos + FRAME_HEADER_BYTES + size;
  if (size < FIXED_BODY_BYTES) return { ok: false, reason: 'frame too short' };
  if (end > buf.length) return { ok: false, reason: 'truncated body' };
  const body = buf.subarray(pos + FRAME_HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32BE(pos + 4)) return { ok: false, reason: 'crc mismatch' };
  try {
    let p = 0;
    if (body.readUInt8(p++) !== MAGIC) return { ok: false, reason: 'unknown record format' };
    const flags = body.readUInt8(p++);
    const offset = Number(body.readBigUInt64BE(p));
    p += 8;
    const timestamp = body.readDoubleBE(p);
    p += 8;
    const keyLength = body.readUInt32BE(p);
    p += 4;
    const key = flags & KEY_NULL ? null : body.toString('utf8', p, p + keyLength);
    p += keyLength;
    const valueLength = body.readUInt32BE(p);
    p += 4;
    // A copy: the caller's buffer is a whole read window, records must not pin it.
    const value = flags & VALUE_NULL ? null : Buffer.from(body.subarray(p, p + valueLength));
    p += valueLength;
    const headers: Record<string, string> = {};
    const n = body.readUInt16BE(p);
    p += 2;
    for (let i = 0; i < n; i++) {
      const kl = body.readUInt16BE(p);
      p += 2;
      const k = body.toString('utf8', p, p + kl);
      p += kl;
      const vl = body.readUInt32BE(p);
      p += 4;
      headers[k] = body.toString('utf8', p, p + vl);
      p += vl;
    }
    if (p !== body.length) return { ok: false, reason: 'length mismatch' };
    return { ok: true, record: { offset, timestamp, key, value, headers }, next: end };
  } catch {
    // A lying length inside a body whose CRC matched: only possible with a bug, treat as corrupt.
    return { ok: false, reason: 'malformed body' };
  }
}

export interface ScanResult {
  /** File position of each valid record, in order. */
  readonly positions: number[];
  /** Bytes of valid records from the start; anything after is torn or corrupt. */
  readonly validBytes: number;
  readonly maxTimestamp: number;
  /** Why the scan stopped before the end, if it did. */
  readonly stoppedAt: { readonly position: number; readonly reason: string } | null;
}

/** Walks a segment's records, checking CRC and that offsets run base, base+1, … without gaps. */
export function scanSegment(buf: Buffer, baseOffset: number): ScanResult {
  const positions: number[] = [];
  let pos = 0;
  let maxTimestamp = 0;
  while (pos < buf.length) {
    const r = decodeRecord(buf, pos);
    if (!r.ok) return { positions, validBytes: pos, maxTimestamp, stoppedAt: { position: pos, reason: r.reason } };
    const expected = baseOffset + positions.length;
    if (r.record.offset !== expected) {
      return {
        positions,
        validBytes: pos,
        maxTimestamp,
        stoppedAt: { position: pos, reason: `offset ${r.record.offset}, expected ${expected}` },
      };
    }
    positions.push(pos);
    if (r.record.timestamp > maxTimestamp) maxTimestamp = r.record.timestamp;
    pos = r.next;
  }
  return { positions, validBytes: pos, maxTimestamp, stoppedAt: null };
}
