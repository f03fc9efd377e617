import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { AppError } from '@tinycdp/common';
import { bodyParserError, INVALID_UTF8 } from './errors';

export interface JsonBodyOptions {
  /** Maximum body size in bytes. */
  readonly limit: number;
  /**
   * Maximum nesting of objects/arrays (the body itself is level 1; default 128). Deeper bodies are
   * rejected before any handler sees them: recursive code downstream (schema validators, JSON.stringify)
   * overflows the stack on a few hundred KB of `[[[[…`, which would be a 500.
   */
  readonly maxDepth?: number;
  /** Reject strings (values and keys) containing U+0000 — Postgres cannot store them (default false). */
  readonly rejectNul?: boolean;
  /** What the body is, for the 413 message: "message", "batch". Default "request body". */
  readonly what?: string;
}

// The content-type is not checked: analytics-node sends application/json, Segment's browser library
// (analytics.js) text/plain (to avoid a CORS preflight), some clients nothing, and `curl -d` without -H
// sends application/x-www-form-urlencoded. Whatever the label, the body must parse as JSON.

/**
 * express.json with strict parsing (top level must be an object or array) and TinyCDP errors:
 * invalid JSON or bytes that are not UTF-8 → AppError('invalid_json') naming the position (decoding
 * invalid bytes to U+FFFD would silently turn distinct ids into one); too large → 'payload_too_large'
 * naming the limit. Any content-type is parsed as JSON (see above). An empty body (Content-Length: 0) parses
 * as `{}`; a request without any body leaves `req.body` undefined.
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const what = options.what ?? 'request body';
  const parse = express.json({ limit: options.limit, strict: true, type: () => true, verify: requireUtf8 });
  const maxDepth = options.maxDepth ?? 128;
  const rejectNul = options.rejectNul ?? false;
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        next(bodyParserError(err, what) ?? err);
        return;
      }
      const problem = scanBody(req.body, maxDepth, rejectNul);
      next(problem ?? undefined);
    });
  };
}

const SHOWN_PATH_SEGMENTS = 12;

function showPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments.slice(0, SHOWN_PATH_SEGMENTS)) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s) ? (out === '' ? s : `.${s}`) : `[${JSON.stringify(s)}]`;
  }
  if (segments.length > SHOWN_PATH_SEGMENTS) out += '…';
  return out === '' ? 'body' : out;
}

interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Node | null;
  readonly key: string | number | null;
}

function pathOf(n: Node | null): (string | number)[] {
  const out: (string | number)[] = [];
  for (let c = n; c !== null && c.key !== null; c = c.parent) out.push(c.key);
  return out.reverse();
}

/** Iterative (stack-safe, linear) walk: depth limit and, optionally, no U+0000 in any string or key. */
function scanBody(body: unknown, maxDepth: number, rejectNul: boolean): AppError | null {
  const stack: Node[] = [{ value: body, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const value = n.value;
    if (typeof value === 'string') {
      if (rejectNul && value.includes('\u0000')) return nulError(pathOf(n));
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (n.depth + 1 > maxDepth) {
      const shown = showPath(pathOf(n));
      return new AppError('validation_failed', `${shown}: is nested too deeply (more than ${maxDepth} levels)`, {
        details: { path: shown, maxDepth },
      });
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: n.depth + 1, parent: n, key: i });
    } else {
      for (const [k, v] of Object.entries(value)) {
        if (rejectNul && k.includes('\u0000')) return nulError([...pathOf(n), k]);
        stack.push({ value: v, depth: n.depth + 1, parent: n, key: k });
      }
    }
  }
  return null;
}

function nulError(path: readonly (string | number)[]): AppError {
  return new AppError('validation_failed', `${showPath(path)}: must not contain the character U+0000`, { details: { path: showPath(path) } });
}

/** body-parser `verify` hook: the raw bytes must be UTF-8 (the only encoding JSON allows, RFC 8259 §8.1). */
function requireUtf8(_req: unknown, _res: unknown, buf: Buffer): void {
  if (isUtf8(buf)) return;
  throw Object.assign(new Error(`request body is not valid UTF-8 (first invalid byte at offset ${firstInvalidUtf8(buf)})`), {
    type: INVALID_UTF8,
    offset: firstInvalidUtf8(buf),
  });
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}
