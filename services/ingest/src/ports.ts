import type { CdpEvent } from '@tinycdp/events';

/** One event for the log: key = `userId ?? anonymousId`, value = the normalized event. */
export interface SinkRecord {
  readonly key: string;
  readonly value: CdpEvent;
}

/**
 * Port: the durable event log (tinycdp.events). Ingest answers 200 only after `append` resolved.
 */
export interface EventSink {
  /**
   * Appends the records durably (all of them, in order), resolving once the log acknowledged them.
   * @throws AppError('unavailable', retriable) when the log cannot take them now (→ HTTP 503 + Retry-After).
   */
  append(records: readonly SinkRecord[]): Promise<void>;
  /** Health probe: resolves if the log is reachable. Optional. */
  ping?(): Promise<void>;
}
