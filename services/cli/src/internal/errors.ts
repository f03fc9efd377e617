/**
 * A failure to report to the user as one clear message (no stack) with an exit code.
 * 1 = the operation failed; 2 = the command line was wrong (see `UsageError`).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A bad command line: unknown option, missing argument, bad value. Exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Message of any thrown value, with the `code` of Node system errors (ECONNREFUSED …) when present. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    // fetch() wraps the real reason ("connect ECONNREFUSED 127.0.0.1:4000") in `cause`.
    if (err.message === 'fetch failed' && cause !== undefined) return describeError(cause);
    if (err.message) return err.message;
    if (typeof code === 'string') return code;
    return err.name;
  }
  return String(err);
}
