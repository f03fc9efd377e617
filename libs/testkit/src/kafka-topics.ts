import { Kafka, logLevel } from 'kafkajs';

function admin(brokers: string[]) {
  return new Kafka({ clientId: 'tinycdp-testkit', brokers, logLevel: logLevel.NOTHING }).admin();
}

/**
 * Creates the topics (idempotent) and returns once every partition has a leader.
 * @throws the kafkajs error when the broker refuses (e.g. an invalid topic name).
 */
export async function createTopics(brokers: string[], names: string[], partitions = 1): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await a.createTopics({
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await a.disconnect();
  }
}

/** Deletes the topics that exist among `names`; missing ones are ignored. */
export async function deleteTopics(brokers: string[], names: string[]): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    const existing = new Set(await a.listTopics());
    const topics = names.filter((n) => existing.has(n));
    if (topics.length > 0) await a.deleteTopics({ topics });
  } finally {
    await a.disconnect();
  }
}
