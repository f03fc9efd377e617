/**
 * The hot routes: `/v1/decide` (GET, POST) and OFREP (`/ofrep/v1/evaluate/flags[/{key}]`), written
 * against plain node:http request/response objects so they run under the thin router (default) or be
 * mounted in express (same handlers; used to measure the difference, see router.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isAppError } from '@tinycdp/common';
import type { KeyVerifier } from '@tinycdp/http';
import type { DecideService } from '../decide-service';
import type { DecideMetrics, RouteName } from '../metrics';
import { LIMITS, parseDecideBody, parseDecideQuery, parseOfrepContext, queryPairs, type DecideQuery } from '../request';
import {
  bulkEtag,
  etagMatches,
  flagsBody,
  ofrepStatus,
  ofrepSuccess,
  singleDecisionBody,
  type OfrepErrorCode,
  type OfrepFailure,
} from '../responses';
import { authenticate, authenticateCached, errorAnswer, readJson, sendAnswer, sendError, sendJson, type Answer } from './io';

export interface RouteDeps {
  readonly service: DecideService;
  readonly verifier: KeyVerifier;
  readonly metrics: DecideMetrics;
  readonly logger: Logger;
}

/** A route handler: answers the request and resolves to the status it sent. Never rejects. */
export type Handler = (req: IncomingMessage, res: ServerResponse, query: string, param: string) => Promise<number>;

/** Counts and logs an error that is not the client's (a bug or an unexpected failure). */
function logInternal(deps: RouteDeps, err: unknown, route: RouteName): void {
  if (!isAppError(err) || err.code === 'internal') {
    deps.metrics.error('internal');
    deps.logger.error({ err, route }, 'decide_request_failed');
  }
}

function internal(deps: RouteDeps, res: ServerResponse, err: unknown, route: RouteName): number {
  logInternal(deps, err, route);
  return sendError(res, err);
}

/**
 * GET /v1/decide?userId=…|anonymousId=…[&flag=…][&context.<path>=…], as data: the Authorization
 * header and the raw query in, the answer out (served by the lean front, http/fast-http.ts, or by
 * node:http through `decideGet`). Never rejects.
 */
export function decideGetAnswer(deps: RouteDeps): (authorization: string | undefined, query: string) => Promise<Answer> {
  const fail = (err: unknown): Answer => {
    logInternal(deps, err, 'decide_get');
    return errorAnswer(err);
  };
  const decideNow = (query: string): Promise<Answer> => {
    const q = parseDecideQuery(queryPairs(query));
    return deps.service.decide(q).then(({ results }) => {
      const r = results[0]!;
      const single = q.flags !== null && q.flags.length === 1;
      return { status: 200, body: JSON.stringify(single ? singleDecisionBody(r) : flagsBody(r)) };
    });
  };
  // The common case (a key the verifier has cached) runs without an extra promise hop for auth.
  return (authorization, query) => {
    try {
      const pending = authenticateCached(authorization, deps.verifier)
        ? decideNow(query)
        : authenticate(authorization, deps.verifier).then(() => decideNow(query));
      return pending.catch(fail);
    } catch (err) {
      return Promise.resolve(fail(err));
    }
  };
}

/** GET /v1/decide on node:http (`decideGetAnswer` written to the response). */
export function decideGet(deps: RouteDeps): Handler {
  const answer = decideGetAnswer(deps);
  return (req, res, query) => answer(req.headers.authorization, query).then((a) => sendAnswer(res, a));
}

/** POST /v1/decide `{userIds?, userId?, anonymousId?, flags?, context?}` → `{results: [{userId, flags}]}`. */
export function decidePost(deps: RouteDeps): Handler {
  return async (req, res) => {
    try {
      await authenticate(req.headers.authorization, deps.verifier);
      const q = parseDecideBody(await readJson(req, LIMITS.bodyBytes));
      const { results } = await deps.service.decide(q);
      sendJson(res, 200, JSON.stringify({ results: results.map(flagsBody) }));
      return 200;
    } catch (err) {
      return internal(deps, res, err, 'decide_post');
    }
  };
}

