/**
 * Window math: pure functions over UTC bucket indices. A bucket of unit u holds the instants
 * [i·|u|, (i+1)·|u|) where |u| is one minute, hour or day in ms, so buckets align to UTC minutes,
 * hours and midnights (the Unix epoch has no leap seconds, so every UTC day is exactly 86 400 000 ms).
 *
 * A window `_N<u>` at instant `now` is the bucket containing `now` and the N-1 buckets before it:
 * `_1d` at 23:59 holds today only; at 00:00:00.000 UTC yesterday's events have left it. Buckets
 * after `now` (events with a future timestamp) count as inside the window until they age out.
 */
import { assertNever } from '@tinycdp/common';
import type { Window, WindowUnit } from '@tinycdp/dsl';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Milliseconds per bucket unit. Must not change: stored bucket indices depend on it. */
export const UNIT_MS: Readonly<Record<WindowUnit, number>> = Object.freeze({
  m: MINUTE_MS,
  h: HOUR_MS,
  d: DAY_MS,
});

/** Bucket index of an instant: floor(ms / unitMs). Works for instants before 1970 too. */
export function bucketIndex(ms: number, unit: WindowUnit): number {
  return Math.floor(ms / UNIT_MS[unit]);
}

/** First instant (ms) of a bucket. */
export function bucketStart(index: number, unit: WindowUnit): number {
  return index * UNIT_MS[unit];
}

/** Length of a window in ms (N units). */
export function windowMs(window: Window): number {
  return window.n * UNIT_MS[window.unit];
}

/** Inclusive bucket range of a window at `now`: [current - n + 1, current]. */
export function windowRange(window: Window, now: number): { from: number; to: number } {
  const to = bucketIndex(now, window.unit);
  return { from: to - window.n + 1, to };
}

/** First instant covered by the window at `now` (start of its oldest bucket). */
export function windowStartMs(window: Window, now: number): number {
  return bucketStart(windowRange(window, now).from, window.unit);
}

/** True when bucket `index` (of the window's unit) counts in the window at `now`. */
export function inWindow(index: number, window: Window, now: number): boolean {
  return index >= windowRange(window, now).from;
}

/** The instant a bucket leaves a window: when `current - n + 1` passes it, i.e. start of bucket i+n. */
export function bucketLeavesAt(index: number, window: Window): number {
  return bucketStart(index + window.n, window.unit);
}

/** Oldest bucket index still kept when the longest window of `unit` is `longestN` buckets. */
export function oldestKeptBucket(unit: WindowUnit, longestN: number, now: number): number {
  return bucketIndex(now, unit) - longestN + 1;
}

/**
 * Drops buckets older than the longest window (`longestN` buckets of `unit`) at `now`.
 * Returns a new record (keys are bucket indices as strings); the input is not modified.
 */
export function trimBuckets<T>(
  buckets: Readonly<Record<string, T>>,
  unit: WindowUnit,
  longestN: number,
  now: number,
): Record<string, T> {
  const oldest = oldestKeptBucket(unit, longestN, now);
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(buckets)) {
    if (Number(k) >= oldest) out[k] = v;
  }
  return out;
}

/**
 * Next instant > now at which an aggregate over `window` can change only because time passed: the
 * moment the oldest non-empty bucket still inside the window leaves it. `null` when no non-empty
 * bucket is inside the window (the value stays at its empty value until a new event arrives).
 */
export function windowNextChangeAt(
  nonEmptyBuckets: Iterable<number>,
  window: Window,
  now: number,
): number | null {
  const { from } = windowRange(window, now);
  let oldest: number | null = null;
  for (const b of nonEmptyBuckets) {
    if (b >= from && (oldest === null || b < oldest)) oldest = b;
  }
  return oldest === null ? null : bucketLeavesAt(oldest, window);
}

/** Whole units elapsed since `since` (floor), clamped at 0 for instants in the future. */
export function elapsedUnits(since: number, now: number, unitMs: number): number {
  return Math.max(0, Math.floor((now - since) / unitMs));
}

/** `last_seen_minutes_ago`: whole minutes since `since` (floor), never negative. */
export function minutesAgo(since: number, now: number): number {
  return elapsedUnits(since, now, MINUTE_MS);
}

/** `first_seen_days_ago`: whole 24h periods since `since` (floor), never negative. */
export function daysAgo(since: number, now: number): number {
  return elapsedUnits(since, now, DAY_MS);
}

/** Next instant > now at which `elapsedUnits(since, ·, unitMs)` increases. */
export function elapsedNextChangeAt(since: number, now: number, unitMs: number): number {
  if (now < since) return since + unitMs;
  return since + (Math.floor((now - since) / unitMs) + 1) * unitMs;
}

/** A time-dependent input, for `nextChangeAt`. */
export type TimeInput =
  | { readonly kind: 'window'; readonly window: Window; readonly buckets: Iterable<number> }
  | { readonly kind: 'minutes_ago'; readonly since: number | null }
  | { readonly kind: 'days_ago'; readonly since: number | null };

/**
 * Next instant > now at which the value of a time-dependent input can change only because time
 * passed; `null` when it cannot change without a new event.
 */
export function nextChangeAt(input: TimeInput, now: number): number | null {
  switch (input.kind) {
    case 'window':
      return windowNextChangeAt(input.buckets, input.window, now);
    case 'minutes_ago':
      return input.since === null ? null : elapsedNextChangeAt(input.since, now, MINUTE_MS);
    case 'days_ago':
      return input.since === null ? null : elapsedNextChangeAt(input.since, now, DAY_MS);
    default:
      return assertNever(input, 'time input');
  }
}
