import { describe, expect, it } from 'vitest';
import type { OutRecord } from '../ports';
import { boundRecord, boundedSink } from './bounded-sink';

describe('boundedSink', () => {
  it('cuts oversized values and says so in headers, keeping the other headers', () => {
    const r = boundRecord({ key: 'k', value: 'x'.repeat(2_000), headers: { error: 'too large' } }, 1_000);
    expect(Buffer.byteLength(r.value as string)).toBe(1_000);
    // A cut never leaves half a character behind.
    const multi = boundRecord({ key: 'k', value: 'é'.repeat(1_000) }, 1_001);
    expect(multi.value).toBe('é'.repeat(500));
    expect(r.headers).toEqual({ error: 'too large', 'value-truncated': 'true', 'original-value-bytes': '2000' });
    const small: OutRecord = { key: 'k', value: 'ok' };
    expect(boundRecord(small, 1_000)).toBe(small);
  });

  it('passes every record on in one call, in order, oversized values cut', async () => {
    const sent: OutRecord[][] = [];
    const sink = boundedSink({ send: async (rs) => void sent.push([...rs]) }, { maxValueBytes: 100_000 });
    const records = Array.from({ length: 7 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(i === 3 ? 5_000_000 : 90_000) }));
    await sink.send(records);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((r) => r.key)).toEqual(records.map((r) => r.key));
    expect(sent[0]!.map((r) => Buffer.byteLength(r.value as string))).toEqual([90_000, 90_000, 90_000, 100_000, 90_000, 90_000, 90_000]);
    expect(sent[0]![3]!.headers).toMatchObject({ 'value-truncated': 'true', 'original-value-bytes': '5000000' });
  });
});
