// Unit tests of the bench harness (no services): stats helpers, profile summary, markdown table.
import { describe, expect, it } from 'vitest';
import { renderMarkdown, fmt, type BenchResults } from './lib/report';
import { summarizeProfile, areaOf, type CpuProfile } from './lib/profile';
import { parseVariant } from './pipeline-ab';
import { WARMUP, interleaved, median, pairedRatios, percentile, range, round, summary } from './lib/stats';

describe('stats', () => {
  it('median of odd and even counts, NaN when empty, input untouched', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('percentile is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('range, summary and paired ratios', () => {
    expect(range([3, -1, 2])).toEqual([-1, 3]);
    expect(range([])).toEqual([NaN, NaN]);
    // Large inputs must not blow the stack (no Math.min(...xs)).
    expect(range(Array.from({ length: 200_000 }, (_, i) => i))).toEqual([0, 199_999]);
    expect(summary([2, 9, 4])).toEqual({ median: 4, min: 2, max: 9 });
    expect(pairedRatios([10, 30, 20], [20, 30, 10])).toEqual({ median: 1, min: 0.5, max: 2 });
    expect(() => pairedRatios([1], [1, 2])).toThrow(/repetitions/);
    expect(round(1.23456, 2)).toBe(1.23);
  });

  it('interleaved warms both sides up first, then alternates ab, ba, ab', async () => {
    const calls: string[] = [];
    const r = await interleaved(
      3,
      async (rep) => {
        calls.push(`a${rep === WARMUP ? 'w' : rep}`);
        return rep;
      },
      async (rep) => {
        calls.push(`b${rep === WARMUP ? 'w' : rep}`);
        return rep * 10;
      },
    );
    expect(calls).toEqual(['aw', 'bw', 'a0', 'b0', 'b1', 'a1', 'a2', 'b2']);
    expect(r).toEqual({ a: [0, 1, 2], b: [0, 10, 20] });
  });
});

describe('profile summary', () => {
  it('attributes self time by sample deltas, ranks functions, groups areas and skips idle', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('applyEvents', 'file:///r/libs/engine/src/apply.ts'), children: [5] },
        { id: 4, callFrame: frame('(garbage collector)', '') },
        { id: 5, callFrame: frame('encode', 'file:///r/node_modules/kafkajs/src/protocol/encoder.js') },
      ],
      startTime: 0,
      endTime: 10_000,
      // Sample i lasts until sample i+1: idle 1 ms, applyEvents 3 ms, encode 2 ms, GC 1 ms (the last sample 0).
      samples: [2, 3, 3, 3, 5, 5, 4, 3],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const s = summarizeProfile(profile, 2);
    expect(s.total_ms).toBe(7);
    expect(s.idle_pct).toBe(14.3);
    expect(s.top.map((f) => f.function)).toEqual(['applyEvents', 'encode']);
    expect(s.top[0]).toMatchObject({ area: '@tinycdp/engine', self_ms: 3, self_pct: 50, location: 'libs/engine/src/apply.ts' });
    expect(s.top[1]).toMatchObject({ area: 'kafkajs', self_pct: 33.3, location: 'node_modules/kafkajs/src/protocol/encoder.js:1', via: 'applyEvents (libs/engine/src/apply.ts)' });
    expect(s.areas.map((a) => a.area)).toEqual(['@tinycdp/engine', 'kafkajs', 'GC']);
  });

  it('names areas from source urls', () => {
    expect(areaOf('file:///x/node_modules/@kafkajs/confluent-schema-registry/a.js', 'f')).toBe('@kafkajs/confluent-schema-registry');
    expect(areaOf('file:///x/services/processor/src/app.ts', 'f')).toBe('services/processor');
    expect(areaOf('node:net', 'f')).toBe('node core');
    expect(areaOf('', '(program)')).toBe('V8/native (program)');
  });
});

