/**
 * Record batches read in place pack to exactly the bytes kafkajs' own decoding packs to. The batches are
 * encoded by kafkajs' encoders and decoded both ways: kafkajs' record-batch decoder alone, and
 * `readRawRecordBatch` with that decoder for what it declines (as the installed decoder does).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DIGEST_HEADER, parseDigest } from '@tinycdp/events';
import { packRecords, unpackRecords, type PackedRecord } from './packed-records';
import { isRawRecordBatch, readRawRecordBatch, type RawRecordBatch } from './raw-record-batches';

const require = createRequire(import.meta.url);
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  forward(n: number): void;
  canReadBytes(n: number): boolean;
}
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => KafkaDecoder;
const encodeBatch = (require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> }).RecordBatch;
interface KafkaEncoder {
  size(): number;
  writeInt8(v: number): KafkaEncoder;
  writeVarInt(v: number): KafkaEncoder;
  writeVarLong(v: number): KafkaEncoder;
  writeVarIntBytes(v: Buffer | null): KafkaEncoder;
  writeVarIntString(v: string): KafkaEncoder;
  writeEncoder(e: KafkaEncoder): KafkaEncoder;
}
const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkaEncoder;
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as ((d: KafkaDecoder) => Promise<{ records: PackedRecord[] }>) & { raw?: true };
const KafkaBatch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  data: { partition: number; highWatermark: string; messages: (PackedRecord | RawRecordBatch)[]; abortedTransactions: { producerId: string; firstOffset: string }[] },
) => { messages: (PackedRecord | RawRecordBatch)[]; lastOffset(): string };
const GZIP = 1;

const SEP = '\x1f';
const digest = (fields: string[]) => ['1', ...fields].join(SEP);
const T0 = 1_764_000_000_000;

interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | null | (Buffer | null)[]>;
  timestampDelta?: number;
}

/** Records with every shape the packing must carry over: keys, nulls, header lists, digests good and bad. */
function records(from: number, n: number): TestRecord[] {
  return Array.from({ length: n }, (_, i): TestRecord => {
    const k = from + i;
    const d = Buffer.from(digest(['track', `m-${k}`, k % 5 === 0 ? `üser-${k}` : `user-${k}`, '', 'app_open', '2026-11-25T10:00:00.123Z']));
    switch (k % 6) {
      case 0:
        return { key: Buffer.from(`user-${k}`), value: Buffer.from(`{"n":${k}}`), headers: { [DIGEST_HEADER]: d }, timestampDelta: k };
      case 1:
        return { key: null, value: null, timestampDelta: -k };
      case 2:
        return { key: Buffer.alloc(0), value: Buffer.from('ünïcødé ✓'), headers: { other: Buffer.from('x'), [DIGEST_HEADER]: [d, Buffer.from('second')] } };
      case 3:
        return { key: Buffer.from('k'), value: Buffer.alloc(0), headers: { [DIGEST_HEADER]: Buffer.from('not a digest'), more: null } };
      case 4:
        return { key: Buffer.from('k'), value: Buffer.from('v'), headers: { [DIGEST_HEADER]: [null, d] }, timestampDelta: 2 ** 40 };
      default:
        return { key: Buffer.from('x'.repeat(300)), value: Buffer.from('y'.repeat(20_000)), headers: { [`${DIGEST_HEADER}-not`]: d, [DIGEST_HEADER]: d } };
    }
  });
}

async function batch(firstOffset: number, rs: TestRecord[], opts: { compression?: number; transactional?: boolean; appendTime?: number } = {}): Promise<Buffer> {
  const { buffer } = await encodeBatch({
    compression: opts.compression ?? 0,
    transactional: opts.transactional ?? false,
    firstOffset,
    firstTimestamp: T0,
    maxTimestamp: T0 + 5,
    lastOffsetDelta: rs.length - 1,
    records: rs.map((r, i) => encodeRecord(r, i)),
  });
  if (opts.appendTime !== undefined) {
    // The broker's LOG_APPEND_TIME: attribute bit 3 and the batch's max timestamp (kafkajs cannot encode it).
    buffer.writeInt16BE(buffer.readInt16BE(21) | 0x08, 21);
    buffer.writeBigInt64BE(BigInt(opts.appendTime), 35);
  }
  return buffer;
}

/**
 * A record as kafkajs' record encoder writes it, with null header values too (which a Java producer can
 * send and kafkajs' encoder cannot).
 */
function encodeRecord(r: TestRecord, offsetDelta: number): KafkaEncoder {
  const headers = Object.entries(r.headers ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x] as const));
  const body = new Encoder().writeInt8(0).writeVarLong(r.timestampDelta ?? 0).writeVarInt(offsetDelta).writeVarIntBytes(r.key).writeVarIntBytes(r.value);
  body.writeVarInt(headers.length);
  for (const [k, v] of headers) body.writeVarIntString(k).writeVarIntBytes(v);
  return new Encoder().writeVarInt(body.size()).writeEncoder(body);
}

/** Decodes a partition's record set as kafkajs' decodeMessages does: with kafkajs' decoder only, or raw first. */
async function decode(bytes: Buffer, raw: boolean): Promise<(PackedRecord | RawRecordBatch)[]> {
  const d = new Decoder(bytes);
  const out: (PackedRecord | RawRecordBatch)[] = [];
  while (d.canReadBytes(49)) {
    const r = raw ? readRawRecordBatch(d) : null;
    if (r !== null) {
      out.push(r);
      continue;
    }
    try {
      out.push(...(await kafkajsDecodeBatch(d)).records);
    } catch (err) {
      if ((err as Error).name === 'KafkaJSPartialMessageError') break;
      throw err;
    }
  }
  return out;
}

