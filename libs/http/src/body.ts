import express, { type RequestHandler } from 'express';
import { bodyParserError } from './errors';

export interface JsonBodyOptions {
  /** Maximum body size in bytes. */
  readonly limit: number;
  /** What the body is, for the 413 message: "message", "batch". Default "request body". */
  readonly what?: string;
}

// The content-type is not checked: analytics-node sends application/json, Segment's browser library
// (analytics.js) text/plain (to avoid a CORS preflight), some clients nothing, and `curl -d` without -H
// sends application/x-www-form-urlencoded. Whatever the label, the body must parse as JSON.

/**
 * express.json with strict parsing (top level must be an object or array) and TinyCDP errors:
 * invalid JSON → AppError('invalid_json') naming the position; too large → 'payload_too_large'
 * naming the limit. Any content-type is parsed as JSON (see above). An empty body (Content-Length: 0) parses
 * as `{}`; a request without any body leaves `req.body` undefined.
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const what = options.what ?? 'request body';
  const parse = express.json({ limit: options.limit, strict: true, type: () => true });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err === undefined || err === null) next();
      else next(bodyParserError(err, what) ?? err);
    });
  };
}
