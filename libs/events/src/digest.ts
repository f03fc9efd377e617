import type { CdpEvent, EventType } from './types';
import { isBlockedId, isBlockedIdBytes } from './identity';
import { LIMITS } from './limits';
import { formatIsoTime, parseCanonicalIso, parseCanonicalIsoBytes } from './internal/iso-time';

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
const VERSION_BYTE = VERSION.charCodeAt(0);
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

/** What `scanDigest` finds in a digest's bytes (one object, reused across records). */
export interface DigestScan {
  type: DigestType;
  timestampMs: number;
  /**
   * [start, length] of messageId, userId, anonymousId, event and timestamp, in bytes from the digest's
   * first byte; length -1 for an absent (empty) id or name.
   */
  readonly ranges: Int32Array;
}

export function newDigestScan(): DigestScan {
  return { type: 'track', timestampMs: NaN, ranges: new Int32Array(10) };
}

const SEP_BYTE = 0x1f;
const FIELDS = 7;
/** Where each field starts (relative to the digest), and past the end + 1 (a separator's place). */
const fieldAt = new Int32Array(FIELDS + 1);

/** The event types a digest may stand for, in a fixed order (packed records store the index). */
export const DIGEST_TYPES: readonly DigestType[] = ['track', 'page', 'screen'];

/**
 * `parseDigest` of a digest's UTF-8 bytes `b[start..end)` without making strings of them (the
 * processor's Kafka thread reads one per record): true — a usable digest, described in `out`; false —
 * `parseDigest` would return null; null — not ASCII (lengths in bytes are not lengths in characters):
 * parse the text instead.
 */
export function scanDigest(b: Uint8Array, start: number, end: number, out: DigestScan): boolean | null {
  let n = 0;
  fieldAt[n++] = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return null;
    if (c === SEP_BYTE) {
      if (n === FIELDS) return false; // more than seven fields: rejected whatever the rest holds
      fieldAt[n++] = i + 1 - start;
    }
  }
  if (n !== FIELDS) return false;
  fieldAt[FIELDS] = end + 1 - start;
  // Field k is b[start + fieldAt[k] ..) of length fieldAt[k+1] - fieldAt[k] - 1.
  if (fieldAt[1] !== 2 || b[start] !== VERSION_BYTE) return false;
  const typeLen = fieldAt[2]! - 3;
  const type = asciiEquals(b, start + 2, typeLen, 'track') ? 'track' : asciiEquals(b, start + 2, typeLen, 'page') ? 'page' : asciiEquals(b, start + 2, typeLen, 'screen') ? 'screen' : null;
  if (type === null) return false;
  const messageIdLen = fieldAt[3]! - fieldAt[2]! - 1;
  const userIdLen = fieldAt[4]! - fieldAt[3]! - 1;
  const anonymousIdLen = fieldAt[5]! - fieldAt[4]! - 1;
  const eventLen = fieldAt[6]! - fieldAt[5]! - 1;
  if (messageIdLen < 1 || messageIdLen > LIMITS.maxIdLength) return false;
  if (!optionalIdBytes(b, start + fieldAt[3]!, userIdLen) || !optionalIdBytes(b, start + fieldAt[4]!, anonymousIdLen)) return false;
  if (userIdLen === 0 && anonymousIdLen === 0) return false;
  if (type === 'track' ? eventLen < 1 || eventLen > LIMITS.maxEventNameLength : eventLen !== 0) return false;
  const timestampMs = parseCanonicalIsoBytes(b, start + fieldAt[6]!, fieldAt[7]! - fieldAt[6]! - 1);
  if (Number.isNaN(timestampMs)) return false;
  out.type = type;
  out.timestampMs = timestampMs;
  for (let k = 0; k < 5; k++) {
    const len = fieldAt[k + 3]! - fieldAt[k + 2]! - 1;
    out.ranges[2 * k] = fieldAt[k + 2]!;
    out.ranges[2 * k + 1] = len === 0 ? -1 : len;
  }
  return true;
}

function optionalIdBytes(b: Uint8Array, at: number, len: number): boolean {
  return len === 0 || (len <= LIMITS.maxIdLength && !isBlockedIdBytes(b, at, len));
}

function asciiEquals(b: Uint8Array, at: number, len: number, text: string): boolean {
  if (len !== text.length) return false;
  for (let i = 0; i < len; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
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
