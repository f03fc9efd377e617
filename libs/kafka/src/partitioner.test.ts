import { describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { partitionForKey } from './partitioner';

describe('partitionForKey', () => {
  it('matches kafkajs DefaultPartitioner for keyed messages', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0 }));
      for (let i = 0; i < 500; i++) {
        const key = `user-${i}-${'x'.repeat(i % 7)}`;
        const expected = kafkajs({ topic: 't', partitionMetadata: partitionMetadata as any, message: { key, value: null } });
        expect(partitionForKey(key, n)).toBe(expected);
      }
    }
  });
});