function fixture(): BenchResults {
  const when = '2026-01-02T03:04:05.000Z';
  const ok = { status: 'ok' as const, when, quick: true, seconds: 10 };
  return {
    machine: { cpus: 2, model: 'Test CPU', memGB: 8, node: 'v20.0.0', os: 'Linux 6 x64', loadavg: [1.5, 1, 1] },
    when,
    quick: true,
    dsl: { evals_per_s: 6_000_000, baseline_evals_per_s: 12_000_000, ratio: 0.5, compile_us: 120 },
    ingest: { events_per_s: 5000, baseline_events_per_s: 8000, ratio: 0.625, ratio_range: [0.6, 0.7], batch_size: 100, concurrency: 8 },
    pipeline: {
      events: 20000,
      events_per_s: 4000,
      baseline_events_per_s: 160000,
      ratio: 0.025,
      ratio_range: [0.02, 0.03],
      profile_areas: [{ area: 'GC', self_pct: 25.5 }],
      first_batch_ms: 110,
      baseline_first_batch_ms: 100,
      cpu: { wall_s: 5, processes: { 'bench process (code under test)': { cpu_s: 5, cores: 1 } } },
      scale_out: {
        events_per_s: { '1': 4000, '2': 6400 },
        events_per_s_range: { '1': [3900, 4100], '2': [6000, 6800] },
        speedup: 1.6,
        ratio_vs_raw: 0.04,
        cpu_us_per_event: { '1': 250, '2': 260 },
        max_rss_mb: { '1': 410, '2': 455 },
        reps: 1,
      },
    },
    freshness: {
      rate_per_s: 100,
      p50_ms: 20,
      p99_ms: 90.5,
      baseline_p99_ms: 30,
      change_p50_ms: 40,
      change_p99_ms: 300,
      ingest_p50_ms: 3,
      ingest_p99_ms: 9,
      p99_range: [80, 95],
      change_p99_range: [250, 320],
      baseline_p99_range: [25, 35],
      missing_state: 0,
      missing_change: 1,
    },
    decide: null,
    memory: { profiles: 1000, bytes_per_profile: 633, non_listpack_keys: 0, dedupe_bytes_per_profile: 555, state_bytes_p50: 700, state_bytes_max: 840, fields_per_profile_p50: 25, non_listpack_shared: ['{defs}: hashtable'] },
    time_exit: { users: 200, max_late_s: 1.2, p50_late_s: 0.9 },
    registry: {
      events: 20000,
      json_events_per_s: 10000,
      wire_events_per_s: 8500,
      wire_validated_events_per_s: 6000,
      ratio: 0.85,
      ratio_range: [0.8, 0.9],
      validated_ratio: 0.6,
      validated_ratio_range: [0.55, 0.65],
    },
    engine: { decode_us: 28.04, apply_us: 18.1, evaluate_us: 19.2, encode_us: 12.3, diff_us: 3, validate_us: 5, per_profile_us: 80.55 },
    soak: {
      duration_s: 30,
      rate_per_s: 1000,
      decide_rps: 200,
      ingest_p50_ms: 6.6,
      ingest_p99_ms: 139.8,
      decide_p50_ms: 2.69,
      decide_p99_ms: 7.5,
      lag_max: 820,
      lag_max_s: 0.82,
      lag_final: 0,
      drain_s: 1.1,
      heap_start_mb: 25.5,
      heap_end_mb: 26.1,
      heap_slope_mb_per_min: 0.4,
      rss_start_mb: 153.9,
      rss_end_mb: 139,
      errors: 0,
      events_acked: 34981,
      events_processed: 34981,
      every_10s: { heap_mb: [25.2, 25.8], rss_mb: [154, 157], lag: [200, 38] },
      loadavg: [2.5, 3],
    },
    scenarios: {
      dsl: ok,
      ingest: ok,
      pipeline: ok,
      freshness: ok,
      decide: { status: 'missing', when, quick: true, seconds: 0, error: 'bench/decide.ts not found' },
      memory: ok,
      time_exit: { ...ok, when: '2025-12-31T00:00:00.000Z' },
      registry: ok,
      engine: ok,
      soak: ok,
    },
    loadavg_end: [2.25, 1, 1],
    seconds: 280,
  };
}

