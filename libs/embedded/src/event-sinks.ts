import { AppError } from '@tinycdp/common';
import type { CdpEvent } from '@tinycdp/events';
import { eventKey } from '@tinycdp/events';
import type { FileEventLog } from './file-event-log';
import type { EventSink, OutRecord, RecordSink } from './ports';

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/**
 * Ingest's EventSink over the embedded log: the events topic, key `userId ?? anonymousId`, value the
 * event's JSON, header content-type — the same records ingest produces to Kafka. Resolves once fsync'ed.
 */
export class EmbeddedEventSink implements EventSink {
  constructor(
    private readonly log: FileEventLog,
    private readonly topic: string,
  ) {}

  async append(records: readonly { key: string; value: CdpEvent }[]): Promise<void> {
    if (records.length === 0) return;
    await this.log.append(
      this.topic,
      records.map((r) => ({ key: r.key || eventKey(r.value), value: JSON.stringify(r.value), headers: JSON_HEADERS })),
    );
  }

  /** Health probe: the log is open and has the topic. Throws AppError('unavailable') otherwise. */
  async ping(): Promise<void> {
    if (!this.log.isOpen() || !this.log.hasTopic(this.topic)) {
      throw new AppError('unavailable', `embedded event log ${this.log.isOpen() ? `has no topic ${this.topic}` : 'is closed'}`, {
        retriable: true,
      });
    }
  }
}

/** The processor's RecordSink (segment changes, DLQ) over one topic of the embedded log. */
export class LogRecordSink implements RecordSink {
  constructor(
    private readonly log: FileEventLog,
    private readonly topic: string,
  ) {}

  async send(records: readonly OutRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.log.append(
      this.topic,
      records.map((r) => ({ key: r.key, value: r.value, headers: { ...JSON_HEADERS, ...r.headers } })),
    );
  }
}
