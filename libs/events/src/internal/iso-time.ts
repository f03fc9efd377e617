/**
 * Fast twins of `Date.parse` and `Date#toISOString` for the canonical UTC form
 * `YYYY-MM-DDTHH:MM:SS.sssZ` — what ingest writes and what every SDK sends — on the processor's hot
 * path (every event is parsed and formatted). Anything else goes to the built-ins, so results are
 * always identical to them.
 */

const MS_PER_DAY = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from here on toISOString writes a six-digit, signed year. */
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_800_000;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Digits at `s[i]`, `s[i+1]` … as a number, or -1 when one is not an ASCII digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// The last string parsed: an event's time is read by validation, normalization and the engine in turn.
let lastParsed = '';
let lastParsedMs = NaN;

/**
 * Milliseconds of a canonical `YYYY-MM-DDTHH:MM:SS.sssZ` string with a real date and time of day
 * (what `Date.parse` returns for it), or NaN when `s` is not exactly in that form.
 */
export function parseCanonicalIso(s: string): number {
  if (s === lastParsed) return lastParsedMs;
  const t = parseCanonical(s);
  lastParsed = s;
  lastParsedMs = t;
  return t;
}

function parseCanonical(s: string): number {
  if (
    s.length !== 24 ||
    s.charCodeAt(4) !== 45 || // -
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 || // T
    s.charCodeAt(13) !== 58 || // :
    s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 || // .
    s.charCodeAt(23) !== 90 // Z
  ) {
    return NaN;
  }
  return canonicalMs(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2), digits(s, 20, 3));
}

/** Digits at `b[i]`, `b[i+1]` … as a number, or -1 when one is not an ASCII digit. */
function byteDigits(b: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = b[k]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** `parseCanonicalIso` of the `len` bytes at `b[at]` (ASCII), without making a string of them. */
export function parseCanonicalIsoBytes(b: Uint8Array, at: number, len: number): number {
  if (len !== 24 || b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 10] !== 84 || b[at + 13] !== 58 || b[at + 16] !== 58 || b[at + 19] !== 46 || b[at + 23] !== 90) {
    return NaN;
  }
  return canonicalMs(
    byteDigits(b, at, 4),
    byteDigits(b, at + 5, 2),
    byteDigits(b, at + 8, 2),
    byteDigits(b, at + 11, 2),
    byteDigits(b, at + 14, 2),
    byteDigits(b, at + 17, 2),
    byteDigits(b, at + 20, 3),
  );
}

/** The instant of a canonical time's fields (-1: not digits), or NaN when they are not a real date and time of day. */
function canonicalMs(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number): number {
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return NaN;
  if (d > (mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo]!)) return NaN;
  return daysFromCivil(y, mo, d) * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/** `Date.parse(s)`, faster for the canonical form. */
export function parseIsoTime(s: string): number {
  const t = parseCanonicalIso(s);
  return t === t ? t : Date.parse(s);
}

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, i) => (i < 10 ? `00${i}` : i < 100 ? `0${i}` : String(i)));

// Events of one batch mostly fall on a few days: the `YYYY-MM-DDT` part of the last two days is kept.
let dayA = NaN;
let prefixA = '';
let dayB = NaN;
let prefixB = '';

function dayPrefix(day: number): string {
  if (day === dayA) return prefixA;
  if (day === dayB) return prefixB;
  const p = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
  dayB = dayA;
  prefixB = prefixA;
  dayA = day;
  prefixA = p;
  return p;
}

// The last instant formatted: the receive times of one batch are often the same millisecond.
let lastMs = NaN;
let lastText = '';

/** `new Date(ms).toISOString()`, faster for integral instants in years 1970–9999. */
export function formatIsoTime(ms: number): string {
  if (ms === lastMs) return lastText;
  if (!(ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR_MS) || Math.floor(ms) !== ms) return new Date(ms).toISOString();
  const day = Math.floor(ms / MS_PER_DAY);
  let r = ms - day * MS_PER_DAY;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const mi = Math.floor(r / 60_000);
  r -= mi * 60_000;
  const sec = Math.floor(r / 1000);
  const text = `${dayPrefix(day)}${PAD2[h]}:${PAD2[mi]}:${PAD2[sec]}.${PAD3[r - sec * 1000]}Z`;
  lastMs = ms;
  lastText = text;
  return text;
}
