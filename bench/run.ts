/**
 * `npm run bench` (full) / `npm run bench -- --quick` (under 5 minutes): brings up Kafka and Redis if
 * they do not answer (scripts/services.sh up), runs every scenario against the real stack, prints the
 * table and writes bench/results/latest.json and latest.md.
 *
 *   --quick            smaller runs
 *   --only=a,b         only these scenarios (dsl, ingest, pipeline, freshness, decide, memory, time_exit,
 *                      registry, engine, soak); sections not run are kept from the previous latest.json, marked
 *                      with their date
 *   --out=<dir>        results (latest.json, latest.md, profiles) into <dir>, README untouched (CI);
 *                      also TINYCDP_BENCH_OUT=<dir>. Parsing: bench/lib/args.ts
 *
 * A scenario that cannot run here (the registry without Java 21+) is reported as "not run: <why>".
 *
 * A failing scenario is retried once (the section then says `retried_after_error`); failing twice, it is
 * reported as an error in its section, and the others still run. `memory` and
 * `time_exit` run side by side: time_exit mostly waits for the next minute boundary, and memory
 * measures bytes, not time.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { updateReadme } from './lib/readme';
import { parseArgs } from './lib/args';
import { isNotRun } from './lib/not-run';
import os from 'node:os';
import { RESULTS_DIR, SCENARIOS, renderMarkdown, type BenchResults, type Machine, type ScenarioName, type ScenarioStatus } from './lib/report';
import { ensureStack } from './lib/stack';

type Runner = (opts: { quick: boolean }) => Promise<unknown>;

/** Imported by a computed specifier so typecheck does not depend on another helper's file existing. */
async function optional(spec: string, fn: string): Promise<Runner> {
  const mod = (await import(spec)) as Record<string, unknown>;
  return mod[fn] as Runner;
}

/** Scenarios written by other helpers (dsl, decide) may be absent: a missing module is reported, not fatal. */
const LOADERS: Record<ScenarioName, () => Promise<Runner>> = {
  dsl: () => optional('./dsl', 'runDslBench'),
  ingest: async () => (await import('./ingest')).runIngestBench,
  pipeline: async () => (await import('./pipeline')).runPipelineBench,
  freshness: async () => (await import('./freshness')).runFreshnessBench,
  decide: () => optional('./decide', 'runDecideBench'),
  memory: async () => (await import('./memory')).runMemoryBench,
  time_exit: async () => (await import('./time-exit')).runTimeExitBench,
  registry: async () => (await import('./registry')).runRegistryBench,
  engine: async () => (await import('./engine')).runEngineScenario,
  soak: async () => (await import('./soak')).runSoakBench,
};

const NEEDS_STACK: ReadonlySet<ScenarioName> = new Set(['ingest', 'pipeline', 'freshness', 'decide', 'memory', 'time_exit', 'registry', 'soak']);

function machine(): Machine & { loadavg: number[] } {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

function isMissingModule(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string };
  return (e.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module/.test(e.message ?? '')) && (e.message ?? '').includes(name);
}

const FILES: Record<ScenarioName, string> = {
  dsl: 'bench/dsl.ts',
  ingest: 'bench/ingest.ts',
  pipeline: 'bench/pipeline.ts',
  freshness: 'bench/freshness.ts',
  decide: 'bench/decide.ts',
  memory: 'bench/memory.ts',
  time_exit: 'bench/time-exit.ts',
  registry: 'bench/registry.ts',
  engine: 'bench/engine.ts',
  soak: 'bench/soak.ts',
};

