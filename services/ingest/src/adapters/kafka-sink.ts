import type { Admin } from 'kafkajs';
import { AppError } from '@tinycdp/common';
import type { BatchingProducer, ValueEncoder } from '@tinycdp/kafka';
import { DIGEST_HEADER, eventDigest, type CdpEvent } from '@tinycdp/events';
import type { EventSink, SinkRecord } from '../ports';

const HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * EventSink over Kafka: one record per event on `topic` (`<prefix>events`), key `userId ?? anonymousId`,
 * value the CdpEvent as JSON, header `content-type: application/json` — or, with a schema registry
 * (`encoder`), the Confluent wire format (magic byte 0 + schema id + the same JSON) and headers
 * `content-type: application/vnd.confluent.wire+json`, `schema-id` — and, for track, page and screen
 * events, `tinycdp-digest` (`@tinycdp/events` eventDigest: the processor does not parse the value of an
 * event no definition reads more of). `append` resolves once the broker acked (acks = all) through the
 * BatchingProducer, which coalesces concurrent requests.
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
    return this.deps.producer.send(
      this.deps.topic,
      records.map((r) => {
        const json = JSON.stringify(r.value);
        return { key: r.key, value: encoder ? encoder.encode(json) : json, headers: this.headersOf(r.value) };
      }),
    );
  }

  /** The topic's headers, with the event's digest (DIGEST_HEADER) when it has one. */
  private headersOf(e: CdpEvent): Readonly<Record<string, string>> {
    const digest = eventDigest(e);
    return digest === null ? this.headers : { ...this.headers, [DIGEST_HEADER]: digest };
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
