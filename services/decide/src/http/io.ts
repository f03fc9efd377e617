import { isUtf8 } from 'node:buffer';
/**
 * Minimal node:http plumbing for the hot routes: JSON answers, bounded body reading and Bearer auth
 * over the KeyVerifier port (which caches in memory; no I/O is added here).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@tinycdp/common';
import { scopeSatisfies, toHttpError, type KeyVerifier, type Principal } from '@tinycdp/http';

const JSON_TYPE = 'application/json; charset=utf-8';

/** Writes a JSON body (already serialized) with its length; keep-alive friendly. */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Writes any error the way libs/http's errorMiddleware does: `{"error":{code,message,details}}`. */
export function sendError(res: ServerResponse, err: unknown): number {
  const h = toHttpError(err);
  const headers: Record<string, string> = { ...h.headers };
  if (h.status === 401) headers['www-authenticate'] = 'Bearer realm="tinycdp"';
  sendJson(res, h.status, JSON.stringify(h.body), headers);
  return h.status;
}

/**
 * Reads a JSON request body up to `limit` bytes. An empty body reads as `{}`.
 * @throws AppError 'payload_too_large', 'invalid_json', 'bad_request' (aborted).
 */
export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(limit, declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit, size));
        return;
      }
      chunks.push(c);
    });
    req.on('error', (err) => {
      if (!failed) reject(new AppError('bad_request', 'request body could not be read', { cause: err }));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      const buf = Buffer.concat(chunks, size);
      if (!isUtf8(buf)) {
        reject(new AppError('bad_request', 'request body is not valid UTF-8'));
        return;
      }
      const text = buf.toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`, { cause: err }));
      }
    });
  });
}

function tooLarge(limit: number, length: number): AppError {
  return new AppError('payload_too_large', `request body is ${length} bytes; the limit is ${limit} bytes`, {
    details: { limit, length },
  });
}

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/**
 * Authenticates a request with a `read` key (admin keys are accepted too).
 * @throws AppError 'unauthorized' (missing/unknown key), 'forbidden' (scope), or whatever the
 *   verifier throws (e.g. 'unavailable' → 503).
 */
export async function authenticate(req: IncomingMessage, verifier: KeyVerifier): Promise<void> {
  if (authenticateCached(req, verifier)) return;
  checkPrincipal(await verifier.verify(bearerKey(req)));
}

/**
 * `authenticate` without a promise when the verifier knows the key from its cache: true = allowed,
 * false = not known without I/O (call `authenticate`).
 * @throws AppError as `authenticate` does.
 */
export function authenticateCached(req: IncomingMessage, verifier: KeyVerifier): boolean {
  if (verifier.verifyCached === undefined) return false;
  const principal = verifier.verifyCached(bearerKey(req));
  if (principal === undefined) return false;
  checkPrincipal(principal);
  return true;
}

function bearerKey(req: IncomingMessage): string {
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    throw new AppError('unauthorized', 'missing API key: send an Authorization: Bearer <key> header');
  }
  const m = BEARER.exec(header);
  if (m === null) throw new AppError('unauthorized', 'Authorization must be "Bearer <key>"');
  return m[1]!;
}

function checkPrincipal(principal: Principal | null): void {
  if (principal === null) throw new AppError('unauthorized', 'unknown or revoked API key');
  if (!scopeSatisfies(principal.scope, 'read')) {
    throw new AppError('forbidden', `this endpoint needs a key with scope "read"; this key has scope "${principal.scope}"`);
  }
}
