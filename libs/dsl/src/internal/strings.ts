/** Decoding of string literals: `"..."` or `'...'` with escapes \" \' \\ \/ \b \f \n \r \t \uXXXX. */

export interface StringProblem {
  /** Offset inside the token image. */
  readonly at: number;
  readonly length: number;
  readonly message: string;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const HEX4 = /^[0-9a-fA-F]{4}$/;

/** Decodes a (possibly malformed) string token image. Never throws; problems are returned. */
export function decodeString(image: string): { value: string; problems: StringProblem[] } {
  const quote = image[0] ?? '"';
  const problems: StringProblem[] = [];
  const closed = image.length >= 2 && image[image.length - 1] === quote && !endsWithOddBackslashes(image);
  const body = closed ? image.slice(1, -1) : image.slice(1);
  if (!closed) problems.push({ at: 0, length: image.length, message: 'unterminated string: missing closing quote' });
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) break;
    if (next === 'u') {
      const hex = body.slice(i + 2, i + 6);
      if (HEX4.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16));
        i += 5;
      } else {
        problems.push({ at: i + 1, length: 2 + hex.length, message: 'invalid escape: \\u needs 4 hex digits' });
        i += 1;
      }
      continue;
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple === undefined) {
      problems.push({ at: i + 1, length: 2, message: `invalid escape '\\${next}'` });
    } else {
      out += simple;
    }
    i += 1;
  }
  return { value: out, problems };
}

function endsWithOddBackslashes(image: string): boolean {
  // `"abc\"` is unterminated: the last quote is escaped.
  let n = 0;
  for (let i = image.length - 2; i >= 1 && image[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/** Canonical double-quoted form; JSON escapes are a subset of ours, so this always re-lexes. */
export function quoteString(value: string): string {
  return JSON.stringify(value);
}
