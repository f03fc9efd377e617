/**
 * The bench results document (bench/results/latest.json) and its markdown table (latest.md).
 * Pure: `renderMarkdown` turns a results object into text; run.ts does the I/O.
 */
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url)).replace(/\/$/, '');

/** Where scenarios write their results and profiles: TINYCDP_BENCH_OUT (set by `run.ts --out=<dir>`), else bench/results. */
export function resultsDir(): string {
  return process.env['TINYCDP_BENCH_OUT']?.trim() || RESULTS_DIR;
}

export interface Machine {
  cpus: number;
  model: string;
  memGB: number;
  node: string;
  os: string;
  /** 1/5/15-minute load averages when the run started (the box is shared and noisy). */
  loadavg?: number[];
}

export interface ScenarioStatus {
  /** `skipped`: the scenario could not run on this machine (`reason` says why); not a failure. */
  status: 'ok' | 'missing' | 'error' | 'skipped';
  /** When this section was measured (a later `--only` run keeps other sections from before). */
  when: string;
  quick: boolean;
  seconds: number;
  error?: string;
  reason?: string;
}

type Section = Record<string, unknown> | null;

export interface BenchResults {
  machine: Machine;
  when: string;
  quick: boolean;
  dsl: Section;
  ingest: Section;
  pipeline: Section;
  freshness: Section;
  decide: Section;
  memory: Section;
  time_exit: Section;
  registry: Section;
  engine: Section;
  soak: Section;
  scenarios: Record<string, ScenarioStatus>;
  loadavg_end?: number[];
  seconds?: number;
}

