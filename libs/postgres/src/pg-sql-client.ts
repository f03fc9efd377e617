import type pg from 'pg';
import { AppError } from '@tinycdp/common';
import type { SqlClient } from './sql-client';

// SQLSTATE classes/codes that mean "the database cannot be reached or is going away": 08 connection
// exception, 57P01-57P05 operator intervention (admin_shutdown, crash_shutdown, cannot_connect_now, …),
// 53300 too_many_connections.
const UNAVAILABLE_STATES = /^(08...|57P0[1-5]|53300)$/;
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// Text the client sent that Postgres cannot store (U+0000 in text, invalid encoding): the caller's input.
const INPUT_STATES = new Set(['22021', '22P05']);

/**
 * Turns driver errors a caller can act on into AppErrors: the database unreachable or shutting down →
 * 'unavailable' (retriable; HTTP 503), text Postgres cannot store (NUL characters) → 'validation_failed'
 * (HTTP 400). Every other error (constraint violations with their SQLSTATE, syntax errors) is returned
 * as it is, so callers keep branching on `err.code`.
 */
export function mapPgError(err: unknown): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code) || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return new AppError('unavailable', 'the database is unavailable; retry later', { retriable: true, cause: err });
  }
  if (INPUT_STATES.has(code)) {
    return new AppError('validation_failed', 'text contains characters that cannot be stored (e.g. U+0000)', {
      cause: err,
      details: { reason: 'unsupported_character' },
    });
  }
  return err;
}

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw mapPgError(err);
  }
}

type Queryable = Pick<pg.PoolClient, 'query'>;

class PgTxClient implements SqlClient {
  private savepoints = 0;
  constructor(private readonly client: Queryable) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<{ rows: T[] }> {
    const res = await mapped(this.client.query(sql, params as unknown[]));
    return { rows: res.rows as T[] };
  }

  async exec(sql: string): Promise<void> {
    await mapped(this.client.query(sql)); // no parameters: simple protocol, several statements allowed
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/** `SqlClient` over a pg Pool. Each transaction holds one pooled connection until it ends. */
export class PgSqlClient implements SqlClient {
  constructor(readonly pool: pg.Pool) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<{ rows: T[] }> {
    const res = await mapped(this.pool.query(sql, params as unknown[]));
    return { rows: res.rows as T[] };
  }

  async exec(sql: string): Promise<void> {
    await mapped(this.pool.query(sql));
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return mapped(this.runTransaction(fn));
  }

  private async runTransaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgTxClient(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr; // the connection is unusable: destroy it instead of returning it
        }
        throw err;
      }
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }
}
