import { AppError } from '@tinycdp/common';

/**
 * Placeholder values that buggy clients send as ids ("null" from String(null), "[object Object]" …).
 * Accepting them would merge every such client into one giant profile.
 */
const BLOCKED_IDS: ReadonlySet<string> = new Set([
  '',
  'null',
  'undefined',
  '0',
  '-1',
  'anonymous',
  'none',
  'nil',
  'guest',
  'nan',
  '[object object]',
]);

/** True if `v` must not be used as a userId / anonymousId / previousId (case-insensitive, trimmed). */
export function isBlockedId(v: string): boolean {
  return BLOCKED_IDS.has(v.trim().toLowerCase());
}

/**
 * The partition key of an event on `tinycdp.events`: `userId ?? anonymousId`.
 * @throws AppError('bad_request') if neither is set (validated messages always have one).
 */
export function eventKey(e: { readonly userId?: string | null; readonly anonymousId?: string | null }): string {
  const key = e.userId ?? e.anonymousId;
  if (key === null || key === undefined) {
    throw new AppError('bad_request', 'an event needs a userId or an anonymousId');
  }
  return key;
}
