import { AppError } from '@tinycdp/common';

/** `ETag` header value for a definition version: `"<version>"` (strong). */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The version the client says it is changing, from `If-Match` (`"3"`, `W/"3"`, a list, or `*`) or a
 * `version` given in the body / query. Returns null when neither is given (unconditional write),
 * 'any' for `If-Match: *`, else the acceptable versions.
 * Throws AppError('bad_request') on a malformed header or version, or when both disagree.
 */
export function expectedVersions(
  ifMatch: string | undefined,
  bodyVersion: unknown,
): null | 'any' | readonly number[] {
  let fromHeader: null | 'any' | number[] = null;
  if (ifMatch !== undefined && ifMatch.trim() !== '') {
    if (ifMatch.trim() === '*') fromHeader = 'any';
    else {
      fromHeader = ifMatch.split(',').map((part) => {
        const m = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(part);
        if (!m) throw new AppError('bad_request', 'malformed If-Match header', { details: { field: 'If-Match' } });
        return Number(m[1]);
      });
    }
  }
  if (bodyVersion === undefined || bodyVersion === null) return fromHeader;
  const v = typeof bodyVersion === 'string' && /^\d{1,9}$/.test(bodyVersion) ? Number(bodyVersion) : bodyVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new AppError('validation_failed', 'version must be a positive integer', { details: { field: 'version' } });
  }
  if (Array.isArray(fromHeader) && !fromHeader.includes(v)) {
    throw new AppError('bad_request', 'If-Match and version disagree', { details: { field: 'version' } });
  }
  return [v];
}

/** Throws AppError('precondition_failed') when `current` is not one of the expected versions. */
export function checkPrecondition(expected: null | 'any' | readonly number[], current: number): void {
  if (expected === null || expected === 'any') return;
  if (!expected.includes(current)) {
    throw new AppError('precondition_failed', `version ${current} does not match the expected version`, {
      details: { currentVersion: current, expected },
    });
  }
}
