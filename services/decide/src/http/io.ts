import { isUtf8 } from 'node:buffer';
/**
 * Minimal node:http plumbing for the hot routes: JSON answers, bounded body reading and Bearer auth
 * over the KeyVerifier port (which caches in memory; no I/O is added here).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@tinycdp/common';
import { scopeSatisfies, toHttpError, type KeyVerifier, type Principal } from '@tinycdp/http';

const JSON_TYPE = 'application/json; charset=utf-8';

/** A response as data: what the hot routes answer, written by node:http (`sendAnswer`) or the lean front. */
export interface Answer {
  readonly status: number;
  /** Serialized JSON. */
  readonly body: string;
  /** Extra headers (content-type, content-length and cache-control are always set). */
  readonly headers?: Record<string, string>;
}

/** Writes an Answer on a node:http response; returns its status. */
export function sendAnswer(res: ServerResponse, a: Answer): number {
  sendJson(res, a.status, a.body, a.headers);
  return a.status;
}

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

/** Any error the way libs/http's errorMiddleware answers it: `{"error":{code,message,details}}`. */
export function errorAnswer(err: unknown): Answer {
  const h = toHttpError(err);
  const headers: Record<string, string> = { ...h.headers };
  if (h.status === 401) headers['www-authenticate'] = 'Bearer realm="tinycdp"';
  return { status: h.status, body: JSON.stringify(h.body), headers };
}

/** Writes any error as `errorAnswer` builds it. */
export function sendError(res: ServerResponse, err: unknown): number {
  return sendAnswer(res, errorAnswer(err));
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
 * Authenticates a request by its Authorization header with a `read` key (admin keys are accepted too).
 * @throws AppError 'unauthorized' (missing/unknown key), 'forbidden' (scope), or whatever the
 *   verifier throws (e.g. 'unavailable' → 503).
 */
export async function authenticate(authorization: string | undefined, verifier: KeyVerifier): Promise<void> {
  if (authenticateCached(authorization, verifier)) return;
  checkPrincipal(await verifier.verify(bearerKey(authorization)));
}

/**
 * `authenticate` without a promise when the verifier knows the key from its cache: true = allowed,
 * false = not known without I/O (call `authenticate`).
 * @throws AppError as `authenticate` does.
 */
export function authenticateCached(authorization: string | undefined, verifier: KeyVerifier): boolean {
  if (verifier.verifyCached === undefined) return false;
  const principal = verifier.verifyCached(bearerKey(authorization));
  if (principal === undefined) return false;
  checkPrincipal(principal);
  return true;
}

function bearerKey(header: string | undefined): string {
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
