/**
 * Profile codec: one Redis hash per profile, short field names, one field per bucket, small values
 * (so Redis keeps the hash in its compact listpack encoding: ≤ 128 fields and values ≤ 64 bytes by
 * default). Layout (ms instants and bucket indices in base 36; `<u>` is the unit letter d/h/m):
 *
 * | field                     | value                                   | state                          |
 * |---------------------------|-----------------------------------------|--------------------------------|
 * | `v`                       | version (decimal)                       | version                        |
 * | `u`                       | userId (absent: null)                   | userId                         |
 * | `q`                       | sequence (decimal; absent: 0)           | sequence                       |
 * | `p`                       | planId (absent: null)                   | planId                         |
 * | `g`                       | `<first>,<last>` (empty part: null)     | firstSeen, lastSeen            |
 * | `s:<sid>`                 | `<first>,<last>`                        | series first/last seen         |
 * | `c:<sid>:<u><bucket>`     | count (decimal)                         | series counts                  |
 * | `n:<sid>:<pid>:<u><bucket>` | `n,sum` if n = 1, else `n,sum,min,max` | property numeric stats        |
 * | `d:<sid>:<pid>:<u><bucket>` | distinct hashes, comma-separated      | property distinct values       |
 * | `l:<sid>:<pid>`           | `<at>\|<json>`                          | property last value            |
 * | `a:<pathKey>`             | `<at>\|<json>`                          | profile property               |
 * | `t:<traitKey>`            | json                                    | trait value                    |
 * | `m:<segmentKey>`          | entered-at                              | membership                     |
 * | `x:<anonymousId>`         | linked-at                               | linked anonymous id            |
 *
 * `sid`/`pid` are ≤ 7-char hashes of the series spec / property path (stable across plan changes).
 * Values that can exceed 64 bytes: distinct lists of more than ~8 values, long JSON values (last,
 * profile properties, traits), sums with long decimal expansions. The field names must not change
 * without a migration: stored profiles are read with them.
 */
import type { Json } from '@tinycdp/common';
import type { WindowUnit } from '@tinycdp/dsl';
import type { NumericStats, ProfileState, PropertyState, SeriesState, UnitBuckets } from './state';
import { emptyProfile } from './state';

// Hot path (every profile the processor touches is decoded and re-encoded): no regexes, no split, no
// per-field closures; base 36 through a digit-pair table (Number#toString(36) is slow for ms instants).

const UNITS: readonly WindowUnit[] = ['d', 'h', 'm'];
const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';
const PAIRS: readonly string[] = Array.from({ length: 36 * 36 }, (_, i) => DIGITS[Math.floor(i / 36)]! + DIGITS[i % 36]!);

/** `n.toString(36)`, faster for non-negative safe integers (the only values the codec writes). */
function b36(n: number): string {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return n.toString(36);
  if (n < 36) return DIGITS[n]!;
  let s = '';
  while (n >= 1296) {
    const q = Math.floor(n / 1296);
    s = PAIRS[n - q * 1296]! + s;
    n = q;
  }
  return (n < 36 ? DIGITS[n]! : PAIRS[n]!) + s;
}

/** Base-36 text of bucket keys (decimal strings); bucket indices repeat across profiles, so cache. */
const bucketText = new Map<string, string>();
function b36Key(key: string): string {
  let t = bucketText.get(key);
  if (t === undefined) {
    t = b36(Number(key));
    if (bucketText.size >= 4096) bucketText.clear();
    bucketText.set(key, t);
  }
  return t;
}

/** Value of a base-36 digit char code (0-9, a-z), or -1. */
function digit36(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  return -1;
}

/** `s[from, to)` as `-?[0-9a-z]+` in base 36, when a safe integer; else null. */
function parse36(s: string, from = 0, to = s.length): number | null {
  let i = from;
  const neg = i < to && s.charCodeAt(i) === 45; // '-'
  if (neg) i++;
  if (i >= to) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = digit36(s.charCodeAt(i));
    if (d < 0) return null;
    n = n * 36 + d;
  }
  // Rounding is monotone, so a value beyond 2^53 never comes out as a safe integer.
  if (!Number.isSafeInteger(n)) return null;
  return neg ? -n : n;
}

