import type { ParsedArgs } from '../command';
import { ApiClient, resolveServerUrl, UnreachableError } from '../internal/api-client';
import { noExtraArgs, stringOption, switchOn } from '../internal/args';
import { defineCommand } from '../internal/define-command';
import { describeError } from '../internal/errors';
import { println } from '../internal/io';
import { formatTable } from '../internal/table';

/** The endpoints checked, in order: the aggregate and one per service. */
export const HEALTH_PATHS = ['/health', '/ingest/health', '/processor/health', '/decide/health', '/admin/health'] as const;

const USAGE = `Usage: tinycdp health [--url <url>] [--json]

Calls GET /health and /<service>/health (ingest, processor, decide, admin) of a running TinyCDP
and prints a table: endpoint, status, HTTP status, latency, and the dependency checks.

Options:
  --url <url>   default TINYCDP_URL, else the local running server, else http://127.0.0.1:4000
  --json        print the results as JSON

Exit codes: 0 all ok, 1 any endpoint not ok (or unreachable), 2 bad usage.`;

export interface HealthRow {
  readonly path: string;
  readonly ok: boolean;
  /** `ok`, `degraded`, `unreachable`, `HTTP 404` … */
  readonly status: string;
  readonly httpStatus: number | null;
  readonly latencyMs: number;
  /** `name ok 1.2ms` / `name error: message`, one per dependency check. */
  readonly checks: readonly string[];
}

interface HealthBody {
  status?: unknown;
  checks?: Record<string, { status?: unknown; latencyMs?: unknown; error?: unknown }>;
}

/** Fetches one health endpoint. Never throws. */
export async function probe(client: ApiClient, path: string): Promise<HealthRow> {
  const started = performance.now();
  try {
    const res = await client.request('GET', path);
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const body = res.body as HealthBody | null;
    const status = typeof body?.status === 'string' ? body.status : `HTTP ${res.status}`;
    const checks = Object.entries(body?.checks ?? {}).map(([name, c]) =>
      c.status === 'ok'
        ? `${name} ok${typeof c.latencyMs === 'number' ? ` ${c.latencyMs}ms` : ''}`
        : `${name} ${String(c.status ?? '?')}${typeof c.error === 'string' ? `: ${c.error}` : ''}`,
    );
    return { path, ok: res.status === 200 && status === 'ok', status, httpStatus: res.status, latencyMs, checks };
  } catch (err) {
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const msg = err instanceof UnreachableError ? describeError(err.cause) : describeError(err);
    return { path, ok: false, status: 'unreachable', httpStatus: null, latencyMs, checks: [msg] };
  }
}

export function formatHealth(rows: readonly HealthRow[]): string {
  return formatTable(
    ['ENDPOINT', 'STATUS', 'HTTP', 'LATENCY', 'CHECKS'],
    rows.map((r) => [r.path, r.status, r.httpStatus === null ? null : String(r.httpStatus), `${r.latencyMs}ms`, r.checks.join(', ')]),
  );
}

async function runHealth(args: ParsedArgs, env: Record<string, string | undefined>): Promise<{ url: string; rows: HealthRow[] }> {
  const url = resolveServerUrl(stringOption(args, 'url'), env);
  const client = new ApiClient({ baseUrl: url, timeoutMs: 5_000 });
  const rows = await Promise.all(HEALTH_PATHS.map((p) => probe(client, p)));
  return { url, rows };
}

export const healthCommand = defineCommand({
  name: 'health',
  summary: 'check /health and every /<service>/health of a running TinyCDP',
  usage: USAGE,
  options: ['url'],
  switches: ['json'],
  async run(args, env, io) {
    noExtraArgs(args.positional, 0, 'health');
    const { url, rows } = await runHealth(args, env);
    const ok = rows.every((r) => r.ok);
    if (switchOn(args, 'json')) {
      println(io.stdout, JSON.stringify({ url, ok, endpoints: rows }));
    } else {
      println(io.stdout, `TinyCDP at ${url}`);
      println(io.stdout, formatHealth(rows));
      const bad = rows.filter((r) => !r.ok).length;
      println(io.stdout, ok ? 'All healthy.' : `${bad} of ${rows.length} endpoints not ok.`);
    }
    return ok ? 0 : 1;
  },
});
