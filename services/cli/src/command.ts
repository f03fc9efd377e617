/** A CLI command: parses its own argv, prints `--help`, returns an exit code (non-zero on failure). */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], env: Record<string, string | undefined>): Promise<number>;
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Record<string, string | true>;
}

/** Minimal `--flag value` / `--flag=value` / `--switch` parser (node:util parseArgs is too strict for subcommands). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) flags[a.slice(2)] = argv[++i]!;
      else flags[a.slice(2)] = true;
    } else if (a === '-h') flags.help = true;
    else positional.push(a);
  }
  return { positional, flags };
}

export function wantsHelp(args: ParsedArgs): boolean {
  return args.flags.help === true || args.positional[0] === 'help';
}
