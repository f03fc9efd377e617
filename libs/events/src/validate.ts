import { isPlainObject } from '@tinycdp/common';
import type { EventType, FieldError } from './types';
import type { RawMessage } from './message';
import { isEventType } from './message';
import { isBlockedId } from './identity';
import { LIMITS, jsonByteLength } from './limits';
import { validateEventSchema } from './internal/schemas';
import { describeAjvErrors, joinPath } from './internal/describe';
import { parseCanonicalIso } from './internal/iso-time';

export type ValidationResult = { ok: true; message: RawMessage } | { ok: false; errors: FieldError[] };

export interface ValidateOptions {
  /**
   * The type implied by the endpoint (`/v1/track` → 'track'). Used when the message has no `type`;
   * a different `type` in the message is an error.
   */
  readonly type?: EventType;
  /**
   * Accept the seed short form (`/v1/track`, `/v1/identify`): `{externalId, event, props}` and
   * `{externalId, traits}`, where externalId is the userId and props the properties.
   */
  readonly shortForm?: boolean;
  /** Per-message size limit in UTF-8 JSON bytes (default LIMITS.maxMessageBytes). */
  readonly maxBytes?: number;
}

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const ID_FIELDS = ['userId', 'anonymousId', 'previousId'] as const;
const TIME_FIELDS = ['timestamp', 'sentAt', 'originalTimestamp', 'receivedAt'] as const;
const MAX_STRUCTURE_ERRORS = 10;

/**
 * Validates one Segment-spec message (an HTTP body, one batch item, or a value read from
 * tinycdp.events). Never throws: every problem is a `FieldError` whose path starts with `path`
 * (e.g. `batch[3]`) and whose message says what is wrong in plain words.
 *
 * Checks: the JSON Schema `schemas/events.value.schema.json` (ajv), then what it cannot express —
 * nesting depth ≤ LIMITS.maxDepth, no `__proto__`/`constructor`/`prototype` keys anywhere (rejected,
 * not stripped), finite numbers only (1e309 parses to Infinity), size ≤ 32 KB, placeholder ids
 * (`isBlockedId`), timestamps that parse.
 */
export function validateMessage(input: unknown, path = '', options: ValidateOptions = {}): ValidationResult {
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ path, message: 'must be a JSON object' }] };
  }
  const fast = acceptWellFormed(input, options);
  if (fast !== null) return { ok: true, message: fast };
  return validateFully(input, path, options);
}

/** `validateMessage` without the fast path (exported for the test that holds the two equal). */
export function validateFully(input: Record<string, unknown>, path = '', options: ValidateOptions = {}): ValidationResult {

  // 1. Structure first: depth and forbidden keys. Bounded recursion, so it is safe on hostile input,
  //    and it must run before anything that recurses without bound (JSON.stringify for the size).
  const scan: Scan = { errors: [], base: path, segs: [], bound: 0, exact: false };
  scanStructure(input, scan, 1, false);
  if (scan.errors.length > 0) return { ok: false, errors: scan.errors };

  // The scan also summed an upper bound of the JSON size: when it is within the limit (the usual case),
  // the exact size (a JSON.stringify of the whole message) is not needed.
  const maxBytes = options.maxBytes ?? LIMITS.maxMessageBytes;
  const bytes = scan.exact || scan.bound > maxBytes ? jsonByteLength(input) : 0;
  if (bytes > maxBytes) {
    return {
      ok: false,
      errors: [{ path, message: `message is ${bytes} bytes of JSON; the limit is ${maxBytes} bytes per message` }],
    };
  }

  // 2. Short form and the endpoint's type.
  const errors: FieldError[] = [];
  let msg: Record<string, unknown> = input;
  let renames: Readonly<Record<string, string>> = {};
  if (options.shortForm && 'externalId' in input) {
    const expanded = expandShortForm(input, path, errors);
    msg = expanded.message;
    renames = expanded.renames;
  }
  if (options.type !== undefined) {
    if (msg['type'] === undefined || msg['type'] === null) msg = { ...msg, type: options.type };
    else if (msg['type'] !== options.type) {
      errors.push({ path: joinPath(path, 'type'), message: `must be "${options.type}" on this endpoint (or omitted)` });
    }
  }

  // 3. The schema.
  if (!validateEventSchema(msg)) {
    errors.push(...describeAjvErrors(validateEventSchema.errors ?? [], path));
  }

  // 4. Rules the schema cannot express.
  for (const f of ID_FIELDS) {
    const v = msg[f];
    if (typeof v === 'string' && v.length > 0 && isBlockedId(v)) {
      errors.push({ path: joinPath(path, f), message: `"${v}" is a placeholder, not an id; send a real id or omit the field` });
    }
  }
  for (const f of TIME_FIELDS) {
    const v = msg[f];
    if (typeof v === 'string' && Number.isNaN(Date.parse(v))) {
      const p = joinPath(path, f);
      if (!errors.some((e) => e.path === p)) {
        errors.push({ path: p, message: 'must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)' });
      }
    }
  }

  if (errors.length > 0) return { ok: false, errors: renameFields(errors, path, renames) };
  return { ok: true, message: toRawMessage(msg) };
}

