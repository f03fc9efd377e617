import { PartitionAssigners, type ConsumerConfig } from 'kafkajs';
import { instanceAssigner } from './instance-assigner';

/** Default MiB per fetch of the processor (TINYCDP_FETCH_MB). */
export const DEFAULT_FETCH_MB = 48;

/**
 * Consumer settings for the stateful processor. Do not change without reading why:
 * - sessionTimeout 30 s / heartbeat 3 s: a batch (Redis round trips + produce) must finish well inside
 *   the session, and kafkajs heartbeats only between messages/batches of eachBatch.
 * - rebalanceTimeout 60 s: members need time to finish their in-flight batch before partitions move,
 *   otherwise two members would apply the same messages concurrently (harmless thanks to the
 *   compare-and-set + message-id dedupe, but wasted work).
 * - maxWaitTimeInMs 50: short fetch waits keep freshness (p99 < 250 ms); minBytes stays 1, so a fetch
 *   returns as soon as anything is there and no batch waits to fill up.
 * - maxBytes `fetchMb` MiB per fetch (default 48; the Java consumer's fetch.max.bytes is 50 MB),
 *   maxBytesPerPartition a third of it (16 MB by default): only a backlog fills them. The processor's
 *   cost is mostly per profile per batch (one load and one compare-and-set write per touched profile),
 *   so catching up with large batches writes each profile once per many events. Measured
 *   (bench/pipeline.ts, 100k events, 2,000 users, 6 partitions, timed from the group assignment,
 *   fetches included): 1 MB → 26k events/s at 36 µs CPU per event (an older run), 4 MB / 10 MB → 44–45k
 *   events/s at 23.5 µs, 8 MB / 32 MB → 52k at 20 µs, 16 MB / 48 MB → 57–59k at 19 µs. The price is memory while catching up: a processor process peaked at ~500–560 MB RSS
 *   against ~425–435 MB with 4 MB / 10 MB (same bench). TINYCDP_FETCH_MB lowers it where memory is tight.
 * - allowAutoTopicCreation false: topics are created by ensureTopics with explicit settings.
 * - partitions shared by processor instance, then by the Kafka threads of each (`instanceAssigner`;
 *   `instanceId` the same for every consumer of one instance), round robin with members that do not
 *   offer it.
 */
export function processorConsumerConfig(groupId: string, sessionTimeout = 30_000, fetchMb = DEFAULT_FETCH_MB, instanceId?: string): ConsumerConfig {
  if (!Number.isInteger(fetchMb) || fetchMb < 1) throw new Error(`fetchMb must be a positive integer, got ${fetchMb}`);
  return {
    groupId,
    sessionTimeout,
    rebalanceTimeout: Math.max(2 * sessionTimeout, 10_000),
    heartbeatInterval: 3_000,
    maxBytesPerPartition: Math.max(1_048_576, Math.floor((fetchMb * 1_048_576) / 3)),
    maxBytes: fetchMb * 1_048_576,
    maxWaitTimeInMs: 50,
    allowAutoTopicCreation: false,
    partitionAssigners: [instanceAssigner(instanceId), PartitionAssigners.roundRobin],
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
}