function isSpace(c: number): boolean {
  // What String#trim strips: ASCII whitespace and the Unicode space separators, BOM, line terminators.
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** A decimal (as `Number` reads it) with no surrounding whitespace, finite; else null. */
function parseDec(s: string): number | null {
  if (s.length > 0 && s.length <= 15) {
    // Fast path: plain digits (counts, versions), exactly what Number returns for them.
    let n = 0;
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
    }
    if (i === s.length) return n;
  }
  if (s === '' || isSpace(s.charCodeAt(0)) || isSpace(s.charCodeAt(s.length - 1))) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function pair(a: number | null, b: number | null): string {
  return `${a === null ? '' : b36(a)},${b === null ? '' : b36(b)}`;
}

/** `<a>,<b>` with empty parts as null; null when malformed. */
function parsePair(s: string): [number | null, number | null] | null {
  const c = s.indexOf(',');
  if (c < 0 || s.indexOf(',', c + 1) >= 0) return null;
  let a: number | null = null;
  let b: number | null = null;
  if (c > 0) {
    a = parse36(s, 0, c);
    if (a === null) return null;
  }
  if (c + 1 < s.length) {
    b = parse36(s, c + 1);
    if (b === null) return null;
  }
  return [a, b];
}

function encodeStats(s: NumericStats): string {
  return s.n === 1 && s.min === s.sum && s.max === s.sum ? `1,${s.sum}` : `${s.n},${s.sum},${s.min},${s.max}`;
}

/** `n,sum` (n = 1) or `n,sum,min,max`; null when malformed. */
function decodeStats(v: string): NumericStats | null {
  const c1 = v.indexOf(',');
  if (c1 < 0) return null;
  const c2 = v.indexOf(',', c1 + 1);
  if (c2 < 0) {
    const n = c1 === 1 && v.charCodeAt(0) === 49 ? 1 : parseDec(v.slice(0, c1));
    const sum = parseDec(v.slice(c1 + 1));
    return n === 1 && sum !== null ? { n: 1, sum, min: sum, max: sum } : null;
  }
  const c3 = v.indexOf(',', c2 + 1);
  if (c3 < 0 || v.indexOf(',', c3 + 1) >= 0) return null;
  const n = parseDec(v.slice(0, c1));
  const sum = parseDec(v.slice(c1 + 1, c2));
  const min = parseDec(v.slice(c2 + 1, c3));
  const max = parseDec(v.slice(c3 + 1));
  return n === null || sum === null || min === null || max === null ? null : { n, sum, min, max };
}

function encodeTimed(at: number, value: Json): string {
  return `${b36(at)}|${JSON.stringify(value)}`;
}

function decodeTimed(v: string): { at: number; value: Json } | null {
  const i = v.indexOf('|');
  if (i < 0) return null;
  const at = parse36(v, 0, i);
  if (at === null) return null;
  try {
    return { at, value: JSON.parse(v.slice(i + 1)) as Json };
  } catch {
    return null;
  }
}

/**
 * Field names by bucket key under one prefix (`c:<sid>:d`): bucket indices repeat across profiles, so
 * the names are built (and interned as property keys) once. Bounded: a full table starts over.
 */
const fieldNames = new Map<string, Map<string, string>>();
function namesUnder(prefix: string): Map<string, string> {
  let m = fieldNames.get(prefix);
  if (m === undefined) {
    if (fieldNames.size >= 256) fieldNames.clear();
    m = new Map();
    fieldNames.set(prefix, m);
  }
  return m;
}
function fieldName(names: Map<string, string>, prefix: string, key: string): string {
  let n = names.get(key);
  if (n === undefined) {
    if (names.size >= 512) names.clear();
    n = prefix + b36Key(key);
    names.set(key, n);
  }
  return n;
}

function encodeCounts(f: Record<string, string>, prefix: string, rec: UnitBuckets<number>): void {
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    const p = prefix + unit;
    const names = namesUnder(p);
    for (const k in buckets) f[fieldName(names, p, k)] = String(buckets[k]);
  }
}

function encodeNum(f: Record<string, string>, prefix: string, rec: UnitBuckets<NumericStats>): void {
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    const p = prefix + unit;
    const names = namesUnder(p);
    for (const k in buckets) f[fieldName(names, p, k)] = encodeStats(buckets[k]!);
  }
}

