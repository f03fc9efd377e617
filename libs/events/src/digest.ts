import type { CdpEvent, EventType } from './types';
import { isBlockedId } from './identity';
import { LIMITS } from './limits';
import { formatIsoTime, parseCanonicalIso } from './internal/iso-time';

/**
 * The header ingest writes beside every event on `tinycdp.events`: the event's identity and time in a
 * few dozen bytes, so the processor can apply an event without parsing its value when no definition
 * reads anything else of it (no property, trait or context path, no `where` filter — e.g. a plain
 * `events.app_open.count_7d`). Optional for direct producers; when present it must restate the value.
 */
export const DIGEST_HEADER = 'tinycdp-digest';

/** The event types a digest stands for: the others carry what the processor always reads (traits, ids). */
type DigestType = Extract<EventType, 'track' | 'page' | 'screen'>;

/** What a digest carries (version 1). */
export interface EventDigest {
  readonly type: DigestType;
  readonly messageId: string;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  /** The track event's name (null for page and screen). */
  readonly event: string | null;
  /** Canonical UTC ISO-8601 (`YYYY-MM-DDTHH:MM:SS.sssZ`). */
  readonly timestamp: string;
  /** `timestamp` in ms since the epoch. */
  readonly timestampMs: number;
}

/** Field separator (ASCII unit separator): a field that contains it gets no digest. */
const SEP = '\x1f';
const VERSION = '1';
/** Shared by every digest event: the engine never writes to an event. */
const EMPTY: { readonly [key: string]: unknown } = Object.freeze({});

/**
 * The digest text of a normalized event — `1␟type␟messageId␟userId␟anonymousId␟event␟timestamp` (␟ is
 * U+001F, an absent id or name is empty) — or null for an event a digest does not stand for (identify,
 * alias, group, a non-canonical timestamp, a field that is missing or contains U+001F).
 */
export function eventDigest(e: CdpEvent): string | null {
  if (e.type !== 'track' && e.type !== 'page' && e.type !== 'screen') return null;
  const fields: unknown[] = [e.type, e.messageId, e.userId ?? '', e.anonymousId ?? '', e.type === 'track' ? (e.event ?? '') : '', e.timestamp];
  // (Not every caller's event went through normalizeMessage: a field that is not a string means no digest.)
  for (const f of fields) if (typeof f !== 'string' || f.includes(SEP)) return null;
  if (Number.isNaN(parseCanonicalIso(e.timestamp))) return null;
  return `${VERSION}${SEP}${fields.join(SEP)}`;
}

function optionalId(v: string): boolean {
  return v === '' || (v.length <= LIMITS.maxIdLength && !isBlockedId(v));
}

/**
 * A digest as the processor may use it, or null when `text` is not a well-formed version-1 digest of a
 * message the value's own validation would accept (the value then decides, as without a digest).
 */
export function parseDigest(text: string): EventDigest | null {
  const f = text.split(SEP);
  if (f.length !== 7 || f[0] !== VERSION) return null;
  const [, type, messageId, userId, anonymousId, event, timestamp] = f as [string, string, string, string, string, string, string];
  if (type !== 'track' && type !== 'page' && type !== 'screen') return null;
  if (messageId.length < 1 || messageId.length > LIMITS.maxIdLength) return null;
  if (!optionalId(userId) || !optionalId(anonymousId) || (userId === '' && anonymousId === '')) return null;
  if (type === 'track' ? event.length < 1 || event.length > LIMITS.maxEventNameLength : event !== '') return null;
  const timestampMs = parseCanonicalIso(timestamp);
  if (Number.isNaN(timestampMs)) return null;
  return {
    type,
    messageId,
    userId: userId === '' ? null : userId,
    anonymousId: anonymousId === '' ? null : anonymousId,
    event: event === '' ? null : event,
    timestamp,
    timestampMs,
  };
}

let lastReceivedAt = NaN;
let lastReceivedIso = '';

/**
 * The event a digest stands for, as `normalizeMessage` makes it of the value (same `receivedAt`, same
 * timestamp rule) but with empty `properties`, `traits` and `context`.
 */
export function digestEvent(d: EventDigest, receivedAt: number): CdpEvent {
  // Records of one produce request share their log time: format it once for a run of them.
  if (receivedAt !== lastReceivedAt) {
    lastReceivedAt = receivedAt;
    lastReceivedIso = formatIsoTime(receivedAt);
  }
  const receivedIso = lastReceivedIso;
  const t = d.timestampMs;
  // effectiveTimestamp: a time too far ahead of receipt is the receipt time.
  const timestamp = t > receivedAt + LIMITS.maxFutureSkewMs || t === receivedAt ? receivedIso : d.timestamp;
  // The keys in normalizeMessage's order: events of both kinds share one object shape.
  return {
    type: d.type,
    messageId: d.messageId,
    userId: d.userId,
    anonymousId: d.anonymousId,
    event: d.type === 'track' ? d.event : null,
    name: null,
    properties: EMPTY,
    traits: EMPTY,
    context: EMPTY,
    previousId: null,
    groupId: null,
    timestamp,
    receivedAt: receivedIso,
    sentAt: null,
    originalTimestamp: null,
  };
}
