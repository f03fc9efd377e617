import { isAppError } from '@tinycdp/common';
import { needsEventBody, type Plan } from '@tinycdp/engine';
import { digestEvent, normalizeMessage, parseDigest, validateMessage, type CdpEvent } from '@tinycdp/events';
import type { LogMessage } from '../ports';

/** Per-message outcome: a value, never an exception (PostHog ingestion style). */
export type DecodeResult =
  | { readonly kind: 'ok'; readonly event: CdpEvent }
  | { readonly kind: 'dlq'; readonly reason: string };

/**
 * Value bytes → JSON value. Plain JSON by default; with a schema registry configured, the Confluent
 * wire format too (libs/kafka `RegistryValueDecoder.decode`). Throws for a bad value (→ DLQ with the
 * error's message), or AppError with `retriable: true` for an infrastructure fault (→ the batch is retried).
 */
export type ValueDecoder = (value: Buffer) => unknown | Promise<unknown>;

/** Without a registry: plain JSON; a wire-format value gets a reason that says what is missing. */
export const decodeJsonValue: ValueDecoder = (value) => {
  if (value[0] === 0 && value.length >= 5) {
    throw new Error(
      `value is in the Confluent wire format (schema id ${value.readUInt32BE(1)}) but no schema registry is configured (SCHEMA_REGISTRY_URL)`,
    );
  }
  return JSON.parse(value.toString('utf8'));
};

/** Largest event value accepted from a direct producer (ingest enforces 32 KB per message). */
export const MAX_VALUE_BYTES = 1024 * 1024;

/**
 * Turns a raw log message into a normalized event (plain JSON values only; synchronous). A message
 * without `messageId` gets a deterministic one from its log position, so a redelivery after a crash is
 * recognised as the same message.
 */
export function decodeMessage(m: LogMessage, topic: string, now: number): DecodeResult {
  // Plain JSON decodes synchronously: the shared path never returns a promise here.
  return decodeMessageSyncWhenPossible(m, topic, now) as DecodeResult;
}

/**
 * `decodeMessage` with a pluggable (possibly async) value decoder: the live pipeline's path, so values
 * in the Confluent wire format decode when a schema registry is configured.
 * @throws only what `decodeValue` throws as a retriable AppError (registry outage): a valid event is
 *   never dead-lettered because a dependency blipped; the caller retries the batch.
 */
export async function decodeMessageWith(
  m: LogMessage,
  topic: string,
  now: number,
  decodeValue: ValueDecoder = decodeJsonValue,
): Promise<DecodeResult> {
  return decodeMessageSyncWhenPossible(m, topic, now, decodeValue);
}

/**
 * `decodeMessageWith` without a promise per message when `decodeValue` answers synchronously (plain
 * JSON, a wire-format value whose schema is cached): a batch of thousands of messages then decodes
 * in one go instead of one microtask hop each. Same results and the same throws (a retriable
 * AppError from `decodeValue` is thrown, or rejected when it came asynchronously).
 */
export function decodeMessageSyncWhenPossible(
  m: LogMessage,
  topic: string,
  now: number,
  decodeValue: ValueDecoder = decodeJsonValue,
): DecodeResult | Promise<DecodeResult> {
  const early = checkSize(m);
  if (early) return early;
  let input: unknown;
  try {
    input = decodeValue(m.value!);
  } catch (err) {
    return failed(err);
  }
  if (isPromiseLike(input)) {
    return Promise.resolve(input).then(
      (value) => toEvent(value, m, topic, now),
      (err: unknown) => failed(err),
    );
  }
  return toEvent(input, m, topic, now);
}

/**
 * The event of a record from its digest header alone, when the digest is valid and `plan` reads nothing
 * else of such an event (`needsEventBody`): the value is not parsed. Null otherwise (decode the value).
 * The same event the value gives, but with empty properties, traits and context — which `plan` does not read.
 */
export function decodeDigest(m: LogMessage, plan: Plan, now: number): DecodeResult | null {
  // Read once: a source may decode it on access (packed records).
  const parsed = m.parsedDigest;
  const d = parsed !== undefined ? parsed : m.digest !== undefined ? parseDigest(m.digest) : null;
  if (d === null || checkSize(m) !== null || needsEventBody(plan, d.type, d.event)) return null;
  return { kind: 'ok', event: digestEvent(d, receivedAtOf(m, now)) };
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A bad value is a DLQ outcome; a retriable infrastructure fault is thrown (the batch is retried). */
function failed(err: unknown): DecodeResult {
  if (isAppError(err) && err.retriable) throw err;
  return { kind: 'dlq', reason: reasonOf(err) };
}

function checkSize(m: LogMessage): DecodeResult | null {
  const size = m.valueSize ?? (m.value === null ? -1 : m.value.length);
  if (size <= 0) return { kind: 'dlq', reason: 'empty value' };
  if (size > MAX_VALUE_BYTES) return { kind: 'dlq', reason: `value too large: ${size} bytes (max ${MAX_VALUE_BYTES})` };
  return null;
}

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof SyntaxError ? `value is not JSON: ${message}` : message;
}

function toEvent(input: unknown, m: LogMessage, topic: string, now: number): DecodeResult {
  const v = validateMessage(input);
  if (!v.ok) {
    return { kind: 'dlq', reason: `invalid message: ${v.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` };
  }
  const event = normalizeMessage(v.message, {
    receivedAt: receivedAtOf(m, now),
    // A closure only for messages without an id (creating one per message shows in profiles).
    newId: v.message.messageId === undefined ? () => positionId(topic, m) : hasOwnId,
  });
  return { kind: 'ok', event };
}

/** When the event was received: the record's log time (the processor's clock for a record without one). */
function receivedAtOf(m: LogMessage, now: number): number {
  const t = Number(m.timestamp);
  return Number.isFinite(t) && t > 0 ? t : now;
}

/** The deterministic id of a message without `messageId`: its log position. */
function positionId(topic: string, m: LogMessage): string {
  return `${topic}/${m.partition}/${m.offset}`;
}

/** Never called: normalizeMessage asks for an id only when the message has none. */
function hasOwnId(): string {
  throw new Error('unreachable: the message has its own messageId');
}
