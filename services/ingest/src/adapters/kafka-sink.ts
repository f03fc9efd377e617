import type { Admin } from 'kafkajs';
import { AppError } from '@tinycdp/common';
import type { BatchingProducer } from '@tinycdp/kafka';
import type { EventSink, SinkRecord } from '../ports';

const HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * EventSink over Kafka: one record per event on `topic` (`<prefix>events`), key `userId ?? anonymousId`,
 * value the CdpEvent as JSON, header `content-type: application/json`. `append` resolves once the
 * broker acked (acks = all) through the BatchingProducer, which coalesces concurrent requests.
 */
export class KafkaSink implements EventSink {
  constructor(
    private readonly deps: {
      readonly producer: BatchingProducer;
      readonly topic: string;
      /** Used by `ping` (topic metadata) for health checks. */
      readonly admin?: Admin;
    },
  ) {}

  /** @throws AppError('unavailable', retriable) when Kafka did not acknowledge. */
  append(records: readonly SinkRecord[]): Promise<void> {
    return this.deps.producer.send(
      this.deps.topic,
      records.map((r) => ({ key: r.key, value: JSON.stringify(r.value), headers: HEADERS })),
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