describe('raw record batches', () => {
  it('test setup: kafkajs decoder here is the original one', () => {
    expect(kafkajsDecodeBatch.raw).toBeUndefined();
  });

  it('pack to the same bytes as kafkajs-decoded records, from any fetch offset, next to batches left to kafkajs', async () => {
    const set = Buffer.concat([
      await batch(100, records(100, 40)),
      await batch(140, records(140, 13), { compression: GZIP }),
      await batch(153, records(153, 7), { transactional: true }),
      await batch(160, records(160, 25), { appendTime: T0 + 777 }),
      await batch(185, records(185, 1)),
      // A partial batch at the end of the fetch (maxBytes cut it): left for the next fetch.
      (await batch(186, records(186, 10))).subarray(0, 200),
    ]);
    const viaKafkajs = await decode(set, false);
    const viaRaw = await decode(set, true);
    // Plain batches were read in place; the compressed and the transactional one went to kafkajs.
    expect(viaRaw.map((r) => (isRawRecordBatch(r) ? `raw ${r.count}` : 'record')).filter((x, i, a) => x !== 'record' || a[i - 1] !== 'record')).toEqual([
      'raw 40',
      'record',
      'raw 25',
      'raw 1',
    ]);
    expect(viaRaw.filter((r) => !isRawRecordBatch(r))).toHaveLength(20);
    expect(viaKafkajs).toHaveLength(86);

    for (const from of [0, 100, 101, 139, 140, 150, 160, 170, 185, 186]) {
      const a = packRecords(viaKafkajs as PackedRecord[], from);
      const b = packRecords(viaRaw, from);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `from ${from}`).toBe(true);
      expect([b.count, b.first, b.last]).toEqual([a.count, a.first, a.last]);
      expect(b.count).toBe(186 - Math.max(from, 100));
    }
    // And what they pack to reads back as the records were written.
    const out = unpackRecords(0, packRecords(viaRaw).buffer);
    const written = records(100, 86);
    expect(out.map((m) => m.offset)).toEqual(written.map((_, i) => String(100 + i)));
    expect(out.map((m) => m.value)).toEqual(written.map((r) => r.value));
    expect(out.map((m) => m.key)).toEqual(written.map((r) => r.key?.toString('utf8') ?? null));
    expect(out[60]!.timestamp).toBe(String(T0 + 777));
    expect(out[3]!.timestamp).toBe(String(T0 - 103));
    expect(out[0]!.timestamp).toBe(String(T0 + 2 ** 40));
    const digests = out.map((m) => m.parsedDigest?.messageId ?? null);
    expect(digests.filter((d) => d !== null)).toHaveLength(written.filter((_, i) => [0, 2, 5].includes((100 + i) % 6)).length);
    expect(out[0]!.parsedDigest).toBeNull(); // its first digest header value is null
    expect(out[2]!.parsedDigest).toEqual(parseDigest(digest(['track', 'm-102', 'user-102', '', 'app_open', '2026-11-25T10:00:00.123Z'])));
    expect(out[10]!.parsedDigest).toEqual(parseDigest(digest(['track', 'm-110', 'üser-110', '', 'app_open', '2026-11-25T10:00:00.123Z'])));
  });

  it("passes kafkajs' batch filters: kept when its last offset reaches the fetch offset, never dropped as aborted", async () => {
    const set = Buffer.concat([
      await batch(0, records(0, 10)),
      await batch(10, records(10, 5), { transactional: true }),
      await batch(15, records(15, 10)),
    ]);
    const viaRaw = await decode(set, true);
    const partition = (fetched: string, aborted: { producerId: string; firstOffset: string }[]) =>
      new KafkaBatch('t', fetched, { partition: 0, highWatermark: '25', messages: viaRaw, abortedTransactions: aborted });
    // Under read_committed the fetch lists the aborted transaction: its records go, the raw batches stay.
    const b = partition('0', [{ producerId: '-1', firstOffset: '10' }]);
    expect(b.messages.map((m) => (isRawRecordBatch(m) ? `raw ${m.offset}` : m.offset))).toEqual(['raw 9', 'raw 24']);
    expect(packRecords(b.messages, 0).count).toBe(20);
    expect(partition('9', []).messages.map((m) => m.offset)).toEqual(['9', ...Array.from({ length: 5 }, (_, i) => String(10 + i)), '24']);
    expect(partition('16', []).messages.map((m) => m.offset)).toEqual(['24']);
    expect(packRecords(partition('16', []).messages, 16).first).toBe(16);
    expect(partition('16', []).lastOffset()).toBe('24');
  });

  it('declines what is not a complete plain batch, leaving the decoder where it was', async () => {
    const plain = await batch(0, records(0, 3));
    for (const bytes of [plain.subarray(0, 60), plain.subarray(0, plain.length - 1), await batch(0, records(0, 3), { compression: GZIP }), await batch(0, records(0, 3), { transactional: true })]) {
      const d = new Decoder(bytes);
      expect(readRawRecordBatch(d)).toBeNull();
      expect(d.offset).toBe(0);
    }
    const magic1 = Buffer.from(plain);
    magic1[16] = 1;
    expect(readRawRecordBatch(new Decoder(magic1))).toBeNull();
  });

  it('throws on records that do not fill their batch (corrupt bytes), instead of packing garbage', async () => {
    const bytes = Buffer.from(await batch(0, records(0, 3)));
    bytes.writeInt32BE(4, 57); // claims four records, holds three
    const r = readRawRecordBatch(new Decoder(bytes))!;
    expect(() => packRecords([r])).toThrow(/corrupt record batch/);
  });
});
