/** Small statistics helpers shared by the benchmark scenarios. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function range(xs: readonly number[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return xs.length === 0 ? [NaN, NaN] : [min, max];
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Marks the warm-up call of `interleaved` (its `rep` argument); measured repetitions get 0, 1, … */
export const WARMUP = -1;

/**
 * Runs `a` and `b` alternately `reps` times after one warm-up each (called with `rep` = WARMUP, results
 * dropped; `warmup: false` when every run warms itself up), so machine noise hits both alike: ab, ba,
 * ab, … Returns every repetition's result for both.
 */
export async function interleaved<A, B>(
  reps: number,
  a: (rep: number) => Promise<A>,
  b: (rep: number) => Promise<B>,
  opts: { warmup?: boolean } = {},
): Promise<{ a: A[]; b: B[] }> {
  if (opts.warmup !== false) {
    await a(WARMUP);
    await b(WARMUP);
  }
  const out = { a: [] as A[], b: [] as B[] };
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      out.a.push(await a(i));
      out.b.push(await b(i));
    } else {
      out.b.push(await b(i));
      out.a.push(await a(i));
    }
  }
  return out;
}

/** Median and min–max of repetitions. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summary(xs: readonly number[]): Summary {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN };
  const [min, max] = range(xs);
  return { median: median(xs), min, max };
}

/**
 * Per-repetition ratios a[i] / b[i] (each pair ran back to back, so drift mostly cancels) summarized:
 * the median is the figure to report, min–max its spread.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): Summary {
  if (a.length !== b.length) throw new Error(`pairedRatios: ${a.length} vs ${b.length} repetitions`);
  return summary(a.map((x, i) => x / b[i]!));
}
