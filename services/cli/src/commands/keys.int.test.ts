// `tinycdp migrate` and `tinycdp keys …` against the real Postgres (one schema per test file) and
// against the embedded PGlite store in a temp data dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { hashKeySecret } from '@tinycdp/postgres';
import { createIsolatedSchema, getServices, type IsolatedSchema } from '@tinycdp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '../internal/capture-io';
import type { CliCommand } from '../internal/define-command';
import { keysCommand } from './keys';
import { migrateCommand } from './migrate';

type Env = Record<string, string | undefined>;

async function run(cmd: CliCommand, env: Env, ...argv: string[]) {
  const io = captureIo();
  const code = await cmd.runWith(argv, env, io);
  return { code, out: io.out(), err: io.err() };
}

interface KeyJson {
  id: string;
  name: string;
  scope: string;
  key: string;
}

describe('migrate + keys against Postgres', () => {
  let schema: IsolatedSchema;
  let env: Env;
  beforeAll(async () => {
    schema = await createIsolatedSchema(getServices().databaseUrl);
    env = { DATABASE_URL: schema.url };
  });
  afterAll(async () => {
    await schema.drop();
  });

  it('keys before migrate says to migrate; migrate applies once, then is a no-op', async () => {
    const early = await run(keysCommand, env, 'list');
    expect(early.code).toBe(1);
    expect(early.err).toContain('run `tinycdp migrate` first');

    const first = await run(migrateCommand, env);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('applied 001_init');
    expect(first.out).toContain(schema.url.split('@')[1]!.split('?')[0]!);
    const again = await run(migrateCommand, env);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/Up to date/);

    // ... and in our schema only
    const c = new pg.Client({ connectionString: schema.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'api_keys' AND table_schema = $1`, [schema.schema]);
      expect(rows).toHaveLength(1);
    } finally {
      await c.end();
    }
  });

  it('create prints the secret once and stores only its hash; list; revoke guards the last admin key', async () => {
    const created = await run(keysCommand, env, 'create', '--scope', 'admin', '--name', 'ops', '--json');
    expect(created.code, created.err).toBe(0);
    const admin = JSON.parse(created.out) as KeyJson;
    expect(admin).toMatchObject({ name: 'ops', scope: 'admin' });
    expect(admin.key).toMatch(/^tcdp_/);

    const c = new pg.Client({ connectionString: schema.url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT * FROM api_keys WHERE id = $1', [admin.id]);
      expect(rows[0].hash).toBe(hashKeySecret(admin.key));
      expect(JSON.stringify(rows)).not.toContain(admin.key);
    } finally {
      await c.end();
    }

    const human = await run(keysCommand, env, 'create', '--scope', 'read');
    expect(human.out).toMatch(/Created read key "read"\n {2}id: {3}key_\w+\n {2}key: {2}tcdp_\S+\n/);
    expect(human.err).toContain('shown only this once');

    const table = await run(keysCommand, env, 'list');
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+SCOPE\s+PREFIX\s+CREATED\s+REVOKED$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/\sread\s+read\s/); // newest first
    expect(table.out).not.toContain(admin.key);

    const refused = await run(keysCommand, env, 'revoke', admin.id);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('last active admin key');

    const second = JSON.parse((await run(keysCommand, env, 'create', '--scope', 'admin', '--json')).out) as KeyJson;
    const revoked = await run(keysCommand, env, 'revoke', admin.id);
    expect(revoked.code, revoked.err).toBe(0);
    expect(revoked.out).toContain(`Revoked admin key ${admin.id}`);
    expect((await run(keysCommand, env, 'revoke', admin.id)).out).toContain('already revoked');
    expect((await run(keysCommand, env, 'revoke', 'key_missing')).code).toBe(1);

    const { items } = JSON.parse((await run(keysCommand, env, 'list', '--json')).out) as {
      items: { id: string; revokedAt: string | null }[];
    };
    expect(items.find((k) => k.id === admin.id)!.revokedAt).not.toBeNull();
    expect(items.find((k) => k.id === second.id)!.revokedAt).toBeNull();

    // --force revokes even the last active admin key
    expect((await run(keysCommand, env, 'revoke', second.id, '--force')).code).toBe(0);
  });

  it('an unreachable database is a clear failure', async () => {
    const r = await run(migrateCommand, { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/db' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot connect to Postgres at postgres://nobody:****@127.0.0.1:1/db');
    expect(r.err).not.toContain('secret');
  });
});

describe('migrate + keys against the embedded PGlite store', { timeout: 600_000 }, () => {
  let dataDir: string;
  let env: Env;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tinycdp-cli-pglite-'));
    env = { TINYCDP_DATA_DIR: dataDir };
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates, creates, lists and revokes under <dataDir>/pglite', async () => {
    const m = await run(migrateCommand, env);
    expect(m.code, m.err).toBe(0);
    expect(m.out).toContain(join(dataDir, 'pglite'));
    expect(m.out).toContain('applied 001_init');

    const a = JSON.parse((await run(keysCommand, env, 'create', '--scope', 'write', '--name', 'ingest', '--json')).out) as KeyJson;
    expect(a).toMatchObject({ scope: 'write', name: 'ingest' });
    const list = await run(keysCommand, env, 'list');
    expect(list.out).toContain(a.id);
    expect((await run(keysCommand, env, 'revoke', a.id)).code).toBe(0);
    const after = JSON.parse((await run(keysCommand, env, 'list', '--json')).out) as { items: { revokedAt: string | null }[] };
    expect(after.items[0]!.revokedAt).not.toBeNull();
  });

  it('a stale server.json is ignored with a note; a live one makes migrate refuse', async () => {
    const deadPid = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid!));
    });
    writeFileSync(join(dataDir, 'server.json'), JSON.stringify({ pid: deadPid, port: 1, controlToken: 't' }), { mode: 0o600 });
    const stale = await run(keysCommand, env, 'list', '--json');
    expect(stale.code, stale.err).toBe(0);
    expect(stale.err).toContain('no longer running');

    writeFileSync(join(dataDir, 'server.json'), JSON.stringify({ pid: process.pid, port: 1, controlToken: 't' }), { mode: 0o600 });
    const busy = await run(migrateCommand, env);
    expect(busy.code).toBe(1);
    expect(busy.err).toContain('in use by a running server');
    rmSync(join(dataDir, 'server.json'));
  });
});
