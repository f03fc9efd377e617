export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

/**
 * Polls `fn` until it returns a truthy value without throwing, and returns that value.
 * Use it instead of fixed sleeps whenever a test waits for an asynchronous effect.
 * @throws Error after `timeoutMs`, naming `message` and the last error or value seen (as `cause`).
 */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastWasError = false;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = value;
      lastWasError = false;
    } catch (err) {
      last = err;
      lastWasError = true;
    }
    if (Date.now() >= deadline) {
      const detail = lastWasError
        ? `last error: ${last instanceof Error ? last.message : String(last)}`
        : `last value: ${JSON.stringify(last)}`;
      throw new Error(`waitFor: timed out after ${timeoutMs} ms (${attempt} attempts) waiting for ${message}; ${detail}`, {
        cause: last,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
