import { AppError } from '@tinycdp/common';
import type { EventSink, SinkRecord } from '../ports';

/** An EventSink in memory, for tests: keeps what was appended; `down = true` makes it unavailable. */
export class MemorySink implements EventSink {
  readonly records: SinkRecord[] = [];
  down = false;

  async append(records: readonly SinkRecord[]): Promise<void> {
    if (this.down) throw new AppError('unavailable', 'event log unavailable', { retriable: true });
    this.records.push(...records);
  }

  async ping(): Promise<void> {
    if (this.down) throw new Error('event log unavailable');
  }
}
