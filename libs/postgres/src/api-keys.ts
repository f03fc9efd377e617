import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '@tinycdp/common';
import type { SqlClient } from './sql-client';

export type KeyScope = 'write' | 'read' | 'admin';
export const KEY_SCOPES: readonly KeyScope[] = ['write', 'read', 'admin'];

export const KEY_SECRET_PREFIX = 'tcdp_';
/** How many leading characters of a secret are stored in clear, to tell keys apart in listings. */
export const KEY_DISPLAY_PREFIX_LENGTH = 12;

/** `tcdp_` + 32 random bytes, base64url (256 bits of entropy). */
export function generateKeySecret(): string {
  return KEY_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * sha-256 hex of a secret. A fast, unsalted hash is enough here (unlike passwords): generated
 * secrets carry 256 random bits, so neither brute force nor precomputed tables can invert the
 * digest, and a fast hash keeps verification cheap on the ingest/decide hot path.
 * TINYCDP_ADMIN_KEY is operator-chosen; its config schema demands a long value for the same reason.
 */
export function hashKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function keyDisplayPrefix(secret: string): string {
  return secret.slice(0, KEY_DISPLAY_PREFIX_LENGTH);
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly scope: KeyScope;
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}

export interface CreatedKey extends ApiKeyRecord {
  /** The secret. Returned once, never stored, never logged. */
  readonly key: string;
}

interface KeyRow {
  id: string;
  name: string;
  scope: KeyScope;
  prefix: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString();
const isoOrNull = (v: Date | string | null): string | null => (v === null ? null : iso(v));

export function toKeyRecord(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope,
    prefix: r.prefix,
    createdAt: iso(r.created_at),
    revokedAt: isoOrNull(r.revoked_at),
    lastUsedAt: isoOrNull(r.last_used_at),
  };
}

export const KEY_COLUMNS = 'id, name, scope, prefix, created_at, revoked_at, last_used_at';

/**
 * Creates an API key and returns it with its secret (the only time the secret is available).
 * Callable from a CLI. Throws the database error if the insert fails.
 */
export async function createKey(
  db: SqlClient,
  scope: KeyScope,
  name: string,
  clock: Clock = systemClock,
): Promise<CreatedKey> {
  const key = generateKeySecret();
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO api_keys (id, name, scope, prefix, hash, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${KEY_COLUMNS}`,
    [`key_${randomUUID().replaceAll('-', '')}`, name, scope, keyDisplayPrefix(key), hashKeySecret(key), new Date(clock.now())],
  );
  return { ...toKeyRecord(rows[0]!), key };
}

/**
 * Makes sure an admin key with this secret exists (for TINYCDP_ADMIN_KEY). Idempotent: a second call,
 * or a concurrent one from another instance, changes nothing. A key that was revoked stays revoked
 * (`revoked: true` in the result) — restarting a service must not undo a revocation.
 */
export async function ensureAdminKey(
  db: SqlClient,
  secret: string,
  name = 'bootstrap admin (TINYCDP_ADMIN_KEY)',
): Promise<{ id: string; created: boolean; revoked: boolean }> {
  const hash = hashKeySecret(secret);
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO api_keys (id, name, scope, prefix, hash)
     VALUES ($1, $2, 'admin', $3, $4)
     ON CONFLICT (hash) DO NOTHING RETURNING id`,
    [`key_${randomUUID().replaceAll('-', '')}`, name, keyDisplayPrefix(secret), hash],
  );
  if (inserted.rows[0]) return { id: inserted.rows[0].id, created: true, revoked: false };
  const { rows } = await db.query<{ id: string; revoked_at: Date | null }>(
    'SELECT id, revoked_at FROM api_keys WHERE hash = $1',
    [hash],
  );
  const row = rows[0]!;
  return { id: row.id, created: false, revoked: row.revoked_at !== null };
}
