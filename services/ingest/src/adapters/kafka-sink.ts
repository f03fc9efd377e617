import type { Admin } from 'kafkajs';
import { AppError } from '@tinycdp/common';
import type { BatchingProducer, ValueEncoder } from '@tinycdp/kafka';
import type { EventSink, SinkRecord } from '../ports';

const HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * EventSink over Kafka: one record per event on `topic` (`<prefix>events`), key `userId ?? anonymousId`,
 * value the CdpEvent as JSON, header `content-type: application/json` — or, with a schema registry
 * (`encoder`), the Confluent wire format (magic byte 0 + schema id + the same JSON) and headers
 * `content-type: application/vnd.confluent.wire+json`, `schema-id`. `append` resolves once the
 * broker acked (acks = all) through the BatchingProducer, which coalesces concurrent requests.
 */
export class KafkaSink implements EventSink {
  private readonly headers: Readonly<Record<string, string>>;

  constructor(
    private readonly deps: {
      readonly producer: BatchingProducer;
      readonly topic: string;
      /** Used by `ping` (topic metadata) for health checks. */
      readonly admin?: Admin;
      /** Schema registry wire-format encoder for the events schema; absent → plain JSON. */
      readonly encoder?: ValueEncoder;
    },
  ) {
    const e = deps.encoder;
    this.headers = e ? Object.freeze({ 'content-type': e.contentType, 'schema-id': String(e.schemaId) }) : HEADERS;
  }

  /** @throws AppError('unavailable', retriable) when Kafka did not acknowledge. */
  append(records: readonly SinkRecord[]): Promise<void> {
    const { encoder } = this.deps;
    const headers = this.headers;
    return this.deps.producer.send(
      this.deps.topic,
      encoder
        ? records.map((r) => ({ key: r.key, value: encoder.encode(JSON.stringify(r.value)), headers }))
        : records.map((r) => ({ key: r.key, value: JSON.stringify(r.value), headers })),
    );
  }

  async ping(): Promise<void> {
    if (!this.deps.admin) return;
    try {
      await this.deps.admin.fetchTopicMetadata({ topics: [this.deps.topic] });
    } catch (cause) {
      throw new AppError('unavailable', `Kafka topic ${this.deps.topic} unreachable: ${(cause as Error).message}`, { retriable: true, cause });
    }
  }
}