export const SCENARIOS = ['dsl', 'ingest', 'pipeline', 'freshness', 'decide', 'memory', 'time_exit', 'registry', 'engine', 'soak'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** 12345.6 → "12,346"; small numbers keep `digits` decimals. */
export function fmt(x: unknown, digits = 0): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function num(s: Section, k: string): number | null {
  const v = s?.[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function rangeText(s: Section, k: string, digits = 2): string {
  const r = s?.[k];
  if (!Array.isArray(r) || r.length !== 2) return '';
  return ` (${fmt(r[0], digits)}–${fmt(r[1], digits)})`;
}

function ratioText(s: Section, digits = 2): string {
  const r = num(s, 'ratio');
  return r === null ? '—' : `${fmt(r, digits)}×${rangeText(s, 'ratio_range', digits)}`;
}

type Verdict = 'met' | 'missed' | '—';
const mark = (v: Verdict) => (v === 'met' ? '✅ met' : v === 'missed' ? '❌ missed' : '—');
const check = (x: number | null, ok: (x: number) => boolean): Verdict => (x === null ? '—' : ok(x) ? 'met' : 'missed');

interface Row {
  scenario: string;
  measured: string;
  baseline: string;
  ratio: string;
  goal: string;
  verdict: Verdict;
}

function sectionRows(r: BenchResults): Map<ScenarioName, Row[]> {
  const rows = new Map<ScenarioName, Row[]>();
  const { dsl, ingest, pipeline, freshness, decide, memory, time_exit: te, registry: reg, engine: eng } = r;
  rows.set('dsl', [
    {
      scenario: 'dsl: evaluate seed rules',
      measured: `${fmt(num(dsl, 'evals_per_s'))} evals/s`,
      baseline: `${fmt(num(dsl, 'baseline_evals_per_s'))} evals/s (hand-written closures)`,
      ratio: ratioText(dsl, 3),
      goal: '≥ 0.5×',
      verdict: check(num(dsl, 'ratio'), (x) => x >= 0.5),
    },
    {
      scenario: 'dsl: parse+check+compile (~200 chars)',
      measured: `${fmt(num(dsl, 'compile_us'), 1)} µs`,
      baseline: '—',
      ratio: '—',
      goal: '< 100 µs',
      verdict: check(num(dsl, 'compile_us'), (x) => x < 100),
    },
  ]);
  rows.set('ingest', [
    {
      scenario: `ingest: POST /v1/batch → Kafka (${fmt(num(ingest, 'batch_size'))}/request, ${fmt(num(ingest, 'concurrency'))} conns)`,
      measured: `${fmt(num(ingest, 'events_per_s'))} events/s`,
      baseline: `${fmt(num(ingest, 'baseline_events_per_s'))} events/s (raw kafkajs sendBatch)`,
      ratio: ratioText(ingest),
      goal: '≥ 0.5×',
      verdict: check(num(ingest, 'ratio'), (x) => x >= 0.5),
    },
  ]);
  rows.set('pipeline', [
    {
      scenario: `pipeline: processor over ${fmt(num(pipeline, 'events'))} events`,
      measured: `${fmt(num(pipeline, 'events_per_s'))} events/s`,
      baseline: `${fmt(num(pipeline, 'baseline_events_per_s'))} events/s (raw kafkajs consume-only)`,
      ratio: ratioText(pipeline),
      goal: '≥ 0.35×',
      verdict: check(num(pipeline, 'ratio'), (x) => x >= 0.35),
    },
    ...scaleOutRows(pipeline),
  ]);
  const rate = num(freshness, 'rate_per_s');
  rows.set('freshness', [
    {
      scenario: `freshness: 200 → state in Redis (${fmt(rate)} track/s)`,
      measured: `p50 ${fmt(num(freshness, 'p50_ms'), 1)} ms, p99 ${fmt(num(freshness, 'p99_ms'), 1)} ms`,
      baseline: `p99 ${fmt(num(freshness, 'baseline_p99_ms'), 1)} ms (kafkajs ack → consume echo)`,
      ratio: '—',
      goal: 'p99 < 250 ms',
      verdict: check(num(freshness, 'p99_ms'), (x) => x < 250),
    },
    {
      scenario: 'freshness: 200 → `entered` consumed',
      measured: `p50 ${fmt(num(freshness, 'change_p50_ms'), 1)} ms, p99 ${fmt(num(freshness, 'change_p99_ms'), 1)} ms`,
      baseline: `p99 ${fmt(num(freshness, 'baseline_p99_ms'), 1)} ms (one Kafka hop)`,
      ratio: '—',
      goal: 'p99 < 250 ms',
      verdict: check(num(freshness, 'change_p99_ms'), (x) => x < 250),
    },
  ]);
  // Runs before the lean front had no node:http variant and no CPU figures.
  const withCpu = decide !== null && decide !== undefined && 'node_rps' in decide;
  rows.set('decide', [
    {
      scenario: 'decide: max throughput',
      measured:
        `${fmt(num(decide, 'rps'))} req/s` +
        (withCpu
          ? `; server CPU ${fmt(num(decide, 'cpu_us_per_req'))} µs/request (decide on node:http instead of its lean front: ${fmt(num(decide, 'node_rps'))} req/s, ${fmt(num(decide, 'node_cpu_us_per_req'))} µs)`
          : ''),
      baseline: `${fmt(num(decide, 'baseline_rps'))} req/s (bare HGETALL server)` + (withCpu ? `, ${fmt(num(decide, 'baseline_cpu_us_per_req'))} µs/request` : ''),
      ratio: ratioText(decide, 3),
      goal: '≥ 0.8×',
      verdict: check(num(decide, 'ratio'), (x) => x >= 0.8),
    },
    {
      scenario: `decide: latency at ${fmt(num(decide, 'load_rps'))} req/s`,
      measured:
        `p50 ${fmt(num(decide, 'p50_ms'), 2)} ms, p99 ${fmt(num(decide, 'p99_ms'), 2)} ms${rangeText(decide, 'p99_range', 1)}` +
        (decide && 'gc_pause_ms_per_s' in decide
          ? `; server GC ${fmt(num(decide, 'gc_pause_ms_per_s'), 1)} ms/s, longest loop stall ${fmt(num(decide, 'loop_delay_max_ms'), 1)} ms (no-I/O server ${fmt(num(decide, 'floor_loop_delay_max_ms'), 1)} ms)`
          : '') +
        (decide && 'load_cpu_us_per_req' in decide
          ? `; server CPU ${fmt(num(decide, 'load_cpu_us_per_req'))} µs/request at this rate (${fmt(num(decide, 'cpu_us_per_req'))} at max rate; baseline ${fmt(num(decide, 'baseline_load_cpu_us_per_req'))} / ${fmt(num(decide, 'baseline_cpu_us_per_req'))})`
          : ''),
      baseline:
        `p99 ${fmt(num(decide, 'baseline_p99_ms'), 2)} ms${rangeText(decide, 'baseline_p99_range', 1)}` +
        (decide && 'floor_p99_ms' in decide ? `; no-I/O node server p99 ${fmt(num(decide, 'floor_p99_ms'), 2)} ms${rangeText(decide, 'floor_p99_range', 1)}` : ''),
      ratio: '—',
      goal: 'p99 < 5 ms',
      verdict: check(num(decide, 'p99_ms'), (x) => x < 5),
    },
  ]);
  rows.set('memory', [
    {
      scenario: `memory: Redis per profile (${fmt(num(memory, 'profiles'))} profiles, 30 days)`,
      measured: `${fmt(num(memory, 'bytes_per_profile'))} B state+outbox; dedupe zset ${fmt(num(memory, 'dedupe_bytes_per_profile'))} B (24 h)`,
      baseline: '—',
      ratio: '—',
      goal: '< 1 KB',
      verdict: check(num(memory, 'bytes_per_profile'), (x) => x < 1024),
    },
    {
      scenario: 'memory: hashes not in listpack',
      measured: fmt(num(memory, 'non_listpack_keys')),
      baseline: '—',
      ratio: '—',
      goal: '0',
      verdict: check(num(memory, 'non_listpack_keys'), (x) => x === 0),
    },
  ]);
  rows.set('time_exit', [
    {
      scenario: `time exit: \`count_1m\` segment, ${fmt(num(te, 'users'))} users`,
      measured: `max ${fmt(num(te, 'max_late_s'), 2)} s late (p50 ${fmt(num(te, 'p50_late_s'), 2)} s)`,
      baseline: '—',
      ratio: '—',
      goal: '≤ 60 s',
      verdict: check(num(te, 'max_late_s'), (x) => x <= 60),
    },
  ]);
  rows.set('registry', [
    {
      scenario: `registry: processor over ${fmt(num(reg, 'events'))} wire-format events`,
      measured: `${fmt(num(reg, 'wire_events_per_s'))} events/s`,
      baseline: `${fmt(num(reg, 'json_events_per_s'))} events/s (same processor, plain JSON)`,
      ratio: ratioText(reg, 3),
      goal: '≥ 0.8×',
      verdict: check(num(reg, 'ratio'), (x) => x >= 0.8),
    },
    {
      scenario: "registry: wire format under a producer's own schema (validated)",
      measured: `${fmt(num(reg, 'wire_validated_events_per_s'))} events/s`,
      baseline: `${fmt(num(reg, 'json_events_per_s'))} events/s (plain JSON)`,
      ratio: num(reg, 'validated_ratio') === null ? '—' : `${fmt(num(reg, 'validated_ratio'), 3)}×${rangeText(reg, 'validated_ratio_range', 3)}`,
      goal: '— (informational)',
      verdict: '—',
    },
  ]);
  rows.set('engine', [
    {
      scenario: 'engine: per-event steps (seed definitions, 30-day profile; CPU time)',
      measured:
        `decode ${fmt(num(eng, 'decode_us'), 1)} · apply ${fmt(num(eng, 'apply_us'), 1)} · evaluate ${fmt(num(eng, 'evaluate_us'), 1)} · ` +
        `encode ${fmt(num(eng, 'encode_us'), 1)} µs; whole loop ${fmt(num(eng, 'per_profile_us'), 1)} µs`,
      baseline: '—',
      ratio: '—',
      goal: '— (informational)',
      verdict: '—',
    },
  ]);
  rows.set('soak', soakRows(r.soak));
  return rows;
}

/** The markdown report: machine, then one table row per measured figure, with goals. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines = [
    '# TinyCDP benchmarks',
    '',
    `${r.when} · ${r.quick ? 'quick' : 'full'} run (\`npm run bench${r.quick ? ' -- --quick' : ''}\`) · ${m.cpus} × ${m.model} · ${m.memGB} GB · Node ${m.node} · ${m.os}`,
    '',
    `Load average (1 min) ${fmt(m.loadavg?.[0], 2)} at start, ${fmt(r.loadavg_end?.[0], 2)} at the end${r.seconds ? `; ${fmt(r.seconds)} s in all` : ''}. ` +
      'Every baseline ran in the same run, interleaved with the measured side; figures are medians of repetitions, (min–max) over repetitions.',
    '',
    '| scenario | measured | baseline (same run) | ratio | goal | |',
    '|---|---|---|---|---|---|',
  ];
  const rows = sectionRows(r);
  for (const name of SCENARIOS) {
    const st = r.scenarios[name];
    const section = r[name];
    if (!st || st.status !== 'ok' || section === null) {
      const why = !st
        ? 'not run'
        : st.status === 'skipped'
          ? `not run: ${st.reason ?? st.error ?? 'no reason given'}`
          : st.status === 'missing' ? `missing: ${st.error ?? ''}` : `error: ${st.error ?? ''}`;
      lines.push(`| ${name} | ${escapeCell(why)} | — | — | — | — |`);
      continue;
    }
    for (const row of rows.get(name)!) {
      lines.push(`| ${row.scenario} | ${row.measured} | ${row.baseline} | ${row.ratio} | ${row.goal} | ${mark(row.verdict)} |`);
    }
  }
  lines.push(...details(r));
  const stale = SCENARIOS.filter((s) => r.scenarios[s] && r.scenarios[s]!.when !== r.when);
  if (stale.length > 0) {
    lines.push('', `Kept from earlier runs (not re-run this time): ${stale.map((s) => `${s} (${r.scenarios[s]!.when})`).join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200);
}

/** The pipeline's scale-out figures (no goal of their own): 2 processor instances against 1, same run. */
function scaleOutRows(pipeline: Section): Row[] {
  const so = pipeline?.['scale_out'] as
    | {
        events_per_s: Record<string, number>;
        events_per_s_range: Record<string, [number, number]>;
        speedup: number;
        ratio_vs_raw: number;
        max_rss_mb?: Record<string, number>;
      }
    | undefined;
  if (!so) return [];
  const [lo, hi] = so.events_per_s_range['2'] ?? [];
  return [
    {
      scenario: 'pipeline: 2 processor instances in one group (one process each)',
      measured: `${fmt(so.events_per_s['2'])} events/s (${fmt(lo)}–${fmt(hi)})${rss(so.max_rss_mb?.['2'])}`,
      baseline: `${fmt(so.events_per_s['1'])} events/s (1 instance, same method)${rss(so.max_rss_mb?.['1'])}`,
      ratio: `${fmt(so.speedup, 2)}× of 1 instance; ${fmt(so.ratio_vs_raw, 3)}× of raw consume`,
      goal: '— (scale-out, info)',
      verdict: '—',
    },
  ];
}

/** An instance process's peak RSS, when the run measured it. */
function rss(mb: number | undefined): string {
  return mb === undefined ? '' : `; peak RSS ${fmt(mb)} MB per process`;
}

/** A few bullets of context under the table: what limited the measured side, where to look next. */
function details(r: BenchResults): string[] {
  const out: string[] = [];
  const p = r.pipeline;
  if (p && r.scenarios['pipeline']?.status === 'ok') {
    const areas = (p['profile_areas'] as { area: string; self_pct: number }[] | undefined) ?? [];
    if (areas.length > 0) {
      out.push(`- pipeline profile (bench/results/pipeline-profile.md): ${areas.map((a) => `${a.area} ${fmt(a.self_pct, 1)}%`).join(', ')} of busy main-thread time.`);
    }
    const cpu = p['cpu'] as { wall_s: number; processes: Record<string, { cores: number }> } | null | undefined;
    if (cpu) out.push(`- pipeline CPU (cores busy while processing): ${Object.entries(cpu.processes).map(([k, v]) => `${k} ${fmt(v.cores, 2)}`).join(', ')}.`);
    const first = p['first_batch_ms'];
    const baseFirst = p['baseline_first_batch_ms'];
    if (typeof first === 'number' && typeof baseFirst === 'number') {
      // Both rates include their first fetch; the baseline's whole run is little more than it.
      const n = num(p, 'events') ?? 0;
      const rawMs = (n / (num(p, 'baseline_events_per_s') || 1)) * 1000;
      out.push(
        `- pipeline first fetch (group assignment → first batch): processor ${fmt(first)} ms, baseline ${fmt(baseFirst)} ms of its ${fmt(rawMs)} ms run (medians).`,
      );
    }
  }
  const f = r.freshness;
  if (f && r.scenarios['freshness']?.status === 'ok') {
    out.push(
      `- freshness: /v1/track p50 ${fmt(num(f, 'ingest_p50_ms'), 1)} ms / p99 ${fmt(num(f, 'ingest_p99_ms'), 1)} ms (due → 200); ` +
        `per-repetition p99 state ${rangeText(f, 'p99_range', 1).trim()}, change ${rangeText(f, 'change_p99_range', 1).trim()}, baseline ${rangeText(f, 'baseline_p99_range', 1).trim()}; ` +
        `missing ${fmt(num(f, 'missing_state'))} state / ${fmt(num(f, 'missing_change'))} changes.`,
    );
  }
  const mem = r.memory;
  if (mem && r.scenarios['memory']?.status === 'ok') {
    const shared = (mem['non_listpack_shared'] as string[] | undefined) ?? [];
    out.push(
      `- memory: state hash p50 ${fmt(num(mem, 'state_bytes_p50'))} B, max ${fmt(num(mem, 'state_bytes_max'))} B, ${fmt(num(mem, 'fields_per_profile_p50'))} fields (p50)` +
        `${shared.length > 0 ? `; shared keys not in listpack: ${shared.join(', ')}` : ''}.`,
    );
  }
  if (r.soak && r.scenarios['soak']?.status === 'ok') out.push(soakDetails(r.soak));
  return out.length > 0 ? ['', ...out] : [];
}

/** Soak (bench/soak.ts): steady load with every service up; latencies, lag, processor memory and errors against their budgets. */
function soakRows(sk: Section): Row[] {
  const load = `${fmt(num(sk, 'duration_s'))} s at ${fmt(num(sk, 'rate_per_s'))} events/s + ${fmt(num(sk, 'decide_rps'))} decide req/s`;
  const lagMaxS = num(sk, 'lag_max_s');
  const lagFinal = num(sk, 'lag_final');
  const drain = num(sk, 'drain_s');
  return [
    {
      scenario: `soak: ingest POST /v1/batch latency (${load})`,
      measured: `p50 ${fmt(num(sk, 'ingest_p50_ms'), 1)} ms, p99 ${fmt(num(sk, 'ingest_p99_ms'), 1)} ms`,
      baseline: '—',
      ratio: '—',
      goal: 'p99 < 250 ms',
      verdict: check(num(sk, 'ingest_p99_ms'), (x) => x < 250),
    },
    {
      scenario: 'soak: decide latency under the same load',
      measured: `p50 ${fmt(num(sk, 'decide_p50_ms'), 2)} ms, p99 ${fmt(num(sk, 'decide_p99_ms'), 2)} ms`,
      baseline: '—',
      ratio: '—',
      goal: 'p99 < 5 ms',
      verdict: check(num(sk, 'decide_p99_ms'), (x) => x < 5),
    },
    {
      scenario: 'soak: processor consumer lag',
      measured:
        `max ${fmt(num(sk, 'lag_max'))} events (${fmt(lagMaxS, 2)} s of traffic); after the load ${fmt(lagFinal)}` +
        `${drain === null ? '' : ` (drained in ${fmt(drain, 1)} s)`}`,
      baseline: '—',
      ratio: '—',
      goal: 'final 0, max ≤ 5 s of traffic',
      verdict: lagMaxS === null || lagFinal === null ? '—' : lagFinal === 0 && lagMaxS <= 5 ? 'met' : 'missed',
    },
    {
      scenario: 'soak: processor live heap (after GC), slope after warm-up',
      measured:
        `${fmt(num(sk, 'heap_start_mb'), 1)} → ${fmt(num(sk, 'heap_end_mb'), 1)} MB, ${fmt(num(sk, 'heap_slope_mb_per_min'), 2)} MB/min; ` +
        `RSS ${fmt(num(sk, 'rss_start_mb'))} → ${fmt(num(sk, 'rss_end_mb'))} MB`,
      baseline: '—',
      ratio: '—',
      goal: '< 1 MB/min',
      verdict: check(num(sk, 'heap_slope_mb_per_min'), (x) => x < 1),
    },
    {
      scenario: 'soak: errors (non-2xx, broken connections, decide ERROR answers, DLQ)',
      measured: fmt(num(sk, 'errors')),
      baseline: '—',
      ratio: '—',
      goal: '0',
      verdict: check(num(sk, 'errors'), (x) => x === 0),
    },
  ];
}

function soakDetails(sk: Record<string, unknown>): string {
  const every = (sk['every_10s'] as { heap_mb?: number[]; lag?: number[] } | undefined) ?? {};
  const list = (xs: number[] | undefined, digits = 0) => (xs && xs.length > 0 ? xs.map((x) => fmt(x, digits)).join(' ') : '—');
  const la = sk['loadavg'] as number[] | undefined;
  return (
    `- soak: processor live heap every 10 s ${list(every.heap_mb, 1)} MB; lag every 10 s ${list(every.lag)}; ` +
    `events acked ${fmt(num(sk, 'events_acked'))}, processed ${fmt(num(sk, 'events_processed'))}; ` +
    `achieved ${fmt(num(sk, 'ingest_achieved_rps'))} batch req/s, ${fmt(num(sk, 'decide_achieved_rps'))} decide req/s; ` +
    `decide max ${fmt(num(sk, 'decide_max_ms'), 1)} ms, forced GC in the processor p50 ${fmt(num(sk, 'gc_p50_ms'), 1)} ms; ` +
    `load average ${fmt(la?.[0], 2)} → ${fmt(la?.[1], 2)}.`
  );
}
