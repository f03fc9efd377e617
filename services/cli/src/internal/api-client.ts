import { findRunningServer, resolveDataDir } from './data-dir';
import { describeError, UsageError } from './errors';

export interface ApiResponse {
  readonly status: number;
  /** Parsed JSON body; null when empty or not JSON. */
  readonly body: unknown;
  readonly headers: Headers;
}

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:4000` (no trailing slash needed). */
  readonly baseUrl: string;
  /** API key sent as `Authorization: Bearer`. */
  readonly key?: string;
  /** Per-request timeout (default 30 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  /** Sleep used between retries (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The server could not be reached (no HTTP answer at all). */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach TinyCDP at ${url}: ${describeError(cause)}`, { cause });
    this.name = 'UnreachableError';
  }
}

const RETRIABLE_STATUS = new Set([429, 502, 503, 504]);

/** `{"error":{"code","message"}}` → `code: message`; otherwise `HTTP <status>`. */
export function errorSummary(res: ApiResponse): string {
  const e = (res.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e && typeof e.message === 'string') return typeof e.code === 'string' ? `${e.code}: ${e.message}` : e.message;
  return `HTTP ${res.status}`;
}

/** Adds what to do about auth failures to an error summary. */
export function explainStatus(res: ApiResponse): string {
  const base = errorSummary(res);
  if (res.status === 401) return `${base} — the API key was not accepted (pass --key or set TINYCDP_ADMIN_KEY)`;
  if (res.status === 403) return `${base} — the API key lacks the needed scope (use an admin key)`;
  return base;
}

/** Minimal JSON client of TinyCDP's public HTTP API (admin, ingest, health) over global fetch. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? fetch;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * One request; HTTP error statuses are returned, not thrown. With `retries`, network failures and
   * 429/502/503/504 are retried with exponential backoff and jitter (honouring `Retry-After`).
   * Throws UnreachableError when no answer came (after the retries).
   */
  async request(method: string, path: string, body?: unknown, opts: { retries?: number } = {}): Promise<ApiResponse> {
    const retries = opts.retries ?? 0;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(this.baseUrl + path, {
          method,
          headers: {
            accept: 'application/json',
            ...(this.opts.key ? { authorization: `Bearer ${this.opts.key}` } : {}),
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(payload === undefined ? {} : { body: payload }),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (err) {
        if (attempt < retries) {
          await this.sleep(backoffMs(attempt, null));
          continue;
        }
        throw new UnreachableError(this.baseUrl, err);
      }
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (RETRIABLE_STATUS.has(res.status) && attempt < retries) {
        await this.sleep(backoffMs(attempt, res.headers.get('retry-after')));
        continue;
      }
      return { status: res.status, body: parsed, headers: res.headers };
    }
  }
}

/** 200 ms · 2^attempt (max 5 s) with ±50% jitter; a `Retry-After` in seconds wins (max 30 s). */
export function backoffMs(attempt: number, retryAfter: string | null): number {
  const s = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(s) && s >= 0) return Math.min(s, 30) * 1000;
  const base = Math.min(5_000, 200 * 2 ** attempt);
  return Math.round(base * (0.5 + Math.random()));
}

/**
 * Base URL of the TinyCDP HTTP API: `--url`, else TINYCDP_URL, else the port of a running local
 * server (`<dataDir>/server.json`), else `http://127.0.0.1:<PORT or 4000>`. Throws UsageError on a bad URL.
 */
export function resolveServerUrl(flag: string | undefined, env: Record<string, string | undefined>): string {
  let url = flag ?? env.TINYCDP_URL?.trim();
  if (!url) {
    let port = env.PORT?.trim() || '4000';
    try {
      const found = findRunningServer(resolveDataDir(env));
      if (found.state === 'running') port = String(found.info.port);
    } catch {
      // an unreadable server.json only matters to commands that need the store
    }
    url = `http://127.0.0.1:${port}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`not a valid URL: "${url}" (e.g. http://127.0.0.1:4000)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`the URL must be http:// or https:// (got "${url}")`);
  }
  return parsed.toString().replace(/\/+$/, '');
}
