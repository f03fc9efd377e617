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

const BLOCKED_LIST: readonly string[] = [...BLOCKED_IDS];
/** JavaScript's `trim()` white space within ASCII: TAB, LF, VT, FF, CR and space. */
const isAsciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** `isBlockedId` of the `len` ASCII bytes at `b[start]`, without making a string of them (the processor's digest scan). */
export function isBlockedIdBytes(b: Uint8Array, start: number, len: number): boolean {
  let from = start;
  let to = start + len;
  while (from < to && isAsciiSpace(b[from]!)) from++;
  while (to > from && isAsciiSpace(b[to - 1]!)) to--;
  next: for (const id of BLOCKED_LIST) {
    if (id.length !== to - from) continue;
    for (let i = 0; i < id.length; i++) {
      const c = b[from + i]!;
      if ((c >= 65 && c <= 90 ? c + 32 : c) !== id.charCodeAt(i)) continue next;
    }
    return true;
  }
  return false;
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
