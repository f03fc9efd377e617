import type { ErrorRequestHandler } from 'express';
import { AppError, isAppError, type ErrorCode } from '@tinycdp/common';

/** HTTP status for every error code. A typed Record: adding a code without a status fails to compile. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  timeout: 504,
});

/** Codes answered with a `Retry-After` header (seconds; `details.retryAfterSeconds` or 1). */
const RETRY_AFTER_CODES: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'unavailable']);

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details: unknown };
}

/** The slice of a pino logger the middleware uses. */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
  readonly appError: AppError;
}

/** Maps any thrown value to the HTTP answer. Unknown errors become `internal` with a generic message. */
export function toHttpError(err: unknown): HttpError {
  const appError = asAppError(err);
  const status = STATUS_BY_CODE[appError.code];
  const headers: Record<string, string> = {};
  if (RETRY_AFTER_CODES.has(appError.code)) headers['Retry-After'] = String(retryAfterSeconds(appError.details));
  // An internal error's message may say too much (SQL, file paths): the client gets a generic one.
  const message = appError.code === 'internal' ? 'internal error' : appError.message;
  const details = appError.code === 'internal' ? null : (appError.details ?? null);
  return { status, headers, body: { error: { code: appError.code, message, details } }, appError };
}

/**
 * Express error middleware: AppError `code` → status via STATUS_BY_CODE, body
 * `{"error":{"code","message","details"}}`. Never sends stacks or causes; logs 5xx with the cause.
 * Mount last.
 */
export function errorMiddleware(options: { logger?: ErrorLogger } = {}): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const h = toHttpError(err);
    if (h.status >= 500 && options.logger) {
      options.logger.error({ err, code: h.appError.code, method: req.method, path: req.path }, 'http_request_failed');
    }
    res.status(h.status).set(h.headers).json(h.body);
  };
}

function retryAfterSeconds(details: unknown): number {
  if (typeof details === 'object' && details !== null && 'retryAfterSeconds' in details) {
    const v = (details as { retryAfterSeconds: unknown }).retryAfterSeconds;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.ceil(v);
  }
  return 1;
}

function asAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const body = bodyParserError(err);
  if (body) return body;
  return new AppError('internal', 'internal error', { cause: err });
}

/** `type` of the error jsonBody raises for a body that is not UTF-8. */
export const INVALID_UTF8 = 'encoding.invalid_utf8';

/** body-parser (express.json) errors carry a `type`; map the ones a client can cause. */
export function bodyParserError(err: unknown, what = 'request body'): AppError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const e = err as { type: unknown; message?: unknown; limit?: unknown; length?: unknown };
  switch (e.type) {
    case 'entity.parse.failed': {
      const raw = typeof e.message === 'string' ? e.message : 'parse error';
      const m = /position (\d+)/.exec(raw);
      const position = m ? Number(m[1]) : undefined;
      return new AppError(
        'invalid_json',
        `request body is not valid JSON${position === undefined ? '' : ` (at position ${position})`}: ${raw}`,
        { details: position === undefined ? null : { position }, cause: err },
      );
    }
    case 'entity.too.large': {
      const limit = typeof e.limit === 'number' ? e.limit : undefined;
      const length = typeof e.length === 'number' ? e.length : undefined;
      return new AppError(
        'payload_too_large',
        `${what} is ${length === undefined ? 'larger than allowed' : `${length} bytes`}; the limit is ${limit ?? '?'} bytes`,
        { details: { limit: limit ?? null, length: length ?? null }, cause: err },
      );
    }
    case INVALID_UTF8: {
      const raw = (err as { offset?: unknown }).offset;
      const offset = typeof raw === 'number' ? raw : null;
      return new AppError('invalid_json', typeof e.message === 'string' ? e.message : 'request body is not valid UTF-8', {
        details: { encoding: 'utf-8', offset },
        cause: err,
      });
    }
    case 'encoding.unsupported':
    case 'charset.unsupported':
    case 'request.size.invalid':
    case 'request.aborted':
      return new AppError('bad_request', typeof e.message === 'string' ? e.message : 'bad request body', { cause: err });
    default:
      return undefined;
  }
}
