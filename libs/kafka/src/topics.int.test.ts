import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createTopics, deleteTopics, getServices, isolatedTopicPrefix } from '@tinycdp/testkit';
import { ensureTopics, topicNames, topicSettingsFromConfig, topicSpecs } from './topics';

const brokers = () => getServices().kafkaBrokers;
const prefix = isolatedTopicPrefix();
const names = topicNames(prefix);
const allTopics = Object.values(names);
let admin: Admin;

beforeAll(async () => {
  admin = new Kafka({ clientId: 'topics-int', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await deleteTopics(brokers(), allTopics).catch(() => undefined);
});

describe('ensureTopics against a real broker', () => {
  it('creates missing topics with the configured settings and reports an existing one with another partition count', async () => {
    // Another service (or an operator) created the events topic first, with 2 partitions.
    await createTopics(brokers(), [names.events], 2);
    const specs = topicSpecs(names, topicSettingsFromConfig({ partitions: 3, replicationFactor: 1 }));

    const first = await ensureTopics(admin, specs);
    expect([...first.created].sort()).toEqual([names.eventsDlq, names.segmentChanges, names.definitions].sort());
    expect(first.partitionMismatches).toEqual([{ topic: names.events, existingPartitions: 2, configuredPartitions: 3 }]);

    const meta = await admin.fetchTopicMetadata({ topics: allTopics });
    const byName = new Map(meta.topics.map((t) => [t.name, t.partitions]));
    expect(byName.get(names.events)).toHaveLength(2); // left as it was, never re-partitioned
    expect(byName.get(names.segmentChanges)).toHaveLength(3);
    expect(byName.get(names.eventsDlq)).toHaveLength(1);
    expect(byName.get(names.definitions)).toHaveLength(1);
    for (const [topic, partitions] of byName) {
      for (const p of partitions) expect(p.replicas, `${topic}/${p.partitionId} replicas`).toHaveLength(1);
    }

    // Idempotent: nothing created the second time, and the mismatch is reported again (one per start-up).
    const second = await ensureTopics(admin, specs);
    expect(second.created).toEqual([]);
    expect(second.partitionMismatches).toEqual(first.partitionMismatches);

    // With the existing count configured, nothing differs.
    const matching = await ensureTopics(admin, topicSpecs(names, topicSettingsFromConfig({ partitions: 2, replicationFactor: 1 })));
    expect(matching.partitionMismatches).toEqual([{ topic: names.segmentChanges, existingPartitions: 3, configuredPartitions: 2 }]);
  });

  it('is safe to race: concurrent start-ups all succeed, each topic created once, no mismatch', async () => {
    const raced = topicNames(`${prefix}race.`);
    allTopics.push(...Object.values(raced));
    const specs = topicSpecs(raced, topicSettingsFromConfig({ partitions: 2, replicationFactor: 1 }));
    const results = await Promise.all([ensureTopics(admin, specs), ensureTopics(admin, specs), ensureTopics(admin, specs)]);
    const created = results.flatMap((r) => r.created);
    expect(new Set(created).size, 'no topic reported created twice').toBe(created.length);
    expect(results.flatMap((r) => r.partitionMismatches)).toEqual([]);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(Object.values(raced)));
  });

  it('refuses to create a topic with a replication factor above the number of brokers', async () => {
    const brokerCount = (await admin.describeCluster()).brokers.length;
    const topic = `${prefix}rf-too-high`;
    allTopics.push(topic);
    const specs = [{ topic, numPartitions: 1, replicationFactor: brokerCount + 1 }];
    await expect(ensureTopics(admin, specs)).rejects.toThrow();
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
