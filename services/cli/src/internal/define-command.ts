import type { ParsedArgs } from '../command';
import type { Command } from '../command';
import { parseCommandLine, type ArgSpec } from './args';
import { CliError, describeError } from './errors';
import { println, processIo, type Io } from './io';

export interface CommandSpec extends ArgSpec {
  readonly name: string;
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  run(args: ParsedArgs, env: Record<string, string | undefined>, io: Io): Promise<number>;
}

/** A `Command` that can also run against a given `Io` (tests capture output this way). */
export interface CliCommand extends Command {
  runWith(argv: readonly string[], env: Record<string, string | undefined>, io: Io): Promise<number>;
}

/**
 * Wraps a command: strict option parsing, `--help`, and one error path — a `CliError` prints its
 * message (`tinycdp <name>: …`) and returns its exit code (usage errors also point at `--help`);
 * anything else prints its message and returns 1. Never throws.
 */
export function defineCommand(spec: CommandSpec): CliCommand {
  const runWith = async (argv: readonly string[], env: Record<string, string | undefined>, io: Io): Promise<number> => {
    try {
      const args = parseCommandLine(argv, spec);
      if (args.flags.help === true || (args.positional[0] === 'help' && args.positional.length === 1)) {
        println(io.stdout, spec.usage);
        return 0;
      }
      return await spec.run(args, env, io);
    } catch (err) {
      const code = err instanceof CliError ? err.exitCode : 1;
      println(io.stderr, `tinycdp ${spec.name}: ${describeError(err)}`);
      if (code === 2) println(io.stderr, `Run \`tinycdp ${spec.name} --help\` for usage.`);
      return code;
    }
  };
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    run: (argv, env) => runWith(argv, env, processIo()),
    runWith,
  };
}