describe('markdown report', () => {
  const md = renderMarkdown(fixture());
  const rows = md.split('\n').filter((l) => l.startsWith('| '));

  it('has a header with the machine and one well-formed row per figure', () => {
    expect(md).toContain('2 × Test CPU · 8 GB · Node v20.0.0');
    expect(md).toContain('Load average (1 min) 1.5 at start, 2.25 at the end; 280 s in all');
    const width = rows[0]!.split('|').length;
    for (const r of rows) expect(r.split('|').length).toBe(width);
  });

  it('formats figures, ratios with ranges and verdicts against the goals', () => {
    const row = (prefix: string) => rows.find((r) => r.startsWith(`| ${prefix}`))!;
    expect(row('ingest')).toContain('5,000 events/s');
    expect(row('ingest')).toContain('0.63× (0.6–0.7)');
    expect(row('ingest')).toContain('✅ met');
    expect(row('pipeline: processor')).toContain('❌ missed');
    expect(row('pipeline: 2 processor instances')).toContain('6,400 events/s (6,000–6,800)');
    expect(row('pipeline: 2 processor instances')).toContain('1.6× of 1 instance; 0.04× of raw consume');
    expect(row('pipeline: 2 processor instances')).toContain('(6,000–6,800); peak RSS 455 MB per process');
    expect(row('pipeline: 2 processor instances')).toContain('(1 instance, same method); peak RSS 410 MB per process');
    expect(row('dsl: evaluate')).toContain('✅ met'); // 0.5 meets ≥ 0.5
    expect(row('dsl: parse')).toContain('❌ missed');
    expect(row('freshness: 200 → state')).toContain('p99 90.5 ms');
    expect(row('freshness: 200 → state')).toContain('✅ met');
    expect(row('freshness: 200 → `entered`')).toContain('❌ missed');
    expect(row('memory: Redis')).toContain('633 B');
    expect(row('memory: hashes')).toContain('✅ met');
    expect(row('time exit')).toContain('max 1.2 s late');
    // The first fetch beside the baseline's whole run (20,000 events at 160,000/s: 125 ms).
    expect(md).toContain('- pipeline first fetch (group assignment → first batch): processor 110 ms, baseline 100 ms of its 125 ms run (medians).');
  });

  it('puts the no-I/O floor server beside the baseline in the decide latency row', () => {
    const decide = { rps: 20_000, baseline_rps: 25_000, ratio: 0.8, load_rps: 12_500, p50_ms: 0.5, p99_ms: 7.25, p99_range: [6, 9], baseline_p99_ms: 6.5, baseline_p99_range: [5, 8], floor_p99_ms: 4.5, floor_p99_range: [3, 6] };
    const f = fixture();
    const scenarios = { ...f.scenarios, decide: { status: 'ok' as const, when: f.when, quick: true, seconds: 60 } };
    const row = renderMarkdown({ ...f, decide, scenarios }).split('\n').find((r) => r.startsWith('| decide: latency at 12,500 req/s'))!;
    expect(row).toContain('p50 0.5 ms, p99 7.25 ms (6–9)');
    expect(row).toContain('p99 6.5 ms (5–8); no-I/O node server p99 4.5 ms (3–6)');
    expect(row).toContain('❌ missed');
  });

  it('says why a section is absent and which sections are from earlier runs', () => {
    expect(rows.find((r) => r.startsWith('| decide'))).toBe('| decide | missing: bench/decide.ts not found | — | — | — | — |');
    expect(md).toContain('Kept from earlier runs (not re-run this time): time_exit (2025-12-31T00:00:00.000Z)');
    expect(md).toContain('- pipeline profile (bench/results/pipeline-profile.md): GC 25.5%');
    expect(md).toContain('shared keys not in listpack: {defs}: hashtable');
  });

  it('has the registry ratio against its goal and the engine micro figures as an informational row', () => {
    const row = (prefix: string) => rows.find((r) => r.startsWith(`| ${prefix}`))!;
    expect(row('registry: processor over 20,000')).toContain('8,500 events/s');
    expect(row('registry: processor over 20,000')).toContain('10,000 events/s (same processor, plain JSON)');
    expect(row('registry: processor over 20,000')).toContain('0.85× (0.8–0.9)');
    expect(row('registry: processor over 20,000')).toContain('✅ met');
    expect(row("registry: wire format under a producer's own schema")).toContain('0.6× (0.55–0.65)');
    expect(row('engine:')).toContain('decode 28 · apply 18.1 · evaluate 19.2 · encode 12.3 µs; whole loop 80.6 µs');
    expect(row('engine:')).toMatch(/\| — \|$/);
  });

  it('says "not run: <why>" for a scenario that could not run here', () => {
    const base = fixture();
    const r: BenchResults = {
      ...base,
      registry: null,
      scenarios: { ...base.scenarios, registry: { status: 'skipped', when: base.when, quick: true, seconds: 1, reason: 'no Java 21+ for the schema registry' } },
    };
    const out = renderMarkdown(r).split('\n');
    expect(out).toContain('| registry | not run: no Java 21+ for the schema registry | — | — | — | — |');
  });

  it('has the soak figures against their budgets (met and missed) and its per-10-s series', () => {
    const row = (prefix: string) => rows.find((r) => r.startsWith(`| ${prefix}`))!;
    expect(row('soak: ingest')).toContain('30 s at 1,000 events/s + 200 decide req/s');
    expect(row('soak: ingest')).toContain('p50 6.6 ms, p99 139.8 ms');
    expect(row('soak: ingest')).toContain('✅ met');
    expect(row('soak: decide')).toContain('p99 7.5 ms');
    expect(row('soak: decide')).toContain('❌ missed');
    expect(row('soak: processor consumer lag')).toContain('max 820 events (0.82 s of traffic); after the load 0 (drained in 1.1 s)');
    expect(row('soak: processor consumer lag')).toContain('✅ met');
    expect(row('soak: processor live heap')).toContain('25.5 → 26.1 MB, 0.4 MB/min; RSS 154 → 139 MB');
    expect(row('soak: processor live heap')).toContain('✅ met');
    expect(row('soak: errors')).toMatch(/\| 0 \| — \| — \| 0 \| ✅ met \|$/);
    expect(md).toContain('- soak: processor live heap every 10 s 25.2 25.8 MB; lag every 10 s 200 38; events acked 34,981, processed 34,981');

    const base = fixture();
    const bad = renderMarkdown({ ...base, soak: { ...base.soak, lag_final: 12, heap_slope_mb_per_min: 3.2, errors: 4 } }).split('\n');
    const badRow = (prefix: string) => bad.find((r) => r.startsWith(`| ${prefix}`))!;
    expect(badRow('soak: processor consumer lag')).toContain('❌ missed');
    expect(badRow('soak: processor live heap')).toContain('❌ missed');
    expect(badRow('soak: errors')).toContain('❌ missed');
  });

  it('soak heap slope is least squares per minute', async () => {
    const { slopePerMinute } = await import('./soak');
    expect(slopePerMinute(Array.from({ length: 60 }, (_, t) => ({ t, y: 30 + t / 60 })))).toBeCloseTo(1, 9);
    // A saw-tooth around a flat level: no slope.
    expect(slopePerMinute(Array.from({ length: 61 }, (_, t) => ({ t, y: 30 + (t % 2 === 0 ? 1 : -1) })))).toBeCloseTo(0, 9);
    expect(slopePerMinute([{ t: 0, y: 1 }])).toBeNaN();
  });

  it('fmt copes with missing values', () => {
    expect(fmt(undefined)).toBe('—');
    expect(fmt(NaN)).toBe('—');
    expect(fmt(1234.567, 1)).toBe('1,234.6');
  });
});

