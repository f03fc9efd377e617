import { loadMigrations, migrate } from '@tinycdp/postgres';
import { noExtraArgs } from '../internal/args';
import { describeTarget, openSqlStore, resolveStore } from '../internal/config-store';
import { defineCommand } from '../internal/define-command';
import { CliError, describeError } from '../internal/errors';
import { println } from '../internal/io';

const USAGE = `Usage: tinycdp migrate

Applies pending config-store migrations (libs/postgres/migrations) and prints the ones applied.
Re-running is a no-op.

Target:
  DATABASE_URL set      that Postgres database (its search_path / schema)
  DATABASE_URL unset    the embedded PGlite store at <TINYCDP_DATA_DIR or ./.tinycdp>/pglite

A running all-in-one server (tinycdp start) holds the embedded store and migrates it at start-up;
stop it before migrating the embedded store by hand.

Exit codes: 0 done, 1 failed, 2 bad usage.`;

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'apply config-store migrations (DATABASE_URL or the embedded store)',
  usage: USAGE,
  async run(args, env, io) {
    noExtraArgs(args.positional, 0, 'migrate');
    const target = resolveStore(env);
    if (target.kind === 'server') {
      throw new CliError(
        `the embedded store is in use by a running server (pid ${target.info.pid}, port ${target.info.port}); ` +
          'it applies migrations at start-up. Stop it to migrate the store by hand.',
      );
    }
    if (target.kind === 'pglite' && target.staleServerFile) {
      println(io.stderr, `note: ignoring ${target.staleServerFile}: the server that wrote it is no longer running`);
    }
    const all = loadMigrations();
    const store = await openSqlStore(target);
    try {
      println(io.stdout, `Migrating ${describeTarget(target)}`);
      let applied: string[];
      try {
        ({ applied } = await migrate(store.db, { migrations: all }));
      } catch (err) {
        throw new CliError(`migration failed: ${describeError(err)}`, 1, { cause: err });
      }
      for (const name of applied) println(io.stdout, `  applied ${name}`);
      println(
        io.stdout,
        applied.length === 0
          ? `Up to date (${all.length} migration${all.length === 1 ? '' : 's'}).`
          : `Applied ${applied.length} of ${all.length} migration${all.length === 1 ? '' : 's'}.`,
      );
      return 0;
    } finally {
      await store.close();
    }
  },
});
