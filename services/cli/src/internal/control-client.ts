/**
 * Client of the all-in-one server's control endpoints: how the CLI manages API keys while a running
 * embedded server holds the PGlite config store (PGlite allows one process only).
 *
 * CONTRACT (the server side lives with `tinycdp start`; keep both in step)
 *
 * Discovery — the running server writes `<TINYCDP_DATA_DIR or ./.tinycdp>/server.json`, mode 0600:
 *     {"pid": 12345, "port": 4000, "controlToken": "<random secret>"}
 *   and removes it on a clean shutdown. The CLI uses the server only when that pid is alive; a file
 *   left by a crashed server (dead pid) is ignored and the CLI opens the store itself.
 *
 * Transport — plain HTTP to `http://127.0.0.1:<port>` (loopback only), JSON bodies
 *   (`Content-Type: application/json`), every request with `Authorization: Bearer <controlToken>`.
 *   The control token is NOT an API key; API keys are not accepted here and the token is not accepted
 *   anywhere else. Wrong or missing token → 401.
 *
 * Endpoints
 *   POST   /internal/v1/keys       body {"scope": "write"|"read"|"admin", "name": string (1..100)}
 *          → 201 (200 accepted) {"id", "name", "scope", "key", "prefix"?, "createdAt"?}
 *            `key` is the secret, returned this once. 400 validation_failed on a bad body.
 *   GET    /internal/v1/keys
 *          → 200 {"items": [{"id", "name", "scope", "prefix", "createdAt", "revokedAt", "lastUsedAt"?}]}
 *            any order (the client sorts newest first); never any secret or hash. Timestamps ISO-8601,
 *            `revokedAt` null when active.
 *   DELETE /internal/v1/keys/:id   (id URL-encoded)
 *          → 200 the revoked key record (same shape as a list item), or at least {"id"}: the client
 *            lists again for `revokedAt`. Idempotent: a revoked key stays revoked with its original
 *            `revokedAt`. SHOULD answer 404 not_found for an unknown id and 409 conflict for the last
 *            active admin key (the client checks both by listing first, so it copes if not).
 *
 * Errors — any non-2xx answers `{"error": {"code", "message", "details"}}` (the house error shape);
 *   the client surfaces `message` (falling back to the HTTP status) as a `ControlError`.
 */
import type { ApiKeyRecord, KeyScope } from '@tinycdp/postgres';
import { describeError } from './errors';

export interface ControlCreatedKey {
  readonly id: string;
  readonly name: string;
  readonly scope: KeyScope;
  readonly key: string;
  readonly prefix?: string;
  readonly createdAt?: string;
}

export interface ControlClientOptions {
  readonly port: number;
  readonly token: string;
  /** Default 127.0.0.1: the control endpoints listen on loopback. */
  readonly host?: string;
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** A failed control request: `status` 0 when the server could not be reached at all. */
export class ControlError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export class ControlClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: ControlClientOptions) {
    this.base = `http://${opts.host ?? '127.0.0.1'}:${opts.port}`;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Throws ControlError. */
  async createKey(scope: KeyScope, name: string): Promise<ControlCreatedKey> {
    const body = await this.request('POST', '/internal/v1/keys', { scope, name });
    const k = body as Partial<ControlCreatedKey> | null;
    if (!k || typeof k.id !== 'string' || typeof k.key !== 'string') {
      throw new ControlError('the server answered POST /internal/v1/keys without {id, key}', 200, null);
    }
    return k as ControlCreatedKey;
  }

  /** Throws ControlError. */
  async listKeys(): Promise<ApiKeyRecord[]> {
    const body = (await this.request('GET', '/internal/v1/keys')) as { items?: unknown } | null;
    if (!body || !Array.isArray(body.items)) {
      throw new ControlError('the server answered GET /internal/v1/keys without {items}', 200, null);
    }
    const items: ApiKeyRecord[] = body.items.map((i: Record<string, unknown>) => ({
      id: String(i.id),
      name: String(i.name ?? ''),
      scope: i.scope as KeyScope,
      prefix: String(i.prefix ?? ''),
      createdAt: String(i.createdAt ?? ''),
      revokedAt: typeof i.revokedAt === 'string' ? i.revokedAt : null,
      lastUsedAt: typeof i.lastUsedAt === 'string' ? i.lastUsedAt : null,
    }));
    // Newest first whatever order the server used (as the direct-store listing does).
    return items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? -1 : 1));
  }

  /**
   * Throws ControlError (status 404 for an unknown id, 409 for the last admin key). The answer may be
   * the full record or just `{id}`; callers wanting `revokedAt` list again.
   */
  async revokeKey(id: string): Promise<Partial<ApiKeyRecord>> {
    return ((await this.request('DELETE', `/internal/v1/keys/${encodeURIComponent(id)}`)) ?? {}) as Partial<ApiKeyRecord>;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ControlError(`cannot reach the running server at ${this.base}: ${describeError(err)}`, 0, null);
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const message = typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`;
      const code = typeof e?.code === 'string' ? e.code : null;
      const hint = res.status === 401 ? ' (control token rejected: is server.json from another server?)' : '';
      throw new ControlError(`${method} ${path}: ${message}${hint}`, res.status, code);
    }
    return parsed;
  }
}
