// Test support (not exported): an admin app on a fresh Postgres schema, served on a free port.
// Production code may not import @tinycdp/testkit (lint), so test files pass in the isolated schema.
import { FakeClock } from '@tinycdp/common';
import { startServer } from '@tinycdp/http';
import { createKey, createPool, migrate, PgKeyVerifier, PgSqlClient } from '@tinycdp/postgres';
import pino from 'pino';
import { createAdminApp } from '../app';
import type { ProfileReader } from '../features/profiles/profile-reader.port';
import type { SegmentMembersReader } from '../features/members/segment-members-reader.port';
import type { RolloutStatusReader } from '../features/rollout/rollout-status-reader.port';

export interface TestAdmin {
  readonly url: string;
  readonly adminKey: string;
  readonly db: PgSqlClient;
  readonly clock: FakeClock;
  readonly verifier: PgKeyVerifier;
  notifications: number;
  /** fetch against the app with the admin key (unless `key` is given; null sends none). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>, key?: string | null): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** What `createIsolatedSchema` (testkit) returns, as far as this helper needs it. */
export interface SchemaForTest {
  readonly schema: string;
  drop(): Promise<void>;
}

export async function startTestAdmin(
  databaseUrl: string,
  iso: SchemaForTest,
  opts: { profiles?: ProfileReader; onDefinitionsChanged?: () => void; rolloutStatus?: RolloutStatusReader; members?: SegmentMembersReader } = {},
): Promise<TestAdmin> {
  const pool = createPool({ connectionString: databaseUrl, schema: iso.schema, max: 5 });
  await migrate(pool);
  const db = new PgSqlClient(pool);
  const clock = new FakeClock('2025-01-15T12:00:00Z');
  // TTL 0: revocations are visible at once in tests (production keeps a few seconds).
  const verifier = new PgKeyVerifier(db, { ttlMs: 0 });
  const admin = await createKey(db, 'admin', 'test admin');
  const state = { notifications: 0 };
  const app = createAdminApp({
    db,
    keys: verifier,
    clock,
    logger: pino({ level: 'silent' }),
    onDefinitionsChanged: () => {
      state.notifications++;
      opts.onDefinitionsChanged?.();
    },
    ...(opts.profiles ? { profiles: opts.profiles } : {}),
    ...(opts.rolloutStatus ? { rolloutStatus: opts.rolloutStatus } : {}),
    ...(opts.members ? { members: opts.members } : {}),
  });
  const server = await startServer(app);
  const t: TestAdmin = {
    url: server.url,
    adminKey: admin.key,
    db,
    clock,
    verifier,
    get notifications() {
      return state.notifications;
    },
    set notifications(n: number) {
      state.notifications = n;
    },
    async call(method, path, body, headers = {}, key) {
      const h: Record<string, string> = { ...headers };
      const k = key === undefined ? admin.key : key;
      if (k !== null) h.authorization = `Bearer ${k}`;
      if (body !== undefined) h['content-type'] = 'application/json';
      const res = await fetch(server.url + path, {
        method,
        headers: h,
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON (metrics)
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async close() {
      await server.close();
      await pool.end();
      await iso.drop();
    },
  };
  return t;
}
