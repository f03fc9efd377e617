// `tinycdp` CLI entry: the only place (with the service mains) that reads process.env.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import type { Command } from './command';
import { commands } from './commands';

function usage(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: tinycdp <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `tinycdp <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`tinycdp: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'start') process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tinycdp: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
