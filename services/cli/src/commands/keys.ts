import { KEY_SCOPES, type KeyScope } from '@tinycdp/postgres';
import type { ParsedArgs } from '../command';
import { noExtraArgs, stringOption, switchOn } from '../internal/args';
import { openKeyAdmin, type KeyAdmin } from '../internal/config-store';
import { defineCommand } from '../internal/define-command';
import { UsageError } from '../internal/errors';
import { println, type Io } from '../internal/io';
import { formatTable, shortTime } from '../internal/table';

const USAGE = `Usage:
  tinycdp keys create --scope write|read|admin [--name <name>] [--json]
  tinycdp keys list [--json]
  tinycdp keys revoke <id> [--force] [--json]

Manages API keys (scopes: write = ingest, read = decide, admin = everything).
  create   creates a key and prints its secret — shown this once, only its hash is stored
  list     id, name, scope, display prefix, created, revoked (newest first; never secrets)
  revoke   revokes a key (idempotent). Refuses the last active admin key unless --force

Target:
  DATABASE_URL set      that Postgres database (run \`tinycdp migrate\` first)
  DATABASE_URL unset    the embedded store under <TINYCDP_DATA_DIR or ./.tinycdp>: through the running
                        server's control endpoint when <dataDir>/server.json names a live process,
                        else opened directly (and migrated)

Exit codes: 0 done, 1 failed, 2 bad usage.`;

async function withAdmin<T>(env: Record<string, string | undefined>, io: Io, fn: (a: KeyAdmin) => Promise<T>): Promise<T> {
  const admin = await openKeyAdmin(env, (msg) => println(io.stderr, msg));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

function parseScope(args: ParsedArgs): KeyScope {
  const scope = stringOption(args, 'scope');
  if (scope === undefined) throw new UsageError(`--scope is required (${KEY_SCOPES.join('|')})`);
  if (!(KEY_SCOPES as readonly string[]).includes(scope)) {
    throw new UsageError(`--scope must be one of ${KEY_SCOPES.join(', ')} (got "${scope}")`);
  }
  return scope as KeyScope;
}

function parseName(args: ParsedArgs, scope: KeyScope): string {
  const name = (stringOption(args, 'name') ?? scope).trim();
  if (name.length === 0 || name.length > 100) throw new UsageError('--name must be 1 to 100 characters');
  return name;
}

export const keysCommand = defineCommand({
  name: 'keys',
  summary: 'create, list and revoke API keys',
  usage: USAGE,
  options: ['scope', 'name'],
  switches: ['json', 'force'],
  async run(args, env, io) {
    const [sub, ...rest] = args.positional;
    const json = switchOn(args, 'json');
    switch (sub) {
      case 'create': {
        noExtraArgs(rest, 0, 'keys create');
        const scope = parseScope(args);
        const name = parseName(args, scope);
        const k = await withAdmin(env, io, (a) => a.create(scope, name));
        if (json) {
          println(io.stdout, JSON.stringify({ id: k.id, name: k.name, scope: k.scope, key: k.key }));
        } else {
          println(io.stdout, `Created ${k.scope} key "${k.name}"`);
          println(io.stdout, `  id:   ${k.id}`);
          println(io.stdout, `  key:  ${k.key}`);
          println(io.stderr, 'Store the key now: it is shown only this once.');
        }
        return 0;
      }
      case 'list': {
        noExtraArgs(rest, 0, 'keys list');
        const items = await withAdmin(env, io, (a) => a.list());
        if (json) {
          println(io.stdout, JSON.stringify({ items }));
        } else if (items.length === 0) {
          println(io.stdout, 'No API keys. Create one with `tinycdp keys create --scope admin`.');
        } else {
          println(
            io.stdout,
            formatTable(
              ['ID', 'NAME', 'SCOPE', 'PREFIX', 'CREATED', 'REVOKED'],
              items.map((k) => [k.id, k.name, k.scope, k.prefix, shortTime(k.createdAt), shortTime(k.revokedAt)]),
            ),
          );
        }
        return 0;
      }
      case 'revoke': {
        const id = rest[0];
        if (id === undefined) throw new UsageError('keys revoke needs the key id (see `tinycdp keys list`)');
        noExtraArgs(rest, 1, 'keys revoke');
        const force = switchOn(args, 'force');
        const out = await withAdmin(env, io, (a) => a.revoke(id, { force }));
        if (json) println(io.stdout, JSON.stringify({ ...out.key, alreadyRevoked: out.alreadyRevoked }));
        else if (out.alreadyRevoked) println(io.stdout, `Key ${id} was already revoked (${shortTime(out.key.revokedAt)}).`);
        else println(io.stdout, `Revoked ${out.key.scope} key ${id} ("${out.key.name}").`);
        return 0;
      }
      case undefined:
        throw new UsageError('missing subcommand: create, list or revoke');
      default:
        throw new UsageError(`unknown subcommand "${sub}": expected create, list or revoke`);
    }
  },
});
