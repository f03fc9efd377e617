import type { KafkaMessage } from 'kafkajs';
import { DIGEST_HEADER } from '@tinycdp/events';
import type { LogMessage } from '../ports';

/**
 * A kafkajs record as the pipeline reads it, without copying it: the key is decoded on use (only
 * dead-lettered records need it), the digest header once.
 */
export class KafkaLogMessage implements LogMessage {
  readonly offset: string;
  readonly value: Buffer | null;
  readonly timestamp: string;
  readonly digest: string | undefined;

  constructor(
    readonly partition: number,
    private readonly record: KafkaMessage,
  ) {
    this.offset = record.offset;
    this.value = record.value;
    this.timestamp = record.timestamp;
    const h = record.headers?.[DIGEST_HEADER];
    const digest = Array.isArray(h) ? h[0] : h;
    this.digest = digest === undefined ? undefined : digest.toString();
  }

  get key(): string | null {
    return this.record.key === null ? null : this.record.key.toString('utf8');
  }
}
