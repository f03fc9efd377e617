import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { RecordProducer } from '@tinycdp/kafka';
import type { KafkaConnection } from './fetch-thread-protocol';
import { KafkaEventSource } from './kafka-sources';
import { ThreadedKafkaEventSource } from './threaded-kafka-source';

/** What both event sources take. */
export interface EventSourceOptions {
  readonly sessionTimeoutMs?: number;
  readonly fetchMb?: number;
  readonly startPaused?: boolean;
}

/**
 * The processor's consumer-group edge over `topic`: on `threads` Kafka threads of its own (`fetchThreads`),
 * with `producer` a thread's producer (segment changes are best produced there: kafkajs encodes them off
 * the pipeline thread), or on this thread when `threads` is 0 (`producer` null).
 */
export function kafkaEventSource(
  threads: number,
  kafka: Kafka,
  connection: KafkaConnection,
  topic: string,
  groupId: string,
  logger: Logger,
  options: EventSourceOptions = {},
): { source: KafkaEventSource | ThreadedKafkaEventSource; producer: RecordProducer | null } {
  if (threads === 0) return { source: new KafkaEventSource(kafka, topic, groupId, logger, options), producer: null };
  const source = new ThreadedKafkaEventSource(kafka, connection, topic, groupId, logger, { ...options, threads });
  return { source, producer: source.producer };
}
