import {
  compile,
  renderDiagnostic,
  type CheckContext,
  type Diagnostic,
  type ExprType,
  type ExpressionKind,
  type Requirements,
} from '@tinycdp/dsl';
import type { ParsedArgs } from '../command';
import { ApiClient, resolveServerUrl, UnreachableError } from '../internal/api-client';
import { stringOption, switchOn } from '../internal/args';
import { defineCommand } from '../internal/define-command';
import { CliError, UsageError } from '../internal/errors';
import { fetchLiveNames, parseSegmentList, parseTraitList } from '../internal/expr-context';
import { println, type Io } from '../internal/io';

const USAGE = `Usage: tinycdp expr check "<expression>" [options]

Checks an expression of the TinyCDP language offline and prints its diagnostics (with a caret
under the problem), its result type and what it reads (requirements).

Options:
  --kind trait|segment|flag   what the expression is used as (default trait); segment and flag
                              rules must be boolean
  --traits a,b:number         traits that exist, optionally typed (boolean, number, string, list,
                              duration, any; default any)
  --segments x,y              segments that exist
  --url <url>                 check against the live definitions of a running TinyCDP instead
  --key <admin key>           API key for --url (default TINYCDP_ADMIN_KEY)
  --json                      print {valid, kind, type, diagnostics, requirements} as JSON

Examples:
  tinycdp expr check "events.purchase.count_30d >= 3"
  tinycdp expr check "frequent_buyer == true" --kind segment --traits frequent_buyer:boolean
  tinycdp expr check 'segment("vip_users") && trait("total_spent") >= 500' --kind flag \\
      --segments vip_users --traits total_spent:number
  tinycdp expr check 'segment("vip_users")' --kind flag --url http://127.0.0.1:4000

Exit codes: 0 valid, 1 invalid (or the live definitions could not be read), 2 bad usage.`;

const KINDS: readonly ExpressionKind[] = ['trait', 'segment', 'flag'];
const KIND_LABEL: Record<ExpressionKind, string> = { trait: 'trait expression', segment: 'segment rule', flag: 'flag rule' };

export interface ExprCheckOutput {
  readonly valid: boolean;
  readonly kind: ExpressionKind;
  readonly type: ExprType | null;
  readonly diagnostics: readonly Diagnostic[];
  readonly requirements: RequirementsOut | null;
}

interface RequirementsOut {
  readonly aggregates: readonly string[];
  readonly profile: readonly string[];
  readonly traits: readonly string[];
  readonly segments: readonly string[];
  readonly context: readonly string[];
  readonly timeDependent: boolean;
}

function requirementsOut(r: Requirements): RequirementsOut {
  return {
    aggregates: r.aggregates.map((a) => a.id),
    profile: r.profile.map((p) => `profile.${p.join('.')}`),
    traits: [...r.traits],
    segments: [...r.segments],
    context: r.context.map((p) => `context.${p.join('.')}`),
    timeDependent: r.timeDependent,
  };
}

/**
 * Checks `source` as `ctx.kind`. Invalid expressions still get requirements from a lenient compile
 * (every known name typed `any`), like the admin API's validate endpoint. Pure.
 */
export function checkExpression(source: string, ctx: CheckContext): ExprCheckOutput {
  const res = compile(source, ctx);
  if (res.ok) {
    return { valid: true, kind: ctx.kind, type: res.expr.type, diagnostics: res.warnings, requirements: requirementsOut(res.expr.requirements) };
  }
  const lenientTraits = new Map<string, ExprType>([...ctx.traits.keys()].map((k) => [k, 'any']));
  const lenient = compile(source, { kind: 'trait', traits: lenientTraits, segments: ctx.segments });
  return {
    valid: false,
    kind: ctx.kind,
    type: null,
    diagnostics: res.diagnostics,
    requirements: lenient.ok ? requirementsOut(lenient.expr.requirements) : null,
  };
}

const list = (xs: readonly string[]) => (xs.length === 0 ? '-' : xs.join(', '));