async function runOne(name: ScenarioName, quick: boolean, when: string): Promise<{ section: Record<string, unknown> | null; status: ScenarioStatus }> {
  const t0 = performance.now();
  const status = (s: ScenarioStatus['status'], error?: string): ScenarioStatus => ({
    status: s,
    when,
    quick,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    ...(error === undefined ? {} : s === 'skipped' ? { reason: error } : { error }),
  });
  let runner: Runner;
  try {
    runner = await LOADERS[name]();
    if (typeof runner !== 'function') return { section: null, status: status('missing', `${FILES[name]} does not export its run function`) };
  } catch (err) {
    const file = FILES[name];
    if (isMissingModule(err, file.replace('bench/', '').replace('.ts', ''))) return { section: null, status: status('missing', `${file} not found`) };
    return { section: null, status: status('error', `loading ${file}: ${(err as Error).message}`) };
  }
  // One retry after an error: a shared machine can starve a run past a scenario's own deadlines
  // once; a scenario that fails twice is reported as failed (and fails CI's validation).
  let firstError: string | null = null;
  for (let attempt = 1; ; attempt++) {
    console.error(`bench: ${name} …${attempt > 1 ? ` (retry after: ${firstError})` : ''}`);
    try {
      const section = (await runner({ quick })) as Record<string, unknown>;
      const st = status('ok');
      console.error(`bench: ${name} done in ${st.seconds} s`);
      if (firstError !== null) section['retried_after_error'] = firstError;
      return { section, status: st };
    } catch (err) {
      if (isNotRun(err)) {
        const st = status('skipped', err.message);
        console.error(`bench: ${name} not run: ${err.message}`);
        return { section: null, status: st };
      }
      const message = (err as Error).message ?? String(err);
      if (attempt === 1) {
        firstError = message;
        console.error(`bench: ${name} failed, retrying once: ${(err as Error).stack ?? err}`);
        continue;
      }
      const st = status('error', `${message} (first attempt: ${firstError})`);
      console.error(`bench: ${name} failed twice after ${st.seconds} s: ${(err as Error).stack ?? err}`);
      return { section: null, status: st };
    }
  }
}

async function main(): Promise<void> {
  const { quick, only, out } = parseArgs(process.argv.slice(2), process.env);
  // Scenarios write their profiles to resultsDir() (lib/report.ts), which follows this variable.
  if (out !== null) process.env['TINYCDP_BENCH_OUT'] = out;
  const dir = out ?? RESULTS_DIR;
  const started = performance.now();
  const when = new Date().toISOString();
  const m = machine();
  if (only.some((s) => NEEDS_STACK.has(s))) await ensureStack();

  const previous: Partial<BenchResults> =
    only.length < SCENARIOS.length && existsSync(`${dir}/latest.json`)
      ? (JSON.parse(readFileSync(`${dir}/latest.json`, 'utf8')) as BenchResults)
      : {};
  const results: BenchResults = {
    machine: m,
    when,
    quick,
    dsl: null,
    ingest: null,
    pipeline: null,
    freshness: null,
    decide: null,
    memory: null,
    time_exit: null,
    registry: null,
    engine: null,
    soak: null,
    scenarios: {},
  };
  for (const s of SCENARIOS) {
    if (only.includes(s) || !previous.scenarios?.[s]) continue;
    results[s] = (previous[s] as Record<string, unknown> | null) ?? null;
    results.scenarios[s] = previous.scenarios[s]!;
  }

  const put = (name: ScenarioName, r: Awaited<ReturnType<typeof runOne>>) => {
    results[name] = r.section;
    results.scenarios[name] = r.status;
  };
  const sequential = only.filter((s) => s !== 'memory' && s !== 'time_exit');
  for (const name of sequential) put(name, await runOne(name, quick, when));
  const sideBySide = only.filter((s) => s === 'memory' || s === 'time_exit');
  const done = await Promise.all(sideBySide.map((name) => runOne(name, quick, when)));
  sideBySide.forEach((name, i) => put(name, done[i]!));

  (results as BenchResults & { loadavg_end: number[]; seconds: number }).loadavg_end = os.loadavg().map((x) => Math.round(x * 100) / 100);
  (results as BenchResults & { seconds: number }).seconds = Math.round((performance.now() - started) / 1000);
  const md = renderMarkdown(results);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${dir}/latest.md`, md);
  if (out === null) updateReadme(new URL('../README.md', import.meta.url).pathname, md);
  console.log(md);
  console.error(`bench: wrote ${dir}/latest.json and latest.md${out === null ? ' and the README' : ''} in ${Math.round((performance.now() - started) / 1000)} s`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
