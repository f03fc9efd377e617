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

const UNITS: readonly WindowUnit[] = ['d', 'h', 'm'];
const b36 = (n: number): string => n.toString(36);

function parse36(s: string): number | null {
  if (!/^-?[0-9a-z]+$/.test(s)) return null;
  const n = parseInt(s, 36);
  return Number.isSafeInteger(n) ? n : null;
}

function parseDec(s: string): number | null {
  if (s === '' || s.trim() !== s) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

const pair = (a: number | null, b: number | null): string => `${a === null ? '' : b36(a)},${b === null ? '' : b36(b)}`;

function parsePair(s: string): [number | null, number | null] | null {
  const parts = s.split(',');
  if (parts.length !== 2) return null;
  const a = parts[0] === '' ? null : parse36(parts[0]!);
  const b = parts[1] === '' ? null : parse36(parts[1]!);
  if ((parts[0] !== '' && a === null) || (parts[1] !== '' && b === null)) return null;
  return [a, b];
}

function encodeStats(s: NumericStats): string {
  return s.n === 1 && s.min === s.sum && s.max === s.sum ? `1,${s.sum}` : `${s.n},${s.sum},${s.min},${s.max}`;
}

function decodeStats(v: string): NumericStats | null {
  const p = v.split(',').map(parseDec);
  if (p.some((x) => x === null)) return null;
  if (p.length === 2 && p[0] === 1) return { n: 1, sum: p[1]!, min: p[1]!, max: p[1]! };
  if (p.length === 4) return { n: p[0]!, sum: p[1]!, min: p[2]!, max: p[3]! };
  return null;
}

function encodeTimed(at: number, value: Json): string {
  return `${b36(at)}|${JSON.stringify(value)}`;
}

function decodeTimed(v: string): { at: number; value: Json } | null {
  const i = v.indexOf('|');
  if (i < 0) return null;
  const at = parse36(v.slice(0, i));
  if (at === null) return null;
  try {
    return { at, value: JSON.parse(v.slice(i + 1)) as Json };
  } catch {
    return null;
  }
}

function eachBucket<T>(rec: UnitBuckets<T>, f: (unit: WindowUnit, bucket: number, v: T) => void): void {
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    for (const [k, v] of Object.entries(buckets)) f(unit, Number(k), v);
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
  for (const [sid, s] of Object.entries(state.series)) {
    if (s.firstSeen !== null || s.lastSeen !== null) f[`s:${sid}`] = pair(s.firstSeen, s.lastSeen);
    eachBucket(s.counts, (u, b, c) => (f[`c:${sid}:${u}${b36(b)}`] = String(c)));
    for (const [pid, p] of Object.entries(s.props)) {
      eachBucket(p.num, (u, b, st) => (f[`n:${sid}:${pid}:${u}${b36(b)}`] = encodeStats(st)));
      eachBucket(p.distinct, (u, b, list) => (f[`d:${sid}:${pid}:${u}${b36(b)}`] = list.join(',')));
      if (p.last !== null) f[`l:${sid}:${pid}`] = encodeTimed(p.last.at, p.last.value);
    }
  }
  for (const [k, v] of Object.entries(state.properties)) f[`a:${k}`] = encodeTimed(v.at, v.value);
  for (const [k, v] of Object.entries(state.traits)) f[`t:${k}`] = JSON.stringify(v);
  for (const [k, v] of Object.entries(state.segments)) f[`m:${k}`] = b36(v);
  for (const [k, v] of Object.entries(state.anonymousIds)) f[`x:${k}`] = b36(v);
  return f;
}

function unitBucket(s: string): { unit: WindowUnit; bucket: string } | null {
  const unit = s[0] as WindowUnit | undefined;
  if (unit === undefined || !UNITS.includes(unit)) return null;
  const b = parse36(s.slice(1));
  return b === null ? null : { unit, bucket: String(b) };
}

function setBucket<T>(rec: UnitBuckets<T>, ub: { unit: WindowUnit; bucket: string }, v: T): void {
  (rec[ub.unit] ??= {})[ub.bucket] = v;
}

function sortBuckets<T>(rec: UnitBuckets<T>): UnitBuckets<T> {
  const out: UnitBuckets<T> = {};
  for (const unit of UNITS) {
    const buckets = rec[unit];
    if (buckets === undefined) continue;
    const sorted = Object.keys(buckets).sort((a, b) => Number(a) - Number(b));
    out[unit] = Object.fromEntries(sorted.map((k) => [k, buckets[k]!]));
  }
  return out;
}

/**
 * Decodes hash fields into a state with the given id (an empty hash → `emptyProfile(id)`). Unknown or
 * malformed fields are skipped (forward compatible); never throws.
 */
export function decodeProfile(fields: Readonly<Record<string, string>>, id: string): ProfileState {
  const st = emptyProfile(id);
  const series = (sid: string): SeriesState => (st.series[sid] ??= { counts: {}, props: {}, firstSeen: null, lastSeen: null });
  const prop = (sid: string, pid: string): PropertyState => (series(sid).props[pid] ??= { num: {}, distinct: {}, last: null });
  for (const [name, value] of Object.entries(fields)) {
    const colon = name.indexOf(':');
    const tag = colon < 0 ? name : name.slice(0, colon);
    const rest = colon < 0 ? '' : name.slice(colon + 1);
    switch (tag) {
      case 'v': {
        const n = parseDec(value);
        if (n !== null && Number.isSafeInteger(n)) st.version = n;
        break;
      }
      case 'u':
        st.userId = value;
        break;
      case 'q': {
        const n = parseDec(value);
        if (n !== null && Number.isSafeInteger(n)) st.sequence = n;
        break;
      }
      case 'p':
        st.planId = value;
        break;
      case 'g': {
        const p = parsePair(value);
        if (p) [st.firstSeen, st.lastSeen] = p;
        break;
      }
      case 's': {
        const p = parsePair(value);
        if (p && rest !== '' && !rest.includes(':')) {
          const s = series(rest);
          [s.firstSeen, s.lastSeen] = p;
        }
        break;
      }
      case 'c': {
        const [sid, ubs, extra] = rest.split(':');
        const ub = ubs === undefined ? null : unitBucket(ubs);
        const n = parseDec(value);
        if (sid && ub && extra === undefined && n !== null) setBucket(series(sid).counts, ub, n);
        break;
      }
      case 'n':
      case 'd': {
        const [sid, pid, ubs, extra] = rest.split(':');
        const ub = ubs === undefined ? null : unitBucket(ubs);
        if (!sid || !pid || !ub || extra !== undefined) break;
        if (tag === 'n') {
          const stats = decodeStats(value);
          if (stats) setBucket(prop(sid, pid).num, ub, stats);
        } else {
          setBucket(prop(sid, pid).distinct, ub, value === '' ? [] : value.split(',').sort());
        }
        break;
      }
      case 'l': {
        const [sid, pid, extra] = rest.split(':');
        const t = decodeTimed(value);
        if (sid && pid && extra === undefined && t) prop(sid, pid).last = t;
        break;
      }
      case 'a': {
        const t = decodeTimed(value);
        if (t && rest !== '') st.properties[rest] = t;
        break;
      }
      case 't':
        try {
          st.traits[rest] = JSON.parse(value) as Json;
        } catch {
          // skip malformed
        }
        break;
      case 'm': {
        const n = parse36(value);
        if (n !== null) st.segments[rest] = n;
        break;
      }
      case 'x': {
        const n = parse36(value);
        if (n !== null) st.anonymousIds[rest] = n;
        break;
      }
      default:
        break; // unknown field: written by a newer version
    }
  }
  for (const s of Object.values(st.series)) {
    s.counts = sortBuckets(s.counts);
    for (const p of Object.values(s.props)) {
      p.num = sortBuckets(p.num);
      p.distinct = sortBuckets(p.distinct);
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
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) set[k] = v;
  for (const k of Object.keys(before)) if (!Object.prototype.hasOwnProperty.call(after, k)) del.push(k);
  return { set, del: del.sort() };
}
