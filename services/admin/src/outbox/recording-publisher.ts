import type { DefinitionPublisher, DefinitionRecord } from './definition-publisher.port';

/** In-memory publisher: keeps every record (tests; a stand-in where no topic exists). */
export class RecordingPublisher implements DefinitionPublisher {
  readonly records: DefinitionRecord[] = [];
  /** Set to make the next publish calls fail (tests of retry). */
  failNext = 0;

  async publish(records: readonly DefinitionRecord[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('publish failed (injected)');
    }
    this.records.push(...records);
  }

  /** The latest value per key, as a compacted topic would keep it. */
  compacted(): Map<string, string | null> {
    const m = new Map<string, string | null>();
    for (const r of this.records) m.set(r.key, r.value);
    return m;
  }
}
