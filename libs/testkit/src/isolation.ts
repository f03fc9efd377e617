import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Lower-case alphanumeric random string: valid in topic names, group ids, Redis keys and SQL identifiers. */
function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** `<prefix>-<time>-<random>`: unique across parallel workers and repeated runs. */
export function uniqueId(prefix = 'id'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomToken(6)}`;
}

/** A topic prefix (`t<random>.`) to pass as `TINYCDP_TOPIC_PREFIX` in place of `tinycdp.`. */
export function isolatedTopicPrefix(): string {
  return `t${randomToken(10)}.`;
}

/** A consumer group id no other test uses. */
export function isolatedGroupId(): string {
  return `g-${randomToken(10)}`;
}

/** A Redis key prefix (`t<random>:`) for this test's keys. */
export function isolatedRedisPrefix(): string {
  return `t${randomToken(10)}:`;
}

export interface IsolatedSchema {
  /** The schema name (`t_<random>`), already created. */
  schema: string;
  /** `databaseUrl` with `options=-c search_path=<schema>`, so every connection made from it uses the schema. */
  url: string;
  /** The value for `SET search_path` when building connections by hand. */
  searchPath: string;
  /** Drops the schema and everything in it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh Postgres schema for one test.
 * @throws the pg error when Postgres cannot be reached or the user cannot create schemas.
 */
export async function createIsolatedSchema(databaseUrl: string): Promise<IsolatedSchema> {
  const schema = `t_${randomToken(12)}`;
  await withClient(databaseUrl, (c) => c.query(`CREATE SCHEMA "${schema}"`));
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    searchPath: schema,
    drop: async () => {
      await withClient(databaseUrl, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    },
  };
}

async function withClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
