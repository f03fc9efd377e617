import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_SETTINGS, topicNames, topicSettingsFromConfig, topicSpecs } from './topics';

describe('topicSettingsFromConfig', () => {
  it('merges the configured partitions and replication factor over the library defaults, frozen', () => {
    const s = topicSettingsFromConfig({ partitions: 12, replicationFactor: 3 });
    expect(s).toEqual({ ...DEFAULT_TOPIC_SETTINGS, partitions: 12, replicationFactor: 3 });
    expect(s.eventsRetentionMs).toBe(DEFAULT_TOPIC_SETTINGS.eventsRetentionMs);
    expect(Object.isFrozen(s)).toBe(true);
    expect(DEFAULT_TOPIC_SETTINGS).toMatchObject({ partitions: 6, replicationFactor: 1 }); // not mutated
  });

  it('rejects values outside 1..1024 partitions / 1..32 replicas, or not whole numbers', () => {
    for (const partitions of [0, 1025, 2.5, Number.NaN]) {
      expect(() => topicSettingsFromConfig({ partitions, replicationFactor: 1 }), String(partitions)).toThrow(RangeError);
    }
    for (const replicationFactor of [0, 33, 1.5]) {
      expect(() => topicSettingsFromConfig({ partitions: 6, replicationFactor }), String(replicationFactor)).toThrow(/replicationFactor/);
    }
    expect(topicSettingsFromConfig({ partitions: 1024, replicationFactor: 32 })).toMatchObject({ partitions: 1024, replicationFactor: 32 });
  });
});

describe('topicSpecs', () => {
  it('gives every topic the replication factor; events and segment changes the partitions; DLQ and definitions one', () => {
    const specs = topicSpecs(topicNames('p.'), topicSettingsFromConfig({ partitions: 9, replicationFactor: 3 }));
    expect(specs.map((t) => [t.topic, t.numPartitions, t.replicationFactor])).toEqual([
      ['p.events', 9, 3],
      ['p.events.dlq', 1, 3],
      ['p.segment-changes', 9, 3],
      ['p.definitions', 1, 3],
    ]);
    expect(specs.find((t) => t.topic === 'p.definitions')?.configEntries).toContainEqual({ name: 'cleanup.policy', value: 'compact' });
  });
});
