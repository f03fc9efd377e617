import type { Request, RequestHandler, Response } from 'express';
import { AppError, isPlainObject } from '@tinycdp/common';

export type KeyScope = 'write' | 'read' | 'admin';

/** Who made the request: the verified API key (never the secret). */
export interface Principal {
  readonly id: string;
  readonly scope: KeyScope;
  readonly name?: string;
}

/** Port: resolves an API key secret to its key, or null if unknown/revoked. May throw AppError('unavailable'). */
export interface KeyVerifier {
  verify(secret: string): Promise<Principal | null>;
  /**
   * Optional fast path: the answer `verify` would give right now when it is known without I/O (a
   * fresh cache entry), else undefined (then call `verify`). Hot routes use it to skip a promise.
   */
  verifyCached?(secret: string): Principal | null | undefined;
}

export interface RequireScopeOptions {
  /** Accept `Authorization: Basic base64(key:)` (username = key), as Segment SDKs send. */
  readonly allowBasic?: boolean;
  /** Accept `writeKey` in the JSON body (ingest only; mount after `jsonBody`). */
  readonly allowBodyWriteKey?: boolean;
}

/** True if a key of scope `have` may call an endpoint needing `need`: admin may do everything. */
export function scopeSatisfies(have: KeyScope, need: KeyScope): boolean {
  return have === 'admin' || have === need;
}

/** The principal set by `requireScope`, if any. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals['principal'] as Principal | undefined;
}

type Extracted = { key: string } | { error: string } | undefined;

function extractKey(req: Request, options: RequireScopeOptions): Extracted {
  const header = req.headers.authorization;
  if (header !== undefined && header.trim() !== '') {
    const m = /^\s*(\S+)\s+(.*)$/.exec(header);
    const scheme = m?.[1]?.toLowerCase();
    const value = m?.[2]?.trim() ?? '';
    if (scheme === 'bearer') {
      return value === '' ? { error: 'the Bearer token is empty' } : { key: value };
    }
    if (scheme === 'basic' && options.allowBasic) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon === -1 ? decoded : decoded.slice(0, colon);
      return user === '' ? { error: 'Basic auth needs the key as the username' } : { key: user };
    }
    return {
      error: options.allowBasic
        ? 'Authorization must be "Bearer <key>" or "Basic base64(<key>:)"'
        : 'Authorization must be "Bearer <key>"',
    };
  }
  if (options.allowBodyWriteKey && isPlainObject(req.body)) {
    const wk = req.body['writeKey'];
    if (typeof wk === 'string' && wk !== '') return { key: wk };
  }
  return undefined;
}

/**
 * Middleware: authenticates the request and requires `scope` (admin satisfies every scope).
 * The key comes from `Authorization: Bearer <key>`, else (if allowed) Basic with the key as username,
 * else (if allowed) `writeKey` in the JSON body. Sets `res.locals.principal`.
 * Fails with AppError 'unauthorized' (401; missing, malformed or unknown key) or 'forbidden'
 * (403; wrong scope); a verifier failure propagates (e.g. 'unavailable' → 503).
 */
export function requireScope(verifier: KeyVerifier, scope: KeyScope, options: RequireScopeOptions = {}): RequestHandler {
  const challenge = options.allowBasic ? 'Bearer realm="tinycdp", Basic realm="tinycdp"' : 'Bearer realm="tinycdp"';
  const unauthorized = (res: Response, message: string): AppError => {
    res.set('WWW-Authenticate', challenge);
    return new AppError('unauthorized', message);
  };
  return async (req, res, next) => {
    const found = extractKey(req, options);
    if (found === undefined) {
      const where = ['an Authorization: Bearer <key> header'];
      if (options.allowBasic) where.push('HTTP Basic auth with the key as username');
      if (options.allowBodyWriteKey) where.push('"writeKey" in the JSON body');
      throw unauthorized(res, `missing API key: send ${where.join(', or ')}`);
    }
    if ('error' in found) throw unauthorized(res, found.error);
    const principal = await verifier.verify(found.key);
    if (principal === null) throw unauthorized(res, 'unknown or revoked API key');
    if (!scopeSatisfies(principal.scope, scope)) {
      throw new AppError('forbidden', `this endpoint needs a key with scope "${scope}"; this key has scope "${principal.scope}"`);
    }
    res.locals['principal'] = principal;
    next();
  };
}

/**
 * A KeyVerifier over a fixed list of keys (tests, or a bootstrap admin key from the environment).
 * Production keys live in Postgres (libs/postgres).
 */
export function staticKeyVerifier(entries: readonly (Principal & { readonly secret: string })[]): KeyVerifier {
  const bySecret = new Map(entries.map(({ secret, ...p }) => [secret, Object.freeze(p)]));
  return { verify: async (secret) => bySecret.get(secret) ?? null };
}