/** Human output: diagnostics (rendered with carets), then a verdict, the type and the requirements. */
export function formatCheck(source: string, out: ExprCheckOutput, hint: string | null): string {
  const lines: string[] = [];
  for (const d of out.diagnostics) {
    lines.push(renderDiagnostic(source, d), '');
  }
  const errors = out.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = out.diagnostics.length - errors;
  const counts = [errors ? `${errors} error${errors === 1 ? '' : 's'}` : '', warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '']
    .filter(Boolean)
    .join(', ');
  lines.push(`${out.valid ? '✓ valid' : '✗ invalid'} ${KIND_LABEL[out.kind]}${counts ? ` (${counts})` : ''}`);
  if (!out.valid && hint) lines.push(`  hint: ${hint}`);
  lines.push(`  type          ${out.type ?? '-'}`);
  const r = out.requirements;
  if (r) {
    lines.push(
      `  aggregates    ${list(r.aggregates)}`,
      `  profile       ${list(r.profile)}`,
      `  traits        ${list(r.traits)}`,
      `  segments      ${list(r.segments)}`,
      `  context       ${list(r.context)}`,
      `  time-based    ${r.timeDependent ? 'yes (can change as time passes, without new events)' : 'no'}`,
    );
  } else {
    lines.push('  requirements  - (the expression does not parse)');
  }
  return lines.join('\n');
}

async function buildContext(args: ParsedArgs, env: Record<string, string | undefined>, kind: ExpressionKind): Promise<{ ctx: CheckContext; live: boolean }> {
  const traits = new Map<string, ExprType>();
  const segments = new Set<string>();
  const url = stringOption(args, 'url');
  let live = false;
  if (url !== undefined) {
    const key = stringOption(args, 'key') ?? env.TINYCDP_ADMIN_KEY;
    if (!key) throw new UsageError('--url needs an admin key: pass --key or set TINYCDP_ADMIN_KEY');
    const client = new ApiClient({ baseUrl: resolveServerUrl(url, env), key, timeoutMs: 10_000 });
    try {
      const names = await fetchLiveNames(client);
      names.traits.forEach((t, k) => traits.set(k, t));
      names.segments.forEach((s) => segments.add(s));
      live = true;
    } catch (err) {
      if (err instanceof UnreachableError) throw new CliError(err.message);
      throw err;
    }
  } else if (stringOption(args, 'key') !== undefined) {
    throw new UsageError('--key is only used with --url');
  }
  // Explicit names add to (and retype) the live ones.
  const t = stringOption(args, 'traits');
  if (t !== undefined) parseTraitList(t).forEach((type, k) => traits.set(k, type));
  const s = stringOption(args, 'segments');
  if (s !== undefined) parseSegmentList(s).forEach((k) => segments.add(k));
  return { ctx: { kind, traits, segments }, live };
}

async function runCheck(args: ParsedArgs, env: Record<string, string | undefined>, io: Io): Promise<number> {
  const [, source, extra] = args.positional;
  if (source === undefined) throw new UsageError('expr check needs an expression, e.g. tinycdp expr check "events.purchase.count_30d >= 1"');
  if (extra !== undefined) {
    throw new UsageError(`unexpected argument "${extra}" (quote the whole expression: tinycdp expr check "a >= 1")`);
  }
  const kindFlag = stringOption(args, 'kind', 'trait');
  if (!(KINDS as readonly string[]).includes(kindFlag)) {
    throw new UsageError(`--kind must be one of ${KINDS.join(', ')} (got "${kindFlag}")`);
  }
  const kind = kindFlag as ExpressionKind;
  const { ctx, live } = await buildContext(args, env, kind);
  const out = checkExpression(source, ctx);
  if (switchOn(args, 'json')) {
    println(io.stdout, JSON.stringify(out));
  } else {
    const unknownNames = out.diagnostics.some((d) => d.code === 'unknown_name' || d.code === 'unknown_trait' || d.code === 'unknown_segment');
    const hint =
      unknownNames && !live
        ? 'name the traits and segments that exist with --traits/--segments, or check against a running server with --url'
        : null;
    println(io.stdout, formatCheck(source, out, hint));
  }
  return out.valid ? 0 : 1;
}

export const exprCommand = defineCommand({
  name: 'expr',
  summary: 'check an expression: diagnostics, type, requirements',
  usage: USAGE,
  options: ['kind', 'traits', 'segments', 'url', 'key'],
  switches: ['json'],
  async run(args, env, io) {
    const sub = args.positional[0];
    if (sub === 'check') return runCheck(args, env, io);
    if (sub === undefined) throw new UsageError('missing subcommand: check');
    throw new UsageError(`unknown subcommand "${sub}": expected check`);
  },
});
