import { isUtf8 } from 'node:buffer';
import express from 'express';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, jsonBody } from './body';
import { errorMiddleware } from './errors';
import { startServer } from './server';

describe('firstInvalidUtf8', () => {
  it('is -1 exactly for valid UTF-8 and points at the bad byte otherwise', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo 😀 ok'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xff, 0x62]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc3]))).toBe(1); // truncated sequence
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong NUL
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(firstInvalidUtf8(bytes) === -1).toBe(isUtf8(bytes));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('jsonBody', () => {
  it('rejects bodies that are not UTF-8 with a 400 naming the offset, instead of decoding to U+FFFD', async () => {
    const app = express();
    app.post('/x', jsonBody({ limit: 1024 }), (req, res) => void res.json(req.body));
    app.use(errorMiddleware());
    const s = await startServer(app);
    try {
      const bad = Buffer.concat([Buffer.from('{"id":"a'), Buffer.from([0xff]), Buffer.from('"}')]);
      const r = await fetch(`${s.url}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bad });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({
        error: { code: 'invalid_json', message: 'request body is not valid UTF-8 (first invalid byte at offset 8)', details: { encoding: 'utf-8', offset: 8 } },
      });
      const ok = await fetch(`${s.url}/x`, { method: 'POST', body: JSON.stringify({ id: 'é😀' }) });
      expect(await ok.json()).toEqual({ id: 'é😀' });
    } finally {
      await s.close();
    }
  });
});

describe('jsonBody structure limits', () => {
  async function serve(opts: { maxDepth?: number; rejectNul?: boolean }) {
    const app = express();
    app.post('/x', jsonBody({ limit: 600_000, ...opts }), (req, res) => void res.json({ ok: true, keys: Object.keys(req.body as object) }));
    app.use(errorMiddleware());
    const s = await startServer(app);
    const post = async (body: string) => {
      const r = await fetch(`${s.url}/x`, { method: 'POST', body });
      return { status: r.status, body: (await r.json()) as any };
    };
    return { s, post };
  }

  it('rejects bodies nested deeper than maxDepth (default 128) with a 400 naming the path, stack-safe', async () => {
    const { s, post } = await serve({});
    try {
      const r = await post(`{"a":{"b":${'['.repeat(250_000)}${']'.repeat(250_000)}}}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.message).toMatch(/^a\.b\[0\]\[0\].*…: is nested too deeply \(more than 128 levels\)$/);
      expect((await post(`{"a":${'['.repeat(120)}${']'.repeat(120)}}`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('optionally rejects U+0000 in values and keys, naming where', async () => {
    const { s, post } = await serve({ rejectNul: true });
    try {
      const v = await post('{"name":"a\\u0000b"}');
      expect(v).toMatchObject({ status: 400, body: { error: { code: 'validation_failed', message: 'name: must not contain the character U+0000' } } });
      const k = await post('{"x":[{"k\\u0000":1}]}');
      expect(k.body.error.message).toBe('x[0]["k\\u0000"]: must not contain the character U+0000');
      expect((await post('{"name":"ok"}')).status).toBe(200);
    } finally {
      await s.close();
    }
    const lax = await serve({});
    try {
      expect((await lax.post('{"name":"a\\u0000b"}')).status).toBe(200);
    } finally {
      await lax.s.close();
    }
  });
});
