import type { OutStream } from './io';

const NUMBER = new Intl.NumberFormat('en-US');

/** `1234` → `1,234`. */
export function formatCount(n: number): string {
  return NUMBER.format(Math.round(n));
}

/** Per-second rate, compact: `850/s`, `3.1k/s`, `1.2M/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0/s';
  if (perSecond < 1_000) return `${perSecond < 10 ? perSecond.toFixed(1).replace(/\.0$/, '') : Math.round(perSecond)}/s`;
  if (perSecond < 1_000_000) return `${trim1(perSecond / 1_000)}k/s`;
  return `${trim1(perSecond / 1_000_000)}M/s`;
}

function trim1(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1).replace(/\.0$/, '');
}

/** Whole percent done, rounded down (100 only when complete); an empty job is 100%. */
export function percentOf(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

export interface ProgressSnapshot {
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** What is counted, e.g. `events`. */
  readonly unit: string;
  /** Bar width in characters (default 30). */
  readonly width?: number;
}

/** `[#####.....] 45% 1,234/2,700 events 3.1k/s` (the TTY form, without the leading `\r`). */
export function formatProgress(s: ProgressSnapshot): string {
  const width = s.width ?? 30;
  const fraction = s.total <= 0 ? 1 : Math.max(0, Math.min(1, s.done / s.total));
  const filled = Math.round(fraction * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  return `[${bar}] ${formatPlain(s)}`;
}

/** `45% 1,234/2,700 events 3.1k/s` (the non-TTY form). */
export function formatPlain(s: ProgressSnapshot): string {
  const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
  return `${percentOf(s.done, s.total)}% ${formatCount(s.done)}/${formatCount(s.total)} ${s.unit} ${formatRate(rate)}`;
}

export interface ProgressOptions {
  readonly total: number;
  readonly unit: string;
  /** Prefix of the plain (non-TTY) lines, e.g. `events`. */
  readonly label?: string;
  readonly width?: number;
  /** Milliseconds clock (tests pass a fake). Default `performance.now`. */
  readonly now?: () => number;
  /** Least time between two TTY redraws (default 100 ms). */
  readonly redrawMs?: number;
}

/**
 * Reports progress on `stream`: on a TTY one line redrawn in place with `\r`; otherwise (CI logs,
 * pipes) a plain line each time another 10% is done, and at the end.
 */
export class ProgressReporter {
  private done = 0;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastLength = 0;
  private lastDecile = 0;
  private lastPrinted = -1;
  private finished = false;
  private readonly now: () => number;

  constructor(
    private readonly stream: OutStream,
    private readonly opts: ProgressOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
  }

  get count(): number {
    return this.done;
  }

  /** Time since the reporter was created, in ms. */
  elapsedMs(): number {
    return this.now() - this.started;
  }

  /** Adds `n` finished items and redraws when due. */
  add(n: number): void {
    this.done += n;
    this.render(false);
  }

  /** Draws the final state (and ends the TTY line). Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.render(true);
    this.finished = true;
  }

  private snapshot(): ProgressSnapshot {
    return { done: this.done, total: this.opts.total, elapsedMs: this.elapsedMs(), unit: this.opts.unit, ...(this.opts.width ? { width: this.opts.width } : {}) };
  }

  private render(final: boolean): void {
    if (this.finished) return;
    if (this.stream.isTTY) {
      const t = this.now();
      if (!final && t - this.lastDraw < (this.opts.redrawMs ?? 100)) return;
      this.lastDraw = t;
      const text = formatProgress(this.snapshot());
      // Pad over a longer previous line instead of using terminal escapes.
      this.stream.write(`\r${text.padEnd(this.lastLength)}${final ? '\n' : ''}`);
      this.lastLength = text.length;
      return;
    }
    // Plain lines: one whenever another 10% is done; at the end, the final state unless just printed.
    const decile = Math.floor(percentOf(this.done, this.opts.total) / 10);
    if (decile > this.lastDecile || (final && this.done !== this.lastPrinted)) {
      this.lastDecile = Math.max(decile, this.lastDecile);
      this.lastPrinted = this.done;
      const prefix = this.opts.label ? `${this.opts.label}: ` : '';
      this.stream.write(`${prefix}${formatPlain(this.snapshot())}\n`);
    }
  }
}