describe('README performance section', () => {
  it('is replaced between the markers and nowhere else', async () => {
    const { spliceReadme } = await import('./lib/readme');
    const readme = 'intro\n<!-- bench:start -->\nold table\n<!-- bench:end -->\noutro\n';
    const out = spliceReadme(readme, '# TinyCDP benchmarks\n\n| a | b |\n|---|---|\n');
    expect(out).toBe('intro\n<!-- bench:start -->\n| a | b |\n|---|---|\n<!-- bench:end -->\noutro\n');
    expect(() => spliceReadme('no markers', 'x')).toThrow(/bench:start/);
  });
});

describe('bench command line', () => {
  it('parses --quick, --only (dash or underscore) and --out (resolved; env fallback)', async () => {
    const { parseArgs } = await import('./lib/args');
    const { SCENARIOS } = await import('./lib/report');
    expect(parseArgs([])).toEqual({ quick: false, only: [...SCENARIOS], out: null });
    expect(parseArgs(['--quick', '--only=registry,time-exit,engine', '--out=out/b'], {}, '/tmp')).toEqual({
      quick: true,
      only: ['registry', 'time_exit', 'engine'],
      out: '/tmp/out/b',
    });
    expect(parseArgs([], { TINYCDP_BENCH_OUT: '/tmp/ci' }).out).toBe('/tmp/ci');
    expect(parseArgs(['--out=/tmp/a'], { TINYCDP_BENCH_OUT: '/tmp/ci' }).out).toBe('/tmp/a');
    expect(() => parseArgs(['--only=nope'])).toThrow(/unknown scenario\(s\) nope/);
    expect(() => parseArgs(['--out', '/tmp/x'])).toThrow(/--out needs a value/);
    expect(() => parseArgs(['--only='])).toThrow(/names no scenario/);
  });
});

