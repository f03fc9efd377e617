/**
 * `encodeRecordBatch` writes exactly the bytes kafkajs' own encoders write (CRC included), for records
 * of every shape a producer hands over; the installed encoders are checked in a Kafka thread against
 * the real broker (services/ingest, services/processor integration tests).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeRecordBatch, type RecordBatchFields, type RecordFields } from './record-batch-encoding';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (p: object) => Promise<{ buffer: Buffer }> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as ((f: RecordFields) => unknown) & { pending?: true };
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown };

async function viaKafkajs(b: RecordBatchFields): Promise<Buffer> {
  return (await RecordBatch({ ...b, compression: 0, records: b.records.map((r) => Record(r)) })).buffer;
}

const records = (n: number, from = 0): RecordFields[] =>
  Array.from({ length: n }, (_, i) => {
    const k = from + i;
    const base = { offsetDelta: i, timestampDelta: k % 7 === 0 ? 2 ** 40 + k : k * 13 };
    switch (k % 5) {
      case 0:
        return { ...base, key: `user-${k}`, value: `{"n":${k},"s":"ünïcødé ✓"}`, headers: { 'content-type': 'application/json', 'tinycdp-digest': `1\x1ftrack\x1fm-${k}` } };
      case 1:
        return { ...base, key: null, value: null };
      case 2:
        return { ...base, key: Buffer.from([0, 1, 2, 255]), value: Buffer.alloc(20_000, 7), headers: { list: ['a', Buffer.from('b'), 'ç'], empty: '' } };
      case 3:
        return { ...base, value: 'x'.repeat(130), headers: {} };
      default:
        return { ...base, key: '', value: '', headers: { ['h'.repeat(200)]: 'v'.repeat(70) } };
    }
  });

describe('encodeRecordBatch', () => {
  it('test setup: the kafkajs encoders here are the original ones', () => {
    expect(Record.pending).toBeUndefined();
  });

  it.each([
    ['one record', { records: records(1), firstTimestamp: 1_764_000_000_000, maxTimestamp: 1_764_000_000_000, lastOffsetDelta: 0 }],
    ['mixed records', { records: records(40), firstTimestamp: 1_764_000_000_000, maxTimestamp: 1_764_000_009_999, lastOffsetDelta: 39 }],
    [
      'idempotent producer fields, Long ids, transactional',
      {
        records: records(300, 3),
        firstTimestamp: '1764000000123',
        maxTimestamp: Long.fromValue('1764000005000'),
        lastOffsetDelta: 299,
        producerId: Long.fromValue('9007199254740000'),
        producerEpoch: 3,
        firstSequence: 1234,
        transactional: true,
        partitionLeaderEpoch: 7,
      },
    ],
    ['no records', { records: [], firstTimestamp: 0, maxTimestamp: 0, lastOffsetDelta: -1 }],
  ] as [string, RecordBatchFields][])('%s: the same bytes as kafkajs', async (_, b) => {
    const ours = encodeRecordBatch(b);
    const theirs = await viaKafkajs(b);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });
});
