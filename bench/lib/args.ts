/**
 * Command line of bench/run.ts (pure, so the harness test can check it):
 *
 *   --quick       smaller runs
 *   --only=a,b    only these scenarios (`-` and `_` are alike: time-exit = time_exit)
 *   --out=<dir>   write latest.json, latest.md and the profiles into <dir> instead of bench/results/,
 *                 and leave the README alone (CI, trial runs); also TINYCDP_BENCH_OUT=<dir>
 */
import { resolve } from 'node:path';
import { SCENARIOS, type ScenarioName } from './report';

export interface BenchArgs {
  readonly quick: boolean;
  readonly only: ScenarioName[];
  /** Absolute results directory when not the committed bench/results/ (then the README is not touched). */
  readonly out: string | null;
}

/** @throws Error for an unknown scenario, or `--only`/`--out` given without `=<value>`. */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, cwd = process.cwd()): BenchArgs {
  for (const bare of ['--only', '--out']) {
    if (argv.includes(bare)) throw new Error(`${bare} needs a value: ${bare}=…`);
  }
  const quick = argv.includes('--quick');
  const outArg = argv.find((a) => a.startsWith('--out='))?.slice('--out='.length).trim() ?? env['TINYCDP_BENCH_OUT']?.trim() ?? '';
  const out = outArg === '' ? null : resolve(cwd, outArg);
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  if (!onlyArg) return { quick, only: [...SCENARIOS], out };
  const names = onlyArg
    .slice('--only='.length)
    .split(',')
    .map((s) => s.trim().replace(/-/g, '_'))
    .filter(Boolean);
  const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  if (names.length === 0) throw new Error('--only= names no scenario');
  return { quick, only: names as ScenarioName[], out };
}
