// Contract test of the control client (and of `tinycdp keys` routing to a running server) against a
// tiny node:http server implementing the contract documented at the top of control-client.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keysCommand } from '../commands/keys';
import { captureIo } from './capture-io';
import { ControlClient, ControlError } from './control-client';
import { findRunningServer } from './data-dir';

const TOKEN = 'control-token-for-tests';

interface FakeKey {
  id: string;
  name: string;
  scope: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: null;
}

function fakeControlServer() {
  let keys: FakeKey[] = [];
  let n = 0;
  const requests: { method: string; url: string; auth: string | undefined; body: unknown }[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message, details: null } });
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = raw ? JSON.parse(raw) : null;
    requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(res, 401, 'unauthorized', 'bad control token');
    if (req.method === 'POST' && req.url === '/internal/v1/keys') {
      if (!['write', 'read', 'admin'].includes(body?.scope)) return error(res, 400, 'validation_failed', 'scope: bad');
      const id = `key_${++n}`;
      const k: FakeKey = {
        id,
        name: body.name,
        scope: body.scope,
        prefix: `tcdp_${id}`.slice(0, 12),
        createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
        revokedAt: null,
        lastUsedAt: null,
      };
      keys.push(k);
      return send(res, 201, { ...k, key: `tcdp_secret_${id}` });
    }
    if (req.method === 'GET' && req.url === '/internal/v1/keys') return send(res, 200, { items: keys });
    const m = /^\/internal\/v1\/keys\/([^/]+)$/.exec(req.url!);
    if (req.method === 'DELETE' && m) {
      const k = keys.find((x) => x.id === decodeURIComponent(m[1]!));
      if (!k) return error(res, 404, 'not_found', `API key "${m[1]}" not found`);
      k.revokedAt ??= new Date(Date.UTC(2025, 0, 2)).toISOString();
      return send(res, 200, k);
    }
    return error(res, 404, 'not_found', 'no route');
  });
  return {
    server,
    requests,
    reset() {
      keys = [];
      n = 0;
      requests.length = 0;
    },
  };
}

describe('ControlClient (contract)', () => {
  const fake = fakeControlServer();
  let server: Server;
  let port: number;
  let client: ControlClient;
  let dataDir: string;

  beforeAll(async () => {
    server = fake.server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    client = new ControlClient({ port, token: TOKEN });
    dataDir = mkdtempSync(join(tmpdir(), 'tinycdp-cli-'));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset());

  it('creates, lists (newest first) and revokes with the bearer token', async () => {
    const a = await client.createKey('admin', 'ops');
    expect(a).toMatchObject({ id: 'key_1', name: 'ops', scope: 'admin', key: 'tcdp_secret_key_1' });
    await client.createKey('read', 'decide');
    const list = await client.listKeys();
    expect(list.map((k) => k.id)).toEqual(['key_2', 'key_1']);
    expect(JSON.stringify(list)).not.toContain('secret');
    await client.revokeKey('key_2');
    expect((await client.listKeys()).find((k) => k.id === 'key_2')!.revokedAt).not.toBeNull();
    expect(fake.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', url: '/internal/v1/keys', body: { scope: 'admin', name: 'ops' } });
  });

  it('surfaces the house error shape as ControlError', async () => {
    await expect(client.revokeKey('nope')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const wrong = new ControlClient({ port, token: 'wrong' });
    const err = await wrong.listKeys().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect((err as ControlError).status).toBe(401);
    expect((err as ControlError).message).toContain('control token rejected');
  });

  it('an unreachable server is status 0 with the reason', async () => {
    const dead = new ControlClient({ port: 9, token: TOKEN, timeoutMs: 2_000 });
    await expect(dead.listKeys()).rejects.toMatchObject({ status: 0, message: expect.stringContaining('cannot reach') });
  });

  it('`tinycdp keys` goes through the server when server.json names a live pid', async () => {
    writeFileSync(join(dataDir, 'server.json'), JSON.stringify({ pid: process.pid, port, controlToken: TOKEN }), { mode: 0o600 });
    expect(findRunningServer(dataDir).state).toBe('running');
    const env = { TINYCDP_DATA_DIR: dataDir };
    const run = async (...argv: string[]) => {
      const io = captureIo();
      const code = await keysCommand.runWith(argv, env, io);
      return { code, out: io.out(), err: io.err() };
    };

    const created = await run('create', '--scope', 'admin', '--name', 'ops');
    expect(created.code).toBe(0);
    expect(created.out).toContain('key:  tcdp_secret_key_1');
    expect(created.out).toContain('id:   key_1');
    expect((await run('create', '--scope', 'write', '--json')).out).toContain('"name":"write"');

    const listed = await run('list');
    expect(listed.code).toBe(0);
    expect(listed.out.split('\n')[0]).toMatch(/^ID\s+NAME\s+SCOPE\s+PREFIX\s+CREATED\s+REVOKED$/);
    expect(listed.out).toContain('key_1');

    // The last active admin key is protected unless --force.
    const refused = await run('revoke', 'key_1');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('last active admin key');
    expect(fake.requests.some((r) => r.method === 'DELETE')).toBe(false);
    const forced = await run('revoke', 'key_1', '--force');
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('Revoked admin key key_1');
    expect((await run('revoke', 'key_1')).out).toContain('already revoked');
    expect((await run('revoke', 'key_404')).code).toBe(1);
  });

  it('a server.json whose pid is gone is stale; a malformed one is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinycdp-cli-'));
    try {
      expect(findRunningServer(dir).state).toBe('none');
      writeFileSync(join(dir, 'server.json'), JSON.stringify({ pid: 4242, port: 1, controlToken: 't' }));
      expect(findRunningServer(dir, () => false)).toMatchObject({ state: 'stale', pid: 4242 });
      writeFileSync(join(dir, 'server.json'), '{"pid":"x"}');
      expect(() => findRunningServer(dir)).toThrow(/not valid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
