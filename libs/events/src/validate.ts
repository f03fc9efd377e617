import { isPlainObject } from '@tinycdp/common';
import type { EventType, FieldError } from './types';
import type { RawMessage } from './message';
import { isEventType } from './message';
import { isBlockedId } from './identity';
import { LIMITS, jsonByteLength } from './limits';
import { validateEventSchema } from './internal/schemas';
import { describeAjvErrors, joinPath } from './internal/describe';

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

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return isPlainObject(v) ? v : undefined;
}

function toRawMessage(m: Record<string, unknown>): RawMessage {
  const type = m['type'];
  if (!isEventType(type)) throw new Error('unreachable: schema guarantees type'); // validated above
  const out: { -readonly [K in keyof RawMessage]: RawMessage[K] } = { type };
  const set = <K extends keyof RawMessage>(k: K, v: RawMessage[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('userId', str(m['userId']));
  set('anonymousId', str(m['anonymousId']));
  set('event', str(m['event']));
  set('name', str(m['name']));
  set('properties', obj(m['properties']));
  set('traits', obj(m['traits']));
  set('context', obj(m['context']));
  set('messageId', str(m['messageId']));
  set('timestamp', str(m['timestamp']));
  set('sentAt', str(m['sentAt']));
  set('originalTimestamp', str(m['originalTimestamp']));
  set('receivedAt', str(m['receivedAt']));
  set('previousId', str(m['previousId']));
  set('groupId', str(m['groupId']));
  return out;
}
