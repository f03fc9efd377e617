/**
 * Response bodies of the decide API and of OFREP, built from decisions. Pure.
 */
import { createHash } from 'node:crypto';
import type { Json } from '@tinycdp/common';
import type { Decision, DecisionReason } from '@tinycdp/engine';
import type { TargetDecisions } from './decide-service';

/** One decision as the decide API shows it. */
export interface DecisionJson {
  readonly flag: string;
  readonly enabled: boolean;
  readonly value: Json;
  readonly reason: DecisionReason;
  readonly version: number;
  readonly ruleIndex: number | null;
}

export function decisionJson(d: Decision): DecisionJson {
  return { flag: d.flag, enabled: d.enabled, value: d.value, reason: d.reason, version: d.version, ruleIndex: d.ruleIndex };
}

function who(r: TargetDecisions): { userId: string | null; anonymousId?: string } {
  return r.anonymousId === null ? { userId: r.userId } : { userId: r.userId, anonymousId: r.anonymousId };
}

/** `GET /v1/decide?flag=k`: one flat decision with the user. */
export function singleDecisionBody(r: TargetDecisions): Record<string, Json> {
  const d = r.decisions[0]!;
  // One literal (the same keys, in the same order, as decisionJson + who): built on every GET.
  const body: Record<string, Json> = {
    flag: d.flag,
    enabled: d.enabled,
    value: d.value,
    reason: d.reason,
    version: d.version,
    ruleIndex: d.ruleIndex,
    userId: r.userId,
  };
  if (r.anonymousId !== null) body.anonymousId = r.anonymousId;
  return body;
}

/** Several flags of one user: `{userId, flags: {key: decision}}`. */
export function flagsBody(r: TargetDecisions): Record<string, Json> {
  const flags: Record<string, DecisionJson> = {};
  for (const d of r.decisions) flags[d.flag] = decisionJson(d);
  return { ...who(r), flags } as unknown as Record<string, Json>;
}

/** OFREP reasons are OpenFeature reasons; ours map one to one. */
export function ofrepReason(reason: DecisionReason): string {
  return reason;
}

/** Variant name: which rule answered, or the default. */
export function variantOf(d: Decision): string {
  return d.ruleIndex !== null && (d.reason === 'TARGETING_MATCH' || d.reason === 'SPLIT') ? `rule_${d.ruleIndex}` : 'default';
}

export interface OfrepSuccess {
  readonly key: string;
  readonly value: Json;
  readonly reason: string;
  readonly variant: string;
  readonly metadata: Record<string, string | number | boolean>;
}

/** OFREP evaluation success body; metadata holds only primitives (what OpenFeature flag metadata allows). */
export function ofrepSuccess(d: Decision, errorDetails?: string): OfrepSuccess {
  const metadata: Record<string, string | number | boolean> = { version: d.version, enabled: d.enabled };
  if (d.ruleIndex !== null) metadata.ruleIndex = d.ruleIndex;
  if (errorDetails !== undefined) metadata.errorDetails = errorDetails;
  return { key: d.flag, value: d.value, reason: ofrepReason(d.reason), variant: variantOf(d), metadata };
}

export type OfrepErrorCode =
  | 'PARSE_ERROR'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'TYPE_MISMATCH'
  | 'GENERAL'
  | 'FLAG_NOT_FOUND';

export interface OfrepFailure {
  readonly key?: string;
  readonly errorCode: OfrepErrorCode;
  readonly errorDetails: string;
}

/** HTTP status of an OFREP evaluation failure (the spec allows 400, 404 and 500). */
export function ofrepStatus(code: OfrepErrorCode): 400 | 404 | 500 {
  switch (code) {
    case 'FLAG_NOT_FOUND':
      return 404;
    case 'GENERAL':
      return 500;
    case 'PARSE_ERROR':
    case 'TARGETING_KEY_MISSING':
    case 'INVALID_CONTEXT':
    case 'TYPE_MISMATCH':
      return 400;
  }
}

/**
 * ETag of a bulk OFREP answer: the definitions' digest plus a digest of the answer itself. The values
 * depend on the profile too (traits move with events and time), so only an identical answer may be
 * reported as "not modified".
 */
export function bulkEtag(definitionsEtag: string, body: string): string {
  const h = createHash('sha1').update(body).digest('base64url').slice(0, 16);
  return `"${definitionsEtag}.${h}"`;
}

/** True when an If-None-Match header lists `etag` (or `*`); weak comparison as RFC 9110 asks for GET-like checks. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined || ifNoneMatch === '') return false;
  const bare = (t: string): string => t.trim().replace(/^W\//, '');
  const want = bare(etag);
  return ifNoneMatch.split(',').some((t) => {
    const b = bare(t);
    return b === '*' || b === want;
  });
}