function encodeDistinct(f: Record<string, string>, prefix: string, rec: UnitBuckets<string[]>): void {
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    const p = prefix + unit;
    const names = namesUnder(p);
    for (const k in buckets) f[fieldName(names, p, k)] = buckets[k]!.join(',');
  }
}

/** Encodes a state into hash fields (see the layout above). Pure; never throws. */
export function encodeProfile(state: ProfileState): Record<string, string> {
  const f: Record<string, string> = {};
  f.v = String(state.version);
  if (state.userId !== null) f.u = state.userId;
  if (state.sequence !== 0) f.q = String(state.sequence);
  if (state.planId !== null) f.p = state.planId;
  if (state.firstSeen !== null || state.lastSeen !== null) f.g = pair(state.firstSeen, state.lastSeen);
  for (const sid of Object.keys(state.series)) {
    const s = state.series[sid]!;
    if (s.firstSeen !== null || s.lastSeen !== null) f[`s:${sid}`] = pair(s.firstSeen, s.lastSeen);
    encodeCounts(f, `c:${sid}:`, s.counts);
    for (const pid of Object.keys(s.props)) {
      const p = s.props[pid]!;
      const ids = `${sid}:${pid}:`;
      encodeNum(f, `n:${ids}`, p.num);
      encodeDistinct(f, `d:${ids}`, p.distinct);
      if (p.last !== null) f[`l:${sid}:${pid}`] = encodeTimed(p.last.at, p.last.value);
    }
  }
  for (const k of Object.keys(state.properties)) {
    const v = state.properties[k]!;
    f[`a:${k}`] = encodeTimed(v.at, v.value);
  }
  for (const k of Object.keys(state.traits)) f[`t:${k}`] = JSON.stringify(state.traits[k]);
  for (const k of Object.keys(state.segments)) f[`m:${k}`] = b36(state.segments[k]!);
  for (const k of Object.keys(state.anonymousIds)) f[`x:${k}`] = b36(state.anonymousIds[k]!);
  return f;
}

function unitOf(c: number): WindowUnit | null {
  return c === 100 ? 'd' : c === 104 ? 'h' : c === 109 ? 'm' : null;
}

function seriesOf(st: ProfileState, sid: string): SeriesState {
  return (st.series[sid] ??= { counts: {}, props: {}, firstSeen: null, lastSeen: null });
}

function propOf(st: ProfileState, sid: string, pid: string): PropertyState {
  return (seriesOf(st, sid).props[pid] ??= { num: {}, distinct: {}, last: null });
}

function sortBuckets<T>(rec: UnitBuckets<T>): UnitBuckets<T> {
  const out: UnitBuckets<T> = {};
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    const sorted = Object.keys(buckets).sort((a, b) => Number(a) - Number(b));
    const o: Record<string, T> = {};
    for (const k of sorted) o[k] = buckets[k]!;
    out[unit] = o;
  }
  return out;
}

/**
 * Decodes hash fields into a state with the given id (an empty hash → `emptyProfile(id)`). Unknown or
 * malformed fields are skipped (forward compatible); never throws.
 */
