/** One record for the compacted definitions topic: key `trait:<k>` etc., value JSON or null (tombstone). */
export interface DefinitionRecord {
  readonly key: string;
  readonly value: string | null;
}

/**
 * Port: publishes definition records in the given order and resolves only once they are durable
 * (e.g. Kafka acked with acks=all). Throws if any could not be published; the relay retries the batch.
 */
export interface DefinitionPublisher {
  publish(records: readonly DefinitionRecord[]): Promise<void>;
}