/** State of one structure scan: errors, the path to the current value (joined only for an error), and
 *  an upper bound of the compact JSON size in UTF-8 bytes (`exact`: the bound cannot be trusted). */
interface Scan {
  readonly errors: FieldError[];
  readonly base: string;
  readonly segs: (string | number)[];
  bound: number;
  exact: boolean;
}

function scanPath(scan: Scan): string {
  let p = scan.base;
  for (const s of scan.segs) p = joinPath(p, s);
  return p;
}

/** Most UTF-8 bytes one UTF-16 unit of a string can take in JSON (a `\uXXXX` escape). */
const MAX_BYTES_PER_UNIT = 6;
/** Longest JSON text of a finite number (e.g. `-1.2345678901234567e-308`). */
const MAX_NUMBER_BYTES = 25;

function scanStructure(value: unknown, scan: Scan, depth: number, inArray: boolean): void {
  const errors = scan.errors;
  if (errors.length >= MAX_STRUCTURE_ERRORS) return;
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) {
        // JSON.parse turns 1e309 into Infinity, which JSON.stringify would silently write as null.
        errors.push({ path: scanPath(scan), message: 'must be a finite number (this one overflows to Infinity)' });
        return;
      }
      scan.bound += MAX_NUMBER_BYTES;
      return;
    case 'string':
      scan.bound += 2 + MAX_BYTES_PER_UNIT * value.length;
      return;
    case 'boolean':
      scan.bound += 5;
      return;
    case 'object':
      if (value === null) {
        scan.bound += 4;
        return;
      }
      break;
    case 'bigint':
      scan.exact = true; // JSON.stringify throws: keep that behaviour
      return;
    default:
      if (inArray) scan.bound += 4; // undefined, functions, symbols: null in arrays, omitted in objects
      return;
  }
  if (depth > LIMITS.maxDepth) {
    errors.push({ path: scanPath(scan), message: `is nested too deeply (more than ${LIMITS.maxDepth} levels)` });
    return;
  }
  // Only plain data is bounded by its keys: anything else (toJSON, boxed primitives, class instances)
  // is measured exactly.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') scan.exact = true;
  else if (!Array.isArray(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) scan.exact = true;
  }
  const segs = scan.segs;
  if (Array.isArray(value)) {
    scan.bound += 2 + value.length; // brackets and commas
    for (let i = 0; i < value.length; i++) {
      segs.push(i);
      scanStructure(value[i], scan, depth + 1, true);
      segs.pop();
    }
    return;
  }
  scan.bound += 2; // braces
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) {
      segs.push(key);
      errors.push({ path: scanPath(scan), message: `the key "${key}" is not allowed (prototype pollution)` });
      segs.pop();
      if (errors.length >= MAX_STRUCTURE_ERRORS) return;
      continue;
    }
    scan.bound += 4 + MAX_BYTES_PER_UNIT * key.length; // "key": and a comma
    segs.push(key);
    scanStructure((value as Record<string, unknown>)[key], scan, depth + 1, false);
    segs.pop();
  }
}

function expandShortForm(
  input: Record<string, unknown>,
  path: string,
  errors: FieldError[],
): { message: Record<string, unknown>; renames: Record<string, string> } {
  const { externalId, props, ...rest } = input;
  const renames: Record<string, string> = { userId: 'externalId' };
  if (rest['userId'] !== undefined) {
    errors.push({ path: joinPath(path, 'externalId'), message: 'cannot be combined with userId; send one of them' });
  }
  const message: Record<string, unknown> = { ...rest, userId: externalId };
  if (props !== undefined) {
    if (rest['properties'] !== undefined) {
      errors.push({ path: joinPath(path, 'props'), message: 'cannot be combined with properties; send one of them' });
    }
    message['properties'] = props;
    renames['properties'] = 'props';
  }
  return { message, renames };
}

/** Errors on the expanded message name the fields the client actually sent. */
function renameFields(errors: FieldError[], base: string, renames: Readonly<Record<string, string>>): FieldError[] {
  const entries = Object.entries(renames);
  if (entries.length === 0) return errors;
  return errors.map((e) => {
    for (const [from, to] of entries) {
      const p = joinPath(base, from);
      if (e.path === p || e.path.startsWith(`${p}.`) || e.path.startsWith(`${p}[`)) {
        return { path: joinPath(base, to) + e.path.slice(p.length), message: e.message };
      }
    }
    return e;
  });
}

// ---------------------------------------------------------------------------------------------------
// Fast path. Most messages are well formed: canonical UTC times, short ids, plain JSON data. For them
// the checks above are settled by a few comparisons, without ajv, the error bookkeeping of the
// structure scan or a second parse of every time. `acceptWellFormed` answers only "certainly valid"
// (every condition it checks implies the full path's acceptance, and it returns what the full path
// returns); anything else — including every invalid message — takes the full path, so what is rejected
// and how it is reported cannot differ.

