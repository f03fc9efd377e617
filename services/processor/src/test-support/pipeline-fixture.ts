// Test-only setup shared by the processor's integration tests (never imported by production code).
// It cannot import @tinycdp/testkit (a non-test file of a scope:service project), so callers pass an
// isolated consumer group id for the segment-changes subscriber.
import type { Kafka, Producer } from 'kafkajs';
import { DEFAULT_TOPIC_SETTINGS, DefinitionsWriter, ensureTopics, topicSpecs, type TopicNames } from '@tinycdp/kafka';

export interface PipelineFixtureOptions {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  /** Partitions of every topic created. */
  readonly partitions: number;
  /** Published to `topics.definitions`, keyed `<kind>:<key>`, as JSON. */
  readonly definitions: readonly { readonly kind: string; readonly key: string }[];
  /** Consumer group of the segment-changes subscriber (pass `isolatedGroupId()`). */
  readonly changesGroupId: string;
}

export interface PipelineFixture<T> {
  /** Connected; the tests use it to send events (and to back processor sinks). */
  readonly producer: Producer;
  /** Every message of `topics.segmentChanges` (read from the beginning), JSON-parsed, in arrival order. */
  readonly changes: T[];
  /** Disconnects the segment-changes subscriber and the producer. */
  stop(): Promise<void>;
}

/**
 * Creates the topics, connects a producer, publishes the definitions and starts a subscriber that
 * collects every segment change into `changes`.
 */
export async function startPipelineFixture<T>(opts: PipelineFixtureOptions): Promise<PipelineFixture<T>> {
  const { kafka, topics, partitions, definitions, changesGroupId } = opts;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, { ...DEFAULT_TOPIC_SETTINGS, partitions }));
  await admin.disconnect();

  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: changesGroupId });
  const changes: T[] = [];
  const stop = async (): Promise<void> => {
    try {
      await consumer.disconnect();
    } finally {
      await producer.disconnect();
    }
  };
  try {
    await producer.connect();
    await new DefinitionsWriter(producer, topics.definitions).publish(definitions.map((d) => ({ key: `${d.kind}:${d.key}`, value: JSON.stringify(d) })));
    await consumer.connect();
    await consumer.subscribe({ topic: topics.segmentChanges, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void changes.push(JSON.parse(message.value!.toString()) as T) });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { producer, changes, stop };
}
