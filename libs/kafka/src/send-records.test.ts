import { describe, expect, it } from 'vitest';
import type { Producer, ProducerRecord as KafkaSend } from 'kafkajs';
import { SEND_MAX_BYTES, SEND_MAX_RECORDS, recordBytes, sendRecords } from './send-records';

/** Records what would be produced (slicing is pure logic; the broker side is send-records.int.test.ts). */
function recorder(): { producer: Producer; sends: KafkaSend[] } {
  const sends: KafkaSend[] = [];
  const producer = { send: async (r: KafkaSend) => void sends.push(r) } as unknown as Producer;
  return { producer, sends };
}

describe('sendRecords slicing', () => {
  it('sends a call that fits as one request, acks = all', async () => {
    const { producer, sends } = recorder();
    const records = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    await sendRecords(producer, 't', records);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ topic: 't', acks: -1 });
    expect(sends[0]!.messages).toHaveLength(10);
  });

  it('splits by record count and by bytes, in order, each slice within both limits', async () => {
    const { producer, sends } = recorder();
    const small = Array.from({ length: 2 * SEND_MAX_RECORDS + 1 }, (_, i) => ({ key: `k${i}`, value: String(i) }));
    const big = Array.from({ length: 40 }, (_, i) => ({ key: `b${i}`, value: 'y'.repeat(100_000) }));
    await sendRecords(producer, 't', [...small, ...big]);
    const flat = sends.flatMap((s) => s.messages);
    expect(flat.map((m) => m.key)).toEqual([...small, ...big].map((r) => r.key));
    for (const s of sends) {
      expect(s.messages.length).toBeLessThanOrEqual(SEND_MAX_RECORDS);
      const bytes = s.messages.reduce((n, m) => n + recordBytes(m as { key: string; value: string }), 0);
      expect(bytes).toBeLessThanOrEqual(SEND_MAX_BYTES);
    }
    // 1,000 + 1,000 by count; then 9 records of ~100 KB fit under 900 KB (the last small one rides along).
    expect(sends.map((s) => s.messages.length)).toEqual([1000, 1000, 10, 9, 9, 9, 4]);
  });

  it('sends a single record larger than the byte limit alone rather than never', async () => {
    const { producer, sends } = recorder();
    await sendRecords(producer, 't', [{ key: 'a', value: 'z'.repeat(SEND_MAX_BYTES + 1) }, { key: 'b', value: 'v' }]);
    expect(sends.map((s) => s.messages.length)).toEqual([1, 1]);
  });

  it('passes tombstones (null values) through', async () => {
    const { producer, sends } = recorder();
    await sendRecords(producer, 't', [{ key: 'flag:a', value: null }]);
    expect(sends[0]!.messages).toEqual([{ key: 'flag:a', value: null }]);
  });

  it('stops at the first failed send and rejects with its error', async () => {
    let calls = 0;
    const producer = {
      send: async () => {
        if (++calls === 2) throw new Error('broker said no');
      },
    } as unknown as Producer;
    const records = Array.from({ length: 3 * SEND_MAX_RECORDS }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    await expect(sendRecords(producer, 't', records)).rejects.toThrow('broker said no');
    expect(calls).toBe(2);
  });
});