/** Upper bound of the compact UTF-8 JSON size of plain JSON data, or -1 for anything the full path
 *  must look at (non-finite numbers, forbidden keys, too deep, non-plain objects, undefined …). */
function plainBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 2 + MAX_BYTES_PER_UNIT * value.length;
    case 'number':
      return Number.isFinite(value) ? MAX_NUMBER_BYTES : -1;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return -1;
  }
  if (value === null) return 4;
  if (depth > LIMITS.maxDepth || typeof (value as { toJSON?: unknown }).toJSON === 'function') return -1;
  if (Array.isArray(value)) {
    let n = 2 + value.length;
    for (let i = 0; i < value.length; i++) {
      const b = plainBound(value[i], depth + 1);
      if (b < 0) return -1;
      n += b;
    }
    return n;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return -1;
  let n = 2;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return -1;
    if (FORBIDDEN_KEYS.has(key)) return -1;
    const b = plainBound((value as Record<string, unknown>)[key], depth + 1);
    if (b < 0) return -1;
    n += 4 + MAX_BYTES_PER_UNIT * key.length + b;
  }
  return n;
}

/** Absent, or a string of `min`..`max` UTF-16 units (so of at most `max` code points: what the schema counts). */
function optionalText(v: unknown, min: number, max: number): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.length >= min && v.length <= max);
}

function optionalObject(v: unknown): boolean {
  return v === undefined || v === null || isPlainObject(v);
}

/** Absent, or a canonical UTC time (which the schema's date-time format and Date.parse both accept). */
function optionalTime(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && !Number.isNaN(parseCanonicalIso(v)));
}

/** An id the schema and the placeholder rule accept (absent is fine). */
function optionalId(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.length >= 1 && v.length <= LIMITS.maxIdLength && !isBlockedId(v));
}

/** The message as the full path would return it, when it is certainly valid; else null (exported for tests). */
export function acceptWellFormed(m: Record<string, unknown>, options: ValidateOptions): RawMessage | null {
  if (options.shortForm && 'externalId' in m) return null;
  const type = m['type'];
  if (!isEventType(type) || (options.type !== undefined && type !== options.type)) return null;
  const userId = m['userId'];
  const anonymousId = m['anonymousId'];
  if (typeof userId !== 'string' && typeof anonymousId !== 'string') return null;
  if (!optionalId(userId) || !optionalId(anonymousId) || !optionalId(m['previousId'])) return null;
  const groupId = m['groupId'];
  if (!optionalText(groupId, 1, LIMITS.maxIdLength) || !optionalText(m['messageId'], 1, LIMITS.maxIdLength)) return null;
  const event = m['event'];
  if (!optionalText(event, 1, LIMITS.maxEventNameLength) || !optionalText(m['name'], 0, LIMITS.maxEventNameLength)) return null;
  if (type === 'track' && typeof event !== 'string') return null;
  if (type === 'alias' && typeof m['previousId'] !== 'string') return null;
  if (type === 'group' && typeof groupId !== 'string') return null;
  if (!optionalObject(m['properties']) || !optionalObject(m['traits']) || !optionalObject(m['context'])) return null;
  if (!optionalTime(m['timestamp']) || !optionalTime(m['sentAt']) || !optionalTime(m['originalTimestamp']) || !optionalTime(m['receivedAt'])) {
    return null;
  }
  const bound = plainBound(m, 1);
  if (bound < 0 || bound > (options.maxBytes ?? LIMITS.maxMessageBytes)) return null;
  return toRawMessage(m);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return isPlainObject(v) ? v : undefined;
}

function toRawMessage(m: Record<string, unknown>): RawMessage {
  const type = m['type'];
  if (!isEventType(type)) throw new Error('unreachable: schema guarantees type'); // validated above
  // Straight-line (no per-call closure): this runs for every event the processor reads.
  const out: { -readonly [K in keyof RawMessage]: RawMessage[K] } = { type };
  let s: string | undefined;
  let o: Record<string, unknown> | undefined;
  if ((s = str(m['userId'])) !== undefined) out.userId = s;
  if ((s = str(m['anonymousId'])) !== undefined) out.anonymousId = s;
  if ((s = str(m['event'])) !== undefined) out.event = s;
  if ((s = str(m['name'])) !== undefined) out.name = s;
  if ((o = obj(m['properties'])) !== undefined) out.properties = o;
  if ((o = obj(m['traits'])) !== undefined) out.traits = o;
  if ((o = obj(m['context'])) !== undefined) out.context = o;
  if ((s = str(m['messageId'])) !== undefined) out.messageId = s;
  if ((s = str(m['timestamp'])) !== undefined) out.timestamp = s;
  if ((s = str(m['sentAt'])) !== undefined) out.sentAt = s;
  if ((s = str(m['originalTimestamp'])) !== undefined) out.originalTimestamp = s;
  if ((s = str(m['receivedAt'])) !== undefined) out.receivedAt = s;
  if ((s = str(m['previousId'])) !== undefined) out.previousId = s;
  if ((s = str(m['groupId'])) !== undefined) out.groupId = s;
  return out;
}
