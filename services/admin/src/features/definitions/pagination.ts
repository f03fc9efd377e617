import { AppError } from '@tinycdp/common';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

export interface PageRequest {
  readonly limit: number;
  /** Key after which the page starts (exclusive); null for the first page. */
  readonly after: string | null;
}

/** Opaque cursor: base64url of `{"k": <last key of the previous page>}`. */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), 'utf8').toString('base64url');
}

/** Throws AppError('bad_request') on a cursor that this service did not produce. */
export function decodeCursor(cursor: string): string {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw new Error('charset');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('bad_request', 'invalid cursor', { details: { field: 'cursor' } });
  }
  const k = (parsed as { k?: unknown } | null)?.k;
  if (typeof k !== 'string' || k.length === 0 || k.length > 200) {
    throw new AppError('bad_request', 'invalid cursor', { details: { field: 'cursor' } });
  }
  return k;
}

/**
 * Reads `?limit` and `?cursor` from a query object.
 * Throws AppError('bad_request') naming the field on a bad value.
 */
export function parsePageRequest(query: Record<string, unknown>): PageRequest {
  const rawLimit = query.limit;
  let limit = DEFAULT_PAGE_LIMIT;
  if (rawLimit !== undefined) {
    const s = String(rawLimit);
    const n = /^\d{1,4}$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= MAX_PAGE_LIMIT)) {
      throw new AppError('bad_request', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, {
        details: { field: 'limit' },
      });
    }
    limit = n;
  }
  const rawCursor = query.cursor;
  if (rawCursor === undefined || rawCursor === '') return { limit, after: null };
  if (typeof rawCursor !== 'string') {
    throw new AppError('bad_request', 'invalid cursor', { details: { field: 'cursor' } });
  }
  return { limit, after: decodeCursor(rawCursor) };
}

/** Builds the page from `limit + 1` rows fetched in key order. */
export function toPage<T extends { key: string }>(
  rows: readonly T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.key) : null };
}
