import { AppError } from '@tinycdp/common';
import type { DefinitionStore } from '../definitions/definition-store.port';
import type { SegmentMembersReader } from './segment-members-reader.port';

export const DEFAULT_MEMBERS_LIMIT = 100;
export const MAX_MEMBERS_LIMIT = 1000;
const MAX_ID_CHARS = 256;

/** Opaque cursor: base64url of `{"m": <last profile id of the previous page>}`. */
export function encodeMembersCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ m: lastId }), 'utf8').toString('base64url');
}

/** Throws AppError('bad_request') for a cursor this service did not produce. */
export function decodeMembersCursor(cursor: string): string {
  const bad = () => new AppError('bad_request', 'invalid cursor', { details: { field: 'cursor' } });
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw bad();
  let m: unknown;
  try {
    m = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { m?: unknown } | null)?.m;
  } catch {
    throw bad();
  }
  if (typeof m !== 'string' || m.length === 0 || m.length > MAX_ID_CHARS) throw bad();
  return m;
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_MEMBERS_LIMIT;
  const s = String(raw);
  const n = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= MAX_MEMBERS_LIMIT)) {
    throw new AppError('bad_request', `limit must be an integer from 1 to ${MAX_MEMBERS_LIMIT}`, { details: { field: 'limit' } });
  }
  return n;
}

/** Members of a live segment, from the processor's membership index. */
export class MembersService {
  constructor(
    private readonly store: DefinitionStore,
    private readonly reader?: SegmentMembersReader,
  ) {}

  /** Throws not_found (no such segment), bad_request (limit/cursor), unavailable (no index configured). */
  async list(key: string, query: Record<string, unknown>): Promise<{ segment: string; items: { profileId: string }[]; nextCursor: string | null }> {
    const limit = parseLimit(query.limit);
    const raw = query.cursor;
    if (raw !== undefined && typeof raw !== 'string') throw new AppError('bad_request', 'invalid cursor', { details: { field: 'cursor' } });
    const after = raw === undefined || raw === '' ? null : decodeMembersCursor(raw);
    const reader = await this.ready(key);
    const ids = await reader.page(key, after, limit + 1);
    const page = ids.slice(0, limit);
    const last = page[page.length - 1];
    return {
      segment: key,
      items: page.map((profileId) => ({ profileId })),
      nextCursor: ids.length > limit && last !== undefined ? encodeMembersCursor(last) : null,
    };
  }

  /** Throws not_found, unavailable. */
  async count(key: string): Promise<{ segment: string; count: number }> {
    const reader = await this.ready(key);
    return { segment: key, count: await reader.count(key) };
  }

  private async ready(key: string): Promise<SegmentMembersReader> {
    if (!this.reader) throw new AppError('unavailable', 'segment membership is not configured in this admin instance');
    const seg = await this.store.get('segment', key);
    if (!seg) throw new AppError('not_found', `segment "${key}" not found`, { details: { kind: 'segment', key } });
    return this.reader;
  }
}
