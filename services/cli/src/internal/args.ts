import { parseArgs, type ParsedArgs } from '../command';
import { UsageError } from './errors';

/** Which options a command accepts: `options` take a value, `switches` do not. `--help`/`-h` always work. */
export interface ArgSpec {
  readonly options?: readonly string[];
  readonly switches?: readonly string[];
}

/**
 * `parseArgs` plus knowledge of the command's options:
 * - a switch never swallows the next word (`expr check --json "a > 1"` keeps the expression positional);
 * - an option given without a value, or an unknown option, is a `UsageError` (exit 2).
 * Throws UsageError.
 */
export function parseCommandLine(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const switches = new Set(spec.switches ?? []);
  const options = new Set(spec.options ?? []);
  const rewritten: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (rest) rewritten.push(a);
    else if (a === '--') {
      rest = true;
      rewritten.push(a);
    } else if (a.startsWith('--') && !a.includes('=') && (switches.has(a.slice(2)) || a === '--help')) {
      rewritten.push(`${a}=true`);
    } else rewritten.push(a);
  }
  const parsed = parseArgs(rewritten);
  const flags: Record<string, string | true> = {};
  for (const [name, value] of Object.entries(parsed.flags)) {
    if (name === 'help' || switches.has(name)) {
      if (value === true || value === 'true' || value === '') flags[name] = true;
      else if (value !== 'false') throw new UsageError(`--${name} is a switch and takes no value (got "${value}")`);
    } else if (options.has(name)) {
      if (value === true) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional: parsed.positional, flags };
}

/** A string option's value, or `fallback`. */
export function stringOption(args: ParsedArgs, name: string): string | undefined;
export function stringOption(args: ParsedArgs, name: string, fallback: string): string;
export function stringOption(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : fallback;
}

/** An integer option in [min, max]; `fallback` when absent. Throws UsageError on anything else. */
export function intOption(
  args: ParsedArgs,
  name: string,
  opts: { fallback: number; min: number; max: number },
): number {
  const v = args.flags[name];
  if (v === undefined) return opts.fallback;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < opts.min || n > opts.max) {
    throw new UsageError(`--${name} must be an integer from ${opts.min} to ${opts.max} (got "${String(v)}")`);
  }
  return n;
}

export function switchOn(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** Throws UsageError when there are more positional arguments than `max`. */
export function noExtraArgs(positional: readonly string[], max: number, what: string): void {
  if (positional.length > max) {
    throw new UsageError(`unexpected argument "${positional[max]}" for ${what}`);
  }
}
