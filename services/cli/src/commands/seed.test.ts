// `tinycdp seed` and `expr check --url` against a tiny fake of TinyCDP's public HTTP API
// (admin definitions + /v1/batch). The real end-to-end run is the all-in-one server's test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo } from '../internal/capture-io';
import { exprCommand } from './expr';
import { seedCommand } from './seed';

const KEY = 'tcdp_admin_for_tests';

function fakeTinyCdp() {
  const defs = new Map<string, Record<string, unknown>>();
  const batches: unknown[][] = [];
  let failBatchesOnce = 0;
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = raw ? JSON.parse(raw) : null;
    const send = (status: number, b: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(b));
    if (req.headers.authorization !== `Bearer ${KEY}`) return send(401, { error: { code: 'unauthorized', message: 'bad key' } });
    const url = new URL(req.url!, 'http://x');
    const m = /^\/v1\/admin\/(traits|segments|flags)(?:\/([^/]+))?$/.exec(url.pathname);
    if (m) {
      const kind = m[1]!;
      if (req.method === 'POST' && !m[2]) {
        const id = `${kind}:${body.key}`;
        if (defs.has(id)) return send(409, { error: { code: 'conflict', message: 'exists' } });
        // dependencies must exist first
        for (const ref of JSON.stringify(body).matchAll(/segment\(\\"(\w+)\\"\)/g)) {
          if (!defs.has(`segments:${ref[1]}`)) return send(400, { error: { code: 'validation_failed', message: `unknown segment ${ref[1]}` } });
        }
        for (const ref of JSON.stringify(body).matchAll(/trait\(\\"(\w+)\\"\)/g)) {
          if (!defs.has(`traits:${ref[1]}`)) return send(400, { error: { code: 'validation_failed', message: `unknown trait ${ref[1]}` } });
        }
        const view = kind === 'flags' ? { key: body.key, rules: [{ when: body.rule, value: true }], default: false } : body;
        defs.set(id, view);
        return send(201, { ...view, version: 1 });
      }
      if (req.method === 'GET' && m[2]) {
        const v = defs.get(`${kind}:${m[2]}`);
        return v ? send(200, v) : send(404, { error: { code: 'not_found', message: 'nope' } });
      }
      if (req.method === 'GET') {
        const items = [...defs.entries()].filter(([k]) => k.startsWith(`${kind}:`)).map(([, v]) => v);
        // two pages, to exercise the cursor
        if (url.searchParams.get('cursor') === 'p2') return send(200, { items: items.slice(1), nextCursor: null });
        return send(200, { items: items.slice(0, 1), nextCursor: items.length > 1 ? 'p2' : null });
      }
    }
    if (req.method === 'POST' && url.pathname === '/v1/batch') {
      if (failBatchesOnce > 0) {
        failBatchesOnce--;
        return res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":{"code":"unavailable","message":"x"}}');
      }
      batches.push(body.batch);
      return send(200, { success: true, accepted: body.batch.length, rejected: [] });
    }
    return send(404, { error: { code: 'not_found', message: `no route ${req.method} ${url.pathname}` } });
  });
  return {
    server,
    defs,
    batches,
    failNextBatch() {
      failBatchesOnce = 1;
    },
    reset() {
      defs.clear();
      batches.length = 0;
    },
  };
}

describe('tinycdp seed (against a fake API)', () => {
  const fake = fakeTinyCdp();
  let url: string;
  let server: Server;
  beforeAll(async () => {
    server = fake.server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => fake.reset());

  const seed = async (...argv: string[]) => {
    const io = captureIo();
    const code = await seedCommand.runWith(['--url', url, ...argv], { TINYCDP_DATA_DIR: '/nonexistent-tinycdp' }, io);
    return { code, out: io.out(), err: io.err() };
  };

  it('creates the definitions in dependency order, idempotently, then sends events in batches ≤ 500', async () => {
    const first = await seed('--key', KEY, '--users', '40', '--days', '10', '--seed-random', '7');
    expect(first.code, first.err).toBe(0);
    expect(fake.defs.size).toBe(15);
    expect(first.out).toMatch(/trait\s+frequent_buyer\s+created/);
    expect(first.out).toMatch(/flag\s+new_checkout\s+created/);
    const sent = fake.batches.flat();
    expect(sent.length).toBeGreaterThan(40);
    expect(Math.max(...fake.batches.map((b) => b.length))).toBeLessThanOrEqual(500);
    expect(first.out).toContain(`Sent ${sent.length.toLocaleString('en-US')} events`);
    expect(first.err).toContain('events: 100%'); // plain progress lines without a TTY

    // Same seed → same events; definitions already there are fine.
    const before = JSON.stringify(sent);
    fake.batches.length = 0;
    const again = await seed('--key', KEY, '--users', '40', '--days', '10', '--seed-random', '7');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/segment\s+vip_users\s+exists/);
    expect(again.out).not.toContain('created');
    const ids = (xs: unknown[]) => xs.map((e) => (e as { messageId: string }).messageId);
    expect(ids(fake.batches.flat())).toEqual(ids(JSON.parse(before)));
  });

  it('reports a definition that exists with a different rule, and retries a 503 batch', async () => {
    fake.defs.set('segments:vip_users', { key: 'vip_users', rule: 'true == true' });
    fake.failNextBatch();
    const r = await seed('--key', KEY, '--users', '3', '--days', '2', '--batch-size', '10');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/vip_users\s+exists with a different rule \(kept\): true == true/);
    expect(fake.batches.every((b) => b.length <= 10)).toBe(true);
  });

  it('--definitions-only sends nothing; a bad key fails fast with advice', async () => {
    expect((await seed('--key', KEY, '--definitions-only')).code).toBe(0);
    expect(fake.batches).toHaveLength(0);
    const bad = await seed('--key', 'wrong');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('the API key was not accepted');
  });

  it('without any key (no env, no running server) says how to get one', async () => {
    const r = await seed();
    expect(r.code).toBe(1);
    expect(r.err).toContain('no API key');
  });

  it('an unreachable server is a clear failure; bad numbers are usage errors', async () => {
    const io = captureIo();
    expect(await seedCommand.runWith(['--url', 'http://127.0.0.1:9', '--key', KEY], {}, io)).toBe(1);
    expect(io.err()).toContain('is TinyCDP running?');
    expect((await seed('--key', KEY, '--users', '0')).code).toBe(2);
    expect((await seed('--key', KEY, '--days', 'many')).code).toBe(2);
  });

  it('expr check --url checks against the live definitions (types from the trait expressions)', async () => {
    await seed('--key', KEY, '--definitions-only');
    const check = async (...argv: string[]) => {
      const io = captureIo();
      const code = await exprCommand.runWith(['check', ...argv, '--url', url, '--key', KEY], {}, io);
      return { code, out: io.out(), err: io.err() };
    };
    expect((await check('segment("vip_users") && trait("total_spent") >= 500', '--kind', 'flag')).code).toBe(0);
    expect((await check('frequent_buyer == true', '--kind', 'segment')).code).toBe(0);
    const mismatch = await check('trait("total_spent") == "a lot"', '--kind', 'flag');
    expect(mismatch.code).toBe(1); // total_spent is a number
    expect(mismatch.out).toContain('error[type_mismatch]');
    expect((await check('segment("nope")', '--kind', 'flag')).code).toBe(1);
  });
});
