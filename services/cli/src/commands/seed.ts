import { randomInt } from 'node:crypto';
import type { ParsedArgs } from '../command';
import { ApiClient, errorSummary, explainStatus, resolveServerUrl, UnreachableError, type ApiResponse } from '../internal/api-client';
import { intOption, noExtraArgs, stringOption, switchOn } from '../internal/args';
import { ControlClient, ControlError } from '../internal/control-client';
import { findRunningServer, resolveDataDir } from '../internal/data-dir';
import { defineCommand } from '../internal/define-command';
import { CliError } from '../internal/errors';
import { println, type Io } from '../internal/io';
import { formatCount, formatRate, ProgressReporter } from '../internal/progress';
import {
  batches,
  countSeedEvents,
  definitionBody,
  SEED_DEFINITIONS,
  seedEvents,
  seedUserId,
  sourceOfView,
  type SeedDefinition,
} from '../internal/seed-data';

const USAGE = `Usage: tinycdp seed [options]

Fills a running TinyCDP with the seed README's examples through its public HTTP API only:
  traits    frequent_buyer, total_spent, recent_buyer, power_user, active_today
  segments  vip_users, recent_buyers, power_users, high_value, premium_plan, engaged_buyers
  flags     premium_features, new_checkout, big_spender_perks, vip_badge
(idempotent: definitions that already exist are kept), then synthetic events for N users spread
over the last D days — identify (plan), purchase (amount), app_open, page — sent to /v1/batch.

Options:
  --url <url>            TinyCDP base URL (default TINYCDP_URL, else the local running server,
                         else http://127.0.0.1:4000)
  --key <admin key>      default TINYCDP_ADMIN_KEY, else a new admin key "seed" made through the
                         local running server's control endpoint (<dataDir>/server.json)
  --users <n>            users to simulate (default 300)
  --days <n>             days of history, ending now (default 30)
  --seed-random <n>      PRNG seed: the same seed gives the same users, events and message ids
                         (default: random, printed so a run can be repeated)
  --batch-size <n>       events per /v1/batch request (default 500)
  --definitions-only     create the definitions, send no events

Exit codes: 0 done, 1 failed (unreachable, key rejected, a definition or events rejected), 2 bad usage.`;

type DefinitionOutcome = 'created' | 'exists' | 'differs' | 'failed';

/** The API key: --key, TINYCDP_ADMIN_KEY, or a new admin key from the local server's control endpoint. */
async function resolveKey(args: ParsedArgs, env: Record<string, string | undefined>, io: Io): Promise<string> {
  const given = stringOption(args, 'key') ?? env.TINYCDP_ADMIN_KEY?.trim();
  if (given) return given;
  const found = findRunningServer(resolveDataDir(env));
  if (found.state !== 'running') {
    throw new CliError(
      'no API key: pass --key <admin key> or set TINYCDP_ADMIN_KEY (create one with `npx tinycdp keys create --scope admin`)',
    );
  }
  try {
    const k = await new ControlClient({ port: found.info.port, token: found.info.controlToken }).createKey('admin', 'seed');
    println(io.stdout, `Created admin key "seed" (${k.id}) through the running server: ${k.key}`);
    println(io.stderr, 'Store the key now if you want to reuse it: it is shown only this once.');
    return k.key;
  } catch (err) {
    if (err instanceof ControlError) throw new CliError(`could not create an admin key through the running server: ${err.message}`);
    throw err;
  }
}

function diagnosticsOf(res: ApiResponse): string[] {
  const details = (res.body as { error?: { details?: { diagnostics?: { rendered?: unknown }[] } } } | null)?.error?.details;
  return (details?.diagnostics ?? []).map((d) => d.rendered).filter((r): r is string => typeof r === 'string');
}

/** Fails fast on answers that no other definition would get past (bad key, server down). */
function abortOn(res: ApiResponse, what: string): void {
  if (res.status === 401 || res.status === 403 || res.status >= 500) {
    throw new CliError(`${what}: ${explainStatus(res)}`);
  }
}

async function ensureDefinition(client: ApiClient, d: SeedDefinition, io: Io): Promise<DefinitionOutcome> {
  const path = `/v1/admin/${d.kind}s`;
  const res = await client.request('POST', path, definitionBody(d), { retries: 3 });
  abortOn(res, `POST ${path}`);
  const label = `  ${d.kind.padEnd(8)}${d.key.padEnd(20)}`;
  if (res.status === 201 || res.status === 200) {
    println(io.stdout, `${label}created`);
    return 'created';
  }
  if (res.status === 409) {
    const got = await client.request('GET', `${path}/${encodeURIComponent(d.key)}`, undefined, { retries: 3 });
    const existing = got.status === 200 ? sourceOfView(d.kind, got.body) : null;
    if (existing !== null && existing.trim() !== d.source) {
      println(io.stdout, `${label}exists with a different ${d.kind === 'trait' ? 'expression' : 'rule'} (kept): ${existing}`);
      return 'differs';
    }
    println(io.stdout, `${label}exists`);
    return 'exists';
  }
  println(io.stdout, `${label}FAILED: ${errorSummary(res)}`);
  for (const r of diagnosticsOf(res)) println(io.stdout, r.replace(/^/gm, '      '));
  return 'failed';
}