describe('CI validation of latest.json', () => {
  it('accepts the fixture with missed goals, a skipped scenario (a note) and flags stale, errored and NaN sections', async () => {
    const { validateResults } = await import('./lib/validate');
    const base = fixture();
    const fresh = Object.fromEntries(Object.entries(base.scenarios).map(([k, v]) => [k, { ...v, status: 'ok' as const, when: base.when }]));
    const good = { ...base, decide: { rps: 1, baseline_rps: 2, ratio: 0.5, load_rps: 1, p50_ms: 1, p99_ms: 9, baseline_p99_ms: 2 }, scenarios: fresh };
    // pipeline 0.025× and dsl compile 120 µs miss their goals: not problems.
    expect(validateResults(JSON.parse(JSON.stringify(good)))).toEqual({ problems: [], notes: [] });

    const skipped = { ...good, registry: null, scenarios: { ...fresh, registry: { status: 'skipped', when: base.when, quick: true, seconds: 1, reason: 'no Java 21+' } } };
    expect(validateResults(skipped)).toEqual({ problems: [], notes: ['registry: not run: no Java 21+'] });

    // NaN becomes null in JSON; a missing field and a string are not figures either.
    const bad = JSON.parse(
      JSON.stringify({
        ...good,
        engine: { ...good.engine, decode_us: NaN, apply_us: undefined, encode_us: '12' },
        scenarios: {
          ...fresh,
          ingest: { ...fresh['ingest'], status: 'error', error: 'kafka down' },
          time_exit: { ...fresh['time_exit'], when: '2025-12-31T00:00:00.000Z' },
          memory: undefined,
          registry: { ...fresh['registry'], status: 'skipped' },
        },
      }),
    ) as unknown;
    expect(validateResults(bad).problems).toEqual([
      'ingest: error: kafka down',
      'memory: no status — the scenario was not run',
      'time_exit: kept from an earlier run (2025-12-31T00:00:00.000Z), not measured by this one',
      'registry: skipped without a reason',
      'engine.decode_us is null, not a finite number',
      'engine.apply_us is absent, not a finite number',
      'engine.encode_us is "12", not a finite number',
    ]);
    expect(validateResults({ ...good, dsl: null }, ['dsl']).problems).toEqual(['dsl: status ok but no `dsl` section']);
    expect(validateResults({ nope: 1 }).problems).toEqual(['not a bench results document (needs `when` and `scenarios`)']);
  });
});

describe('pipeline-ab variants', () => {
  it('parses environment and node-flag tokens, empty is the default, anything else is refused', () => {
    expect(parseVariant('')).toEqual({ env: {}, nodeFlags: [] });
    expect(parseVariant(' TINYCDP_FETCH_THREAD=true  node:--single-threaded-gc X=a=b ')).toEqual({
      env: { TINYCDP_FETCH_THREAD: 'true', X: 'a=b' },
      nodeFlags: ['--single-threaded-gc'],
    });
    expect(() => parseVariant('--flag')).toThrow(/NAME=value or node:<flag>/);
    expect(() => parseVariant('=x')).toThrow(/"=x"/);
  });
});

