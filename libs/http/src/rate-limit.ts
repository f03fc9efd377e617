import type { RequestHandler, Response } from 'express';
import { AppError } from '@tinycdp/common';
import { principalOf, type KeyVerifier, type Principal } from './auth';

export interface RateLimitOptions {
  /** Sustained requests per second per key. */
  readonly ratePerSecond: number;
  /** Bucket size: requests a key may send at once after being idle. */
  readonly burst: number;
  /** Milliseconds, monotonic (default performance.now). */
  readonly now?: () => number;
  /** Buckets kept at most (default 10 000); the least recently used are dropped first (they refill anyway). */
  readonly maxKeys?: number;
}

export type TakeResult = { readonly ok: true; readonly remaining: number } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets per key id, in memory (per process: N instances allow N × the rate, which is what a
 * per-instance guard against a runaway client needs; it is not a global quota).
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly perMs: number;

  /** @throws RangeError on a rate or burst that is not a positive finite number. */
  constructor(readonly options: RateLimitOptions) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) throw new RangeError('ratePerSecond must be a positive number');
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) throw new RangeError('burst must be a number >= 1');
    this.now = options.now ?? (() => performance.now());
    this.maxKeys = options.maxKeys ?? 10_000;
    this.perMs = options.ratePerSecond / 1000;
  }

  /** Takes `cost` tokens from `key`'s bucket, or says how long until they are there. Never throws. */
  take(key: string, cost = 1): TakeResult {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.options.burst, at: now };
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      this.buckets.delete(key); // re-inserted below: Map order = least recently used first
      b.tokens = Math.min(this.options.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
      b.at = now;
    }
    this.buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterMs: Math.ceil((cost - b.tokens) / this.perMs) };
  }

  /** Keys currently tracked (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }
}

function limited(principal: Principal, retryAfterMs: number, rate: number): AppError {
  return new AppError('rate_limited', `too many requests for this API key (limit ${rate} requests per second); retry after ${Math.ceil(retryAfterMs / 1000)} s`, {
    details: { keyId: principal.id, limitPerSecond: rate, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
  });
}

/**
 * Express middleware: per-key rate limit. Mount AFTER `requireScope` (it keys on the verified
 * principal's id, never on the secret); a request without a principal passes untouched.
 * Fails with AppError 'rate_limited' (→ 429 + Retry-After).
 */
export function rateLimit(limiterOrOptions: TokenBucketLimiter | RateLimitOptions): RequestHandler {
  const limiter = limiterOrOptions instanceof TokenBucketLimiter ? limiterOrOptions : new TokenBucketLimiter(limiterOrOptions);
  return (_req, res: Response, next) => {
    const principal = principalOf(res);
    if (principal === undefined) {
      next();
      return;
    }
    const r = limiter.take(principal.id);
    if (r.ok) next();
    else next(limited(principal, r.retryAfterMs, limiter.options.ratePerSecond));
  };
}

/**
 * The same limit for routes whose authentication is built in (ingest's tracking routes, decide's hot
 * routes): a KeyVerifier that, after the inner one verified a key, takes a token for its id.
 * Unknown keys are not counted (they are rejected anyway, and counting them would let anyone spend a
 * real key's budget by guessing). @throws AppError 'rate_limited', or what the inner verifier throws.
 */
export function rateLimitedVerifier(inner: KeyVerifier, limiterOrOptions: TokenBucketLimiter | RateLimitOptions): KeyVerifier {
  const limiter = limiterOrOptions instanceof TokenBucketLimiter ? limiterOrOptions : new TokenBucketLimiter(limiterOrOptions);
  return {
    async verify(secret) {
      const principal = await inner.verify(secret);
      if (principal === null) return null;
      const r = limiter.take(principal.id);
      if (!r.ok) throw limited(principal, r.retryAfterMs, limiter.options.ratePerSecond);
      return principal;
    },
  };
}
