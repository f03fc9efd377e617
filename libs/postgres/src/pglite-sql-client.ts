import type { PGliteInterface, Transaction } from '@electric-sql/pglite';
import type { SqlClient } from './sql-client';

class PGliteTxClient implements SqlClient {
  private savepoints = 0;
  constructor(private readonly tx: Transaction) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<{ rows: T[] }> {
    const res = await this.tx.query<T>(sql, params as unknown[]);
    return { rows: res.rows };
  }

  async exec(sql: string): Promise<void> {
    await this.tx.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    await this.tx.exec(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this);
      await this.tx.exec(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.tx.exec(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }
}

/**
 * `SqlClient` over an embedded PGlite database (embedded mode). PGlite runs one statement at a time;
 * a transaction holds it exclusively until it ends.
 */
export class PGliteSqlClient implements SqlClient {
  constructor(readonly db: PGliteInterface) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<{ rows: T[] }> {
    const res = await this.db.query<T>(sql, params as unknown[]);
    return { rows: res.rows };
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PGliteTxClient(tx)));
  }
}
