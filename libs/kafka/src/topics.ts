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

/** The two topic settings an operator chooses (`TINYCDP_PARTITIONS`, `TINYCDP_REPLICATION_FACTOR`). */
export interface ConfiguredTopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
}

/**
 * The settings every service creates its topics with: the library defaults (retention) plus the
 * configured partitions and replication factor. Every service that creates topics goes through this,
 * so whichever starts first creates them the same way.
 * @throws RangeError if partitions is not an integer in 1..1024 or replicationFactor not in 1..32
 *   (the services' config schemas reject such values before this is called).
 */
export function topicSettingsFromConfig(c: ConfiguredTopicSettings): TopicSettings {
  if (!Number.isInteger(c.partitions) || c.partitions < 1 || c.partitions > 1024) {
    throw new RangeError(`partitions must be an integer in 1..1024, got ${c.partitions}`);
  }
  if (!Number.isInteger(c.replicationFactor) || c.replicationFactor < 1 || c.replicationFactor > 32) {
    throw new RangeError(`replicationFactor must be an integer in 1..32, got ${c.replicationFactor}`);
  }
  return Object.freeze({ ...DEFAULT_TOPIC_SETTINGS, partitions: c.partitions, replicationFactor: c.replicationFactor });
}

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

/** An existing topic whose partition count is not the one its spec asks for. */
export interface PartitionMismatch {
  readonly topic: string;
  readonly existingPartitions: number;
  readonly configuredPartitions: number;
}

export interface EnsureTopicsResult {
  /** Topics this call created (empty when another instance created them concurrently). */
  readonly created: readonly string[];
  /** Topics that already existed with another partition count; they are used as they are. */
  readonly partitionMismatches: readonly PartitionMismatch[];
}

/**
 * Creates missing topics; existing ones are left as they are — never re-partitioned, since that would
 * move keys (profiles) between partitions — and those whose partition count differs from the spec are
 * reported, for the caller to warn about. Idempotent, safe to race.
 * @throws the kafkajs error when the broker refuses to create a topic (e.g. a replication factor above
 *   the number of brokers), or when the metadata of the existing topics cannot be read.
 */
export async function ensureTopics(admin: Admin, specs: readonly ITopicConfig[]): Promise<EnsureTopicsResult> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((t) => !existing.has(t.topic));
  let created: string[] = [];
  if (missing.length > 0) {
    try {
      // false: every one of them already existed (another instance created them in between).
      if (await admin.createTopics({ topics: [...missing], waitForLeaders: true })) created = missing.map((t) => t.topic);
    } catch (err) {
      // Another instance may have created them between list and create.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') {
        const now = new Set(await admin.listTopics());
        if (missing.some((t) => !now.has(t.topic))) throw err;
      }
    }
  }
  const mine = new Set(created);
  // numPartitions unset or -1 means "broker default": nothing to compare against.
  const toCheck = specs.filter((t) => !mine.has(t.topic) && t.numPartitions !== undefined && t.numPartitions > 0);
  const partitionMismatches: PartitionMismatch[] = [];
  if (toCheck.length > 0) {
    const meta = await admin.fetchTopicMetadata({ topics: toCheck.map((t) => t.topic) });
    const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    for (const t of toCheck) {
      const existingPartitions = counts.get(t.topic);
      if (existingPartitions !== undefined && existingPartitions !== t.numPartitions) {
        partitionMismatches.push(Object.freeze({ topic: t.topic, existingPartitions, configuredPartitions: t.numPartitions! }));
      }
    }
  }
  return Object.freeze({ created: Object.freeze(created), partitionMismatches: Object.freeze(partitionMismatches) });
}
