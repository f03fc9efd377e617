/** Edit distance with an upper bound: returns `max + 1` as soon as the distance must exceed `max`. */
export function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a === b) return 0;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] ?? max + 1;
}

/** Candidates considered per suggestion (bounds the time spent on huge trait lists). */
const MAX_CANDIDATES = 5000;

/** The closest candidate to `name`, if it is close enough to be a plausible typo. */
export function closest(name: string, candidates: Iterable<string>): string | null {
  const max = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | null = null;
  let bestD = max + 1;
  let n = 0;
  for (const c of candidates) {
    if (++n > MAX_CANDIDATES) break;
    if (c === name) continue;
    const d = levenshtein(name.toLowerCase(), c.toLowerCase(), Math.min(max, bestD));
    if (d < bestD || (d === bestD && best !== null && c < best)) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= max ? best : null;
}

/** `"; did you mean 'x'?"` or the empty string. */
export function didYouMean(name: string, candidates: Iterable<string>, format: (s: string) => string = (s) => `'${s}'`): string {
  const c = closest(name, candidates);
  return c === null ? '' : `; did you mean ${format(c)}?`;
}