interface BatchAnswer {
  accepted?: unknown;
  rejected?: { index?: unknown; errors?: { path?: unknown; message?: unknown }[] }[];
}

async function sendEvents(
  client: ApiClient,
  opts: { users: number; days: number; seed: number; batchSize: number },
  io: Io,
): Promise<{ sent: number; rejected: number }> {
  const gen = { users: opts.users, days: opts.days, seed: opts.seed, now: Date.now() };
  const total = countSeedEvents(gen);
  println(io.stdout, `Sending ${formatCount(total)} events for ${formatCount(opts.users)} users over ${opts.days} days`);
  const progress = new ProgressReporter(io.stderr, { total, unit: 'events', label: 'events' });
  let rejected = 0;
  let firstRejection: string | null = null;
  try {
    for (const batch of batches(seedEvents(gen), opts.batchSize)) {
      const res = await client.request('POST', '/v1/batch', { batch }, { retries: 5 });
      if (res.status !== 200) throw new CliError(`POST /v1/batch: ${explainStatus(res)}`);
      const body = res.body as BatchAnswer | null;
      const bad = Array.isArray(body?.rejected) ? body.rejected : [];
      if (bad.length > 0) {
        rejected += bad.length;
        const e = bad[0]?.errors?.[0];
        firstRejection ??= e ? `${String(e.path ?? '')}: ${String(e.message ?? '')}` : 'rejected';
      }
      progress.add(batch.length);
    }
  } finally {
    progress.finish();
  }
  const secs = progress.elapsedMs() / 1000;
  println(
    io.stdout,
    `Sent ${formatCount(progress.count - rejected)} events in ${secs.toFixed(1)} s (${formatRate(progress.count / Math.max(secs, 0.001))})` +
      (rejected > 0 ? `; ${formatCount(rejected)} rejected (first: ${firstRejection})` : ''),
  );
  return { sent: progress.count - rejected, rejected };
}

export const seedCommand = defineCommand({
  name: 'seed',
  summary: 'create the example traits/segments/flags and send synthetic events (HTTP API)',
  usage: USAGE,
  options: ['url', 'key', 'users', 'days', 'seed-random', 'batch-size'],
  switches: ['definitions-only'],
  async run(args, env, io) {
    noExtraArgs(args.positional, 0, 'seed');
    const url = resolveServerUrl(stringOption(args, 'url'), env);
    const users = intOption(args, 'users', { fallback: 300, min: 1, max: 1_000_000 });
    const days = intOption(args, 'days', { fallback: 30, min: 1, max: 365 });
    const batchSize = intOption(args, 'batch-size', { fallback: 500, min: 1, max: 2_500 });
    const seed = intOption(args, 'seed-random', { fallback: randomInt(0, 2 ** 31), min: 0, max: 2 ** 32 - 1 });
    const key = await resolveKey(args, env, io);
    const client = new ApiClient({ baseUrl: url, key });

    try {
      println(io.stdout, `Seeding ${url} (users ${users}, days ${days}, --seed-random ${seed})`);
      println(io.stdout, 'Definitions:');
      const outcomes: DefinitionOutcome[] = [];
      for (const d of SEED_DEFINITIONS) outcomes.push(await ensureDefinition(client, d, io));
      const failed = outcomes.filter((o) => o === 'failed').length;
      if (failed > 0) {
        throw new CliError(`${failed} definition${failed === 1 ? '' : 's'} could not be created; no events were sent`);
      }
      if (switchOn(args, 'definitions-only')) return 0;

      const { rejected } = await sendEvents(client, { users, days, seed, batchSize }, io);
      const someone = seedUserId(0, users);
      println(io.stdout, '');
      println(io.stdout, 'Try (segments update as the processor catches up):');
      println(io.stdout, `  curl -H "Authorization: Bearer $TINYCDP_ADMIN_KEY" "${url}/v1/decide?userId=${someone}"`);
      println(io.stdout, `  curl -H "Authorization: Bearer $TINYCDP_ADMIN_KEY" "${url}/v1/admin/segments/vip_users/members"`);
      return rejected > 0 ? 1 : 0;
    } catch (err) {
      if (err instanceof UnreachableError) {
        throw new CliError(`${err.message} — is TinyCDP running? (npx tinycdp start)`);
      }
      throw err;
    }
  },
});