function ofrepFail(res: ServerResponse, code: OfrepErrorCode, details: string, key?: string): number {
  const body: OfrepFailure = key === undefined ? { errorCode: code, errorDetails: details } : { key, errorCode: code, errorDetails: details };
  const status = ofrepStatus(code);
  sendJson(res, status, JSON.stringify(body));
  return status;
}

type OfrepParse = { ok: true; query: Omit<DecideQuery, 'flags'> } | { ok: false; code: OfrepErrorCode; details: string };

/** Reads an OFREP request body `{context: {targetingKey, ...}}` into a decide query. Never throws. */
async function ofrepRequest(req: IncomingMessage): Promise<OfrepParse> {
  let body: unknown;
  try {
    body = await readJson(req, LIMITS.bodyBytes);
  } catch (err) {
    return { ok: false, code: 'PARSE_ERROR', details: (err as Error).message };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, code: 'PARSE_ERROR', details: 'request body must be a JSON object {"context": {...}}' };
  }
  let parsed;
  try {
    parsed = parseOfrepContext((body as { context?: unknown }).context);
  } catch (err) {
    return { ok: false, code: 'INVALID_CONTEXT', details: (err as Error).message };
  }
  if (parsed.target === null) {
    return { ok: false, code: 'TARGETING_KEY_MISSING', details: 'context.targetingKey (the userId) is required' };
  }
  return { ok: true, query: { targets: [parsed.target], context: parsed.context } };
}

/** Auth failures answer like every other route (401/403 with the standard error body). */
async function ofrepAuth(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<number | null> {
  try {
    await authenticate(req.headers.authorization, deps.verifier);
    return null;
  } catch (err) {
    req.resume();
    return internal(deps, res, err, 'ofrep_flag');
  }
}

/** POST /ofrep/v1/evaluate/flags/{key} */
export function ofrepFlag(deps: RouteDeps): Handler {
  return async (req, res, _query, rawKey) => {
    let key = rawKey;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      return ofrepFail(res, 'PARSE_ERROR', 'flag key is not valid percent-encoding', rawKey);
    }
    const denied = await ofrepAuth(deps, req, res);
    if (denied !== null) return denied;
    const parsed = await ofrepRequest(req);
    if (!parsed.ok) return ofrepFail(res, parsed.code, parsed.details, key);
    try {
      const { results, degraded } = await deps.service.decide({ ...parsed.query, flags: [key] });
      const d = results[0]!.decisions[0]!;
      sendJson(res, 200, JSON.stringify(ofrepSuccess(d, degraded?.message)));
      return 200;
    } catch (err) {
      if (isAppError(err) && err.code === 'not_found') return ofrepFail(res, 'FLAG_NOT_FOUND', err.message, key);
      if (isAppError(err) && err.code !== 'internal') return ofrepFail(res, 'GENERAL', err.message, key);
      logInternal(deps, err, 'ofrep_flag');
      return ofrepFail(res, 'GENERAL', 'internal error', key);
    }
  };
}

/** POST /ofrep/v1/evaluate/flags — every flag; ETag / If-None-Match → 304. */
export function ofrepBulk(deps: RouteDeps): Handler {
  return async (req, res) => {
    const denied = await ofrepAuth(deps, req, res);
    if (denied !== null) return denied;
    const parsed = await ofrepRequest(req);
    if (!parsed.ok) return ofrepFail(res, parsed.code, parsed.details);
    try {
      const { results, snapshot, degraded } = await deps.service.decide({ ...parsed.query, flags: null });
      const body = JSON.stringify({ flags: results[0]!.decisions.map((d) => ofrepSuccess(d, degraded?.message)) });
      const etag = bulkEtag(snapshot.etag, body);
      if (etagMatches(req.headers['if-none-match'], etag)) {
        res.writeHead(304, { etag, 'cache-control': 'no-cache' });
        res.end();
        return 304;
      }
      sendJson(res, 200, body, { etag, 'cache-control': 'no-cache' });
      return 200;
    } catch (err) {
      if (isAppError(err) && err.code !== 'internal') return ofrepFail(res, 'GENERAL', err.message);
      logInternal(deps, err, 'ofrep_bulk');
      return ofrepFail(res, 'GENERAL', 'internal error');
    }
  };
}
