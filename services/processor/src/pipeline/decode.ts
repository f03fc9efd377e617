import { normalizeMessage, validateMessage, type CdpEvent } from '@tinycdp/events';
import type { LogMessage } from '../ports';

/** Per-message outcome: a value, never an exception (PostHog ingestion style). */
export type DecodeResult =
  | { readonly kind: 'ok'; readonly event: CdpEvent }
  | { readonly kind: 'dlq'; readonly reason: string };

/** Largest event value accepted from a direct producer (ingest enforces 32 KB per message). */
export const MAX_VALUE_BYTES = 1024 * 1024;

/**
 * Turns a raw log message into a normalized event. A message without `messageId` gets a deterministic
 * one from its log position, so a redelivery after a crash is recognised as the same message.
 */
export function decodeMessage(m: LogMessage, topic: string, now: number): DecodeResult {
  if (m.value === null || m.value.length === 0) return { kind: 'dlq', reason: 'empty value' };
  if (m.value.length > MAX_VALUE_BYTES) {
    return { kind: 'dlq', reason: `value too large: ${m.value.length} bytes (max ${MAX_VALUE_BYTES})` };
  }
  let input: unknown;
  try {
    input = JSON.parse(m.value.toString('utf8'));
  } catch (err) {
    return { kind: 'dlq', reason: `value is not JSON: ${(err as Error).message}` };
  }
  const v = validateMessage(input);
  if (!v.ok) {
    return { kind: 'dlq', reason: `invalid message: ${v.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` };
  }
  const receivedAt = Number(m.timestamp);
  const event = normalizeMessage(v.message, {
    receivedAt: Number.isFinite(receivedAt) && receivedAt > 0 ? receivedAt : now,
    newId: () => `${topic}/${m.partition}/${m.offset}`,
  });
  return { kind: 'ok', event };
}
