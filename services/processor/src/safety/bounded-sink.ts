/**
 * A RecordSink decorator that keeps every record under the broker's size limit. Why: the DLQ
 * receives values exactly as a direct producer wrote them; the events topic may allow larger messages
 * than the DLQ (or several large poison values land in one batch), and a record batch over the DLQ's
 * `max.message.bytes` (1 MiB by default) is rejected as non-retriable — the batch handler throws, the
 * offsets never move, and ONE poison message stops its partition for good. So:
 * - a value longer than `maxValueBytes` is cut to that many bytes, with headers `value-truncated: true`
 *   and `original-value-bytes: <n>` (the reason and the original topic/partition/offset headers stay,
 *   so the message can still be found in the source topic while it is retained);
 * - the Kafka sink under it (kafkaSink → sendRecords in @tinycdp/kafka) keeps every produce request
 *   under the limit by sending large calls in several requests, in order.
 */
import type { OutRecord, RecordSink } from '../ports';

export interface BoundedSinkOptions {
  /** Default 256 KiB. */
  readonly maxValueBytes?: number;
}

function byteLength(v: unknown): number {
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : Buffer.isBuffer(v) ? v.length : 0;
}

/** Cuts oversized values (see the module comment). Pure. */
export function boundRecord(r: OutRecord, maxValueBytes: number): OutRecord {
  const size = byteLength(r.value);
  if (size <= maxValueBytes) return r;
  const value: unknown = r.value;
  let cut: unknown;
  if (typeof value === 'string') {
    // Cut on a character boundary: drop a trailing partial sequence (decoded as U+FFFD).
    cut = Buffer.from(value, 'utf8').subarray(0, maxValueBytes).toString('utf8').replace(/\uFFFD+$/, '');
  } else {
    cut = (value as Buffer).subarray(0, maxValueBytes);
  }
  return {
    key: r.key,
    value: cut as OutRecord['value'],
    headers: { ...r.headers, 'value-truncated': 'true', 'original-value-bytes': String(size) },
  };
}

export function boundedSink(inner: RecordSink, options: BoundedSinkOptions = {}): RecordSink {
  const maxValueBytes = options.maxValueBytes ?? 256 * 1024;
  return {
    send: (records: readonly OutRecord[]) => inner.send(records.map((r) => boundRecord(r, maxValueBytes))),
  };
}
