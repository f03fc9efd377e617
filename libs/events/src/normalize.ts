import type { CdpEvent, EventType } from './types';
import type { RawMessage } from './message';
import { LIMITS } from './limits';
import { formatIsoTime, parseCanonicalIso, parseIsoTime } from './internal/iso-time';

export interface NormalizeOptions {
  /** When TinyCDP received the message (ms since epoch, from the caller's clock). */
  readonly receivedAt: number;
  /** Makes a messageId for messages that have none (e.g. a UUID v4). */
  readonly newId: () => string;
  /** Overrides the message's type (the endpoint's type). */
  readonly type?: EventType;
  /**
   * Keep a `receivedAt` already on the message (the processor re-normalizing what ingest wrote).
   * Ingest leaves this false: a client's own `receivedAt` is not trusted and is overwritten.
   */
  readonly keepReceivedAt?: boolean;
}

// Date's range: ±8.64e15 ms. Outside it toISOString throws, so such times fall back to receivedAt.
const MAX_DATE_MS = 8.64e15;

/**
 * Resolves the effective event time (ms):
 * 1. `timestamp` if given;
 * 2. else `receivedAt − (sentAt − originalTimestamp)` when both are given (corrects a skewed device clock);
 * 3. else `receivedAt`.
 * A result more than LIMITS.maxFutureSkewMs ahead of receivedAt is clamped to receivedAt; an
 * unparsable or out-of-range result (only possible for unvalidated input) also falls back to receivedAt.
 */
export function effectiveTimestamp(
  m: { readonly timestamp?: string; readonly sentAt?: string; readonly originalTimestamp?: string },
  receivedAt: number,
): number {
  let t: number;
  if (m.timestamp !== undefined) t = parseIsoTime(m.timestamp);
  else if (m.sentAt !== undefined && m.originalTimestamp !== undefined) {
    t = receivedAt - (parseIsoTime(m.sentAt) - parseIsoTime(m.originalTimestamp));
  } else t = receivedAt;
  if (!Number.isFinite(t) || Math.abs(t) > MAX_DATE_MS) return receivedAt;
  return t > receivedAt + LIMITS.maxFutureSkewMs ? receivedAt : t;
}

/**
 * Turns a validated message into the `CdpEvent` written to tinycdp.events: every field present
 * (`null` when absent), `messageId` assigned when missing, `receivedAt` stamped, `timestamp` resolved
 * by `effectiveTimestamp`. Pure: time and ids come from `options`. Does not throw for validated input.
 */
export function normalizeMessage(raw: RawMessage, options: NormalizeOptions): CdpEvent {
  const type = options.type ?? raw.type;
  let receivedAt = options.receivedAt;
  if (options.keepReceivedAt && raw.receivedAt !== undefined) {
    const given = parseIsoTime(raw.receivedAt);
    if (Number.isFinite(given) && Math.abs(given) <= MAX_DATE_MS) receivedAt = given;
  }
  const timestamp = effectiveTimestamp(raw, receivedAt);
  const receivedIso = formatIsoTime(receivedAt);
  return {
    type,
    messageId: raw.messageId ?? options.newId(),
    userId: raw.userId ?? null,
    anonymousId: raw.anonymousId ?? null,
    event: type === 'track' ? (raw.event ?? null) : null,
    name: type === 'page' || type === 'screen' ? (raw.name ?? null) : null,
    properties: raw.properties ?? {},
    traits: raw.traits ?? {},
    context: raw.context ?? {},
    previousId: raw.previousId ?? null,
    groupId: raw.groupId ?? null,
    // A canonical timestamp that was kept is its own ISO text (no new string per event).
    timestamp:
      timestamp === receivedAt
        ? receivedIso
        : raw.timestamp !== undefined && parseCanonicalIso(raw.timestamp) === timestamp
          ? raw.timestamp
          : formatIsoTime(timestamp),
    receivedAt: receivedIso,
    sentAt: raw.sentAt ?? null,
    originalTimestamp: raw.originalTimestamp ?? null,
  };
}
