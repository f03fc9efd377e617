import type { ConsumerConfig } from 'kafkajs';

/**
 * Consumer settings for the stateful processor. Do not change without reading why:
 * - sessionTimeout 30 s / heartbeat 3 s: a batch (Redis round trips + produce) must finish well inside
 *   the session, and kafkajs heartbeats only between messages/batches of eachBatch.
 * - rebalanceTimeout 60 s: members need time to finish their in-flight batch before partitions move,
 *   otherwise two members would apply the same messages concurrently (harmless thanks to the
 *   compare-and-set + message-id dedupe, but wasted work).
 * - maxBytesPerPartition 1 MB, maxWaitTimeInMs 50: small fetch waits keep freshness (p99 < 250 ms).
 * - allowAutoTopicCreation false: topics are created by ensureTopics with explicit settings.
 */
export function processorConsumerConfig(groupId: string, sessionTimeout = 30_000): ConsumerConfig {
  return {
    groupId,
    sessionTimeout,
    rebalanceTimeout: Math.max(2 * sessionTimeout, 10_000),
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1_048_576,
    maxWaitTimeInMs: 50,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
}
