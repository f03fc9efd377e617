/**
 * The event contract. A `CdpEvent` is a Segment-spec message after validation and normalization:
 * exactly what ingest writes as the value of `tinycdp.events` (key `userId ?? anonymousId`), and what
 * a direct producer is expected to write (the processor normalizes again, so missing `messageId`,
 * `receivedAt` or `timestamp` are filled in there).
 */
export type EventType = 'track' | 'identify' | 'alias' | 'page' | 'screen' | 'group';

export interface CdpEvent {
  readonly type: EventType;
  readonly messageId: string;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  /** track: the event name; page/screen: "Page Viewed"/"Screen Viewed"-style name is in `name`. */
  readonly event: string | null;
  readonly name: string | null;
  readonly properties: { readonly [key: string]: unknown };
  /** identify/group traits (also Segment's context.traits are NOT merged here). */
  readonly traits: { readonly [key: string]: unknown };
  readonly context: { readonly [key: string]: unknown };
  /** alias: the previous id; group: the group id. */
  readonly previousId: string | null;
  readonly groupId: string | null;
  /** ISO-8601, the effective event time after the timestamp rule. */
  readonly timestamp: string;
  /** ISO-8601, when TinyCDP first received it. */
  readonly receivedAt: string;
  readonly sentAt: string | null;
  readonly originalTimestamp: string | null;
}

/** A field-level validation problem. `path` is JSON-pointer-like: "batch[3].userId", "properties". */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}
