import type { EventType } from './types';

export const EVENT_TYPES: readonly EventType[] = ['track', 'identify', 'alias', 'page', 'screen', 'group'];

export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}

/**
 * A Segment-spec message after validation, before normalization: what the client sent, restricted to
 * the fields TinyCDP keeps (unknown fields such as `integrations` or `_metadata` are dropped), with
 * `null` read as absent. Produced only by `validateMessage`.
 */
export interface RawMessage {
  readonly type: EventType;
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly event?: string;
  readonly name?: string;
  readonly properties?: { readonly [key: string]: unknown };
  readonly traits?: { readonly [key: string]: unknown };
  readonly context?: { readonly [key: string]: unknown };
  readonly messageId?: string;
  readonly timestamp?: string;
  readonly sentAt?: string;
  readonly originalTimestamp?: string;
  readonly receivedAt?: string;
  readonly previousId?: string;
  readonly groupId?: string;
}
