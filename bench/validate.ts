/**
 * CI check of a bench run: `npx tsx bench/validate.ts <results dir or latest.json> [--only=a,b]`.
 * Exits 1 when a scenario errored, is missing, was not measured by this run, or a reported figure is
 * absent or not a finite number (bench/lib/validate.ts); missed goals and scenarios that could not run
 * on this machine ("not run: <why>") are printed but do not fail.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from './lib/args';
import { validateResults } from './lib/validate';

function main(argv: readonly string[]): number {
  const target = argv.find((a) => !a.startsWith('--'));
  if (target === undefined) {
    console.error('usage: npx tsx bench/validate.ts <results dir | latest.json> [--only=a,b]');
    return 2;
  }
  const file = existsSync(target) && statSync(target).isDirectory() ? `${target}/latest.json` : target;
  if (!existsSync(file)) {
    console.error(`bench validate: ${file} does not exist (did the bench run crash?)`);
    return 1;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`bench validate: ${file} is not JSON: ${(err as Error).message}`);
    return 1;
  }
  const { only } = parseArgs(argv.filter((a) => a.startsWith('--only=')));
  const { problems, notes } = validateResults(doc, only);
  for (const n of notes) console.log(`bench validate: note: ${n}`);
  const md = file.replace(/latest\.json$/, 'latest.md');
  if (md !== file && existsSync(md)) {
    const missed = readFileSync(md, 'utf8').split('\n').filter((l) => l.includes('❌ missed')).length;
    console.log(`bench validate: ${missed} goal(s) missed (reported, not a failure)`);
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`bench validate: PROBLEM: ${p}`);
    console.error(`bench validate: ${file}: ${problems.length} problem(s)`);
    return 1;
  }
  console.log(`bench validate: ${file}: ${only.length} scenario(s) checked, no problem`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
