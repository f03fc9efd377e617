import { describe, expect, it } from 'vitest';
import { DEFAULT_FETCH_MB, processorConsumerConfig } from './consumer-config';

const MiB = 1_048_576;

describe('processorConsumerConfig', () => {
  it('reads 48 MiB per fetch and 16 MiB per partition by default', () => {
    const c = processorConsumerConfig('g');
    expect(DEFAULT_FETCH_MB).toBe(48);
    expect(c).toMatchObject({ groupId: 'g', sessionTimeout: 30_000, maxBytes: 48 * MiB, maxBytesPerPartition: 16 * MiB, maxWaitTimeInMs: 50 });
  });

  it('scales both fetch bounds with fetchMb (a partition gets a third, at least 1 MiB)', () => {
    expect(processorConsumerConfig('g', 10_000, 12)).toMatchObject({ sessionTimeout: 10_000, maxBytes: 12 * MiB, maxBytesPerPartition: 4 * MiB });
    expect(processorConsumerConfig('g', 30_000, 1)).toMatchObject({ maxBytes: MiB, maxBytesPerPartition: MiB });
  });

  it('refuses a fetch size that is not a positive whole number of MiB', () => {
    for (const bad of [0, -1, 2.5, Number.NaN]) expect(() => processorConsumerConfig('g', 30_000, bad), String(bad)).toThrow(/fetchMb must be a positive integer/);
  });
});
