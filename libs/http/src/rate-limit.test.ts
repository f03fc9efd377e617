import express from 'express';
import { describe, expect, it } from 'vitest';
import { errorMiddleware } from './errors';
import { requireScope, staticKeyVerifier } from './auth';
import { TokenBucketLimiter, rateLimit, rateLimitedVerifier } from './rate-limit';
import { startServer } from './server';

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('TokenBucketLimiter', () => {
  it('allows the burst at once, then the rate, and says when the next token comes', () => {
    const c = clock();
    const l = new TokenBucketLimiter({ ratePerSecond: 10, burst: 3, now: c.now });
    expect([1, 2, 3].map(() => l.take('k').ok)).toEqual([true, true, true]);
    const denied = l.take('k');
    expect(denied).toEqual({ ok: false, retryAfterMs: 100 });
    c.t += 50;
    expect(l.take('k')).toEqual({ ok: false, retryAfterMs: 50 });
    c.t += 50;
    expect(l.take('k').ok).toBe(true);
    // Idle for long: refills only up to the burst.
    c.t += 60_000;
    expect([1, 2, 3, 4].map(() => l.take('k').ok)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const c = clock();
    const l = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, now: c.now });
    expect(l.take('a').ok).toBe(true);
    expect(l.take('a').ok).toBe(false);
    expect(l.take('b').ok).toBe(true);
  });

  it('sustains exactly the configured rate over time', () => {
    const c = clock();
    const l = new TokenBucketLimiter({ ratePerSecond: 100, burst: 10, now: c.now });
    let ok = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      c.t = ms;
      while (l.take('k').ok) ok++;
    }
    // burst + 100/s for ~10 s
    expect(ok).toBeGreaterThanOrEqual(1_000);
    expect(ok).toBeLessThanOrEqual(1_011);
  });

  it('bounds memory: least recently used buckets are dropped', () => {
    const l = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) l.take(`k${i}`);
    expect(l.size).toBe(100);
  });

  it('rejects nonsense settings', () => {
    expect(() => new TokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketLimiter({ ratePerSecond: Number.NaN, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('rateLimit middleware and rateLimitedVerifier over HTTP', () => {
  const verifier = staticKeyVerifier([
    { secret: 'ka', id: 'a', scope: 'admin' },
    { secret: 'kb', id: 'b', scope: 'admin' },
  ]);

  async function serve(kind: 'middleware' | 'verifier') {
    const c = clock();
    const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 2, now: c.now });
    const app = express();
    if (kind === 'middleware') app.get('/x', requireScope(verifier, 'admin'), rateLimit(limiter), (_req, res) => void res.json({ ok: true }));
    else app.get('/x', requireScope(rateLimitedVerifier(verifier, limiter), 'admin'), (_req, res) => void res.json({ ok: true }));
    app.use(errorMiddleware());
    const server = await startServer(app);
    const get = async (key: string | null) => {
      const r = await fetch(`${server.url}/x`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as any };
    };
    return { server, get, c };
  }

  for (const kind of ['middleware', 'verifier'] as const) {
    it(`${kind}: 429 + Retry-After per key after the burst, recovers with time; unknown keys do not spend it`, async () => {
      const { server, get, c } = await serve(kind);
      try {
        for (let i = 0; i < 5; i++) expect((await get('nope')).status).toBe(401);
        expect((await get('ka')).status).toBe(200);
        expect((await get('ka')).status).toBe(200);
        const limited = await get('ka');
        expect(limited.status).toBe(429);
        expect(limited.retryAfter).toBe('1');
        expect(limited.body.error).toMatchObject({ code: 'rate_limited', details: { keyId: 'a', limitPerSecond: 2 } });
        expect(JSON.stringify(limited.body)).not.toContain('ka"');
        expect((await get('kb')).status).toBe(200); // another key has its own bucket
        c.t += 500;
        expect((await get('ka')).status).toBe(200);
      } finally {
        await server.close();
      }
    });
  }
});