export function decodeProfile(fields: Readonly<Record<string, string>>, id: string): ProfileState {
  const st = emptyProfile(id);
  // Bucket keys are set as numbers: non-negative ones are array indices, which objects already
  // enumerate in ascending order; only negative indices (instants before 1970) need a sort pass.
  let unsorted = false;
  // The previous bucket record and its field name prefix (up to the unit letter).
  let last: { rec: Record<string, unknown>; prefix: string } | null = null;
  for (const name of Object.keys(fields)) {
    const value = fields[name]!;
    const colon = name.indexOf(':');
    if (colon < 0 ? name.length !== 1 : colon !== 1) continue; // unknown field: written by a newer version
    const rest = colon < 0 ? '' : name.slice(2);
    switch (name.charCodeAt(0)) {
      case 118: {
        // v
        const n = parseDec(value);
        if (n !== null && Number.isSafeInteger(n)) st.version = n;
        break;
      }
      case 117: // u
        st.userId = value;
        break;
      case 113: {
        // q
        const n = parseDec(value);
        if (n !== null && Number.isSafeInteger(n)) st.sequence = n;
        break;
      }
      case 112: // p
        st.planId = value;
        break;
      case 103: {
        // g
        const p = parsePair(value);
        if (p) [st.firstSeen, st.lastSeen] = p;
        break;
      }
      case 115: {
        // s
        const p = parsePair(value);
        if (p && rest !== '' && rest.indexOf(':') < 0) {
          const s = seriesOf(st, rest);
          [s.firstSeen, s.lastSeen] = p;
        }
        break;
      }
      case 99: // c:<sid>:<u><bucket>
      case 110: // n:<sid>:<pid>:<u><bucket>
      case 100: {
        // d:<sid>:<pid>:<u><bucket>
        const tag = name.charCodeAt(0);
        // Fields of one record come one after another: reuse the previous record when the prefix
        // (up to the unit letter) is the same.
        let unitAt: number;
        if (last !== null && name.startsWith(last.prefix)) {
          unitAt = last.prefix.length - 1;
        } else {
          last = null;
          const c1 = name.indexOf(':', 2);
          if (c1 <= 2) break;
          if (tag === 99) {
            unitAt = c1 + 1;
          } else {
            const c2 = name.indexOf(':', c1 + 1);
            if (c2 <= c1 + 1) break;
            unitAt = c2 + 1;
          }
          if (name.indexOf(':', unitAt) >= 0) break;
        }
        const unit = unitOf(name.charCodeAt(unitAt));
        const b = unit === null ? null : parse36(name, unitAt + 1);
        if (b === null) break;
        let stats: NumericStats | null = null;
        let count: number | null = null;
        if (tag === 99) {
          count = parseDec(value);
          if (count === null) break;
        } else if (tag === 110) {
          stats = decodeStats(value);
          if (stats === null) break;
        }
        if (last === null) {
          const c1 = name.indexOf(':', 2);
          const sid = name.slice(2, c1);
          let units: UnitBuckets<unknown>;
          if (tag === 99) units = seriesOf(st, sid).counts;
          else {
            const ps = propOf(st, sid, name.slice(c1 + 1, unitAt - 1));
            units = tag === 110 ? ps.num : ps.distinct;
          }
          last = { rec: (units[unit!] ??= {}), prefix: name.slice(0, unitAt + 1) };
        }
        const rec = last.rec;
        if (b < 0 || b > 4294967294) unsorted = true;
        if (tag === 99) rec[b] = count;
        else if (tag === 110) rec[b] = stats;
        else rec[b] = value === '' ? [] : value.split(',').sort();
        break;
      }
      case 108: {
        // l:<sid>:<pid>
        const c1 = rest.indexOf(':');
        if (c1 <= 0 || c1 === rest.length - 1 || rest.indexOf(':', c1 + 1) >= 0) break;
        const t = decodeTimed(value);
        if (t) propOf(st, rest.slice(0, c1), rest.slice(c1 + 1)).last = t;
        break;
      }
      case 97: {
        // a
        const t = decodeTimed(value);
        if (t && rest !== '') st.properties[rest] = t;
        break;
      }
      case 116: // t
        try {
          st.traits[rest] = JSON.parse(value) as Json;
        } catch {
          // skip malformed
        }
        break;
      case 109: {
        // m
        const n = parse36(value);
        if (n !== null) st.segments[rest] = n;
        break;
      }
      case 120: {
        // x
        const n = parse36(value);
        if (n !== null) st.anonymousIds[rest] = n;
        break;
      }
      default:
        break; // unknown field: written by a newer version
    }
  }
  if (unsorted) {
    for (const sid of Object.keys(st.series)) {
      const s = st.series[sid]!;
      s.counts = sortBuckets(s.counts);
      for (const pid of Object.keys(s.props)) {
        const p = s.props[pid]!;
        p.num = sortBuckets(p.num);
        p.distinct = sortBuckets(p.distinct);
      }
    }
  }
  return st;
}

/** Fields to HSET and to HDEL to turn the `before` hash into `after` (unchanged fields omitted). */
export function encodedFieldsDiff(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): { set: Record<string, string>; del: string[] } {
  const set: Record<string, string> = {};
  const del: string[] = [];
  for (const k of Object.keys(after)) {
    const v = after[k]!;
    if (before[k] !== v) set[k] = v;
  }
  for (const k of Object.keys(before)) if (!Object.prototype.hasOwnProperty.call(after, k)) del.push(k);
  return { set, del: del.sort() };
}
