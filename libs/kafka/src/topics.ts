import type { Admin, ITopicConfig } from 'kafkajs';

/** Topic names, all under one prefix (default `tinycdp.`) so tests and tenants can isolate. */
export interface TopicNames {
  readonly events: string;
  readonly eventsDlq: string;
  readonly segmentChanges: string;
  readonly definitions: string;
}

export function topicNames(prefix = 'tinycdp.'): TopicNames {
  return Object.freeze({
    events: `${prefix}events`,
    eventsDlq: `${prefix}events.dlq`,
    segmentChanges: `${prefix}segment-changes`,
    definitions: `${prefix}definitions`,
  });
}

export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Retention of the event log. Must cover the longest window any definition uses (rebuild/backfill). */
  readonly eventsRetentionMs: number;
  readonly changesRetentionMs: number;
}

export const DEFAULT_TOPIC_SETTINGS: TopicSettings = Object.freeze({
  partitions: 6,
  replicationFactor: 1,
  eventsRetentionMs: 400 * 24 * 3600 * 1000,
  changesRetentionMs: 7 * 24 * 3600 * 1000,
});

export function topicSpecs(names: TopicNames, s: TopicSettings): ITopicConfig[] {
  return [
    {
      topic: names.events,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(s.eventsRetentionMs) }],
    },
    {
      topic: names.eventsDlq,
      numPartitions: 1,
      replicationFactor: s.replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(s.eventsRetentionMs) }],
    },
    {
      topic: names.segmentChanges,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(s.changesRetentionMs) }],
    },
    {
      // Compacted: the latest value per key is the definition; null is a deletion.
      topic: names.definitions,
      numPartitions: 1,
      replicationFactor: s.replicationFactor,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'min.compaction.lag.ms', value: '0' },
      ],
    },
  ];
}

/** Creates missing topics; existing ones are left as they are. Idempotent, safe to race. */
export async function ensureTopics(admin: Admin, specs: readonly ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: [...missing], waitForLeaders: true });
  } catch (err) {
    // Another instance may have created them between list and create.
    if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') {
      const now = new Set(await admin.listTopics());
      if (missing.some((t) => !now.has(t.topic))) throw err;
    }
  }
  return missing.map((t) => t.topic);
}
