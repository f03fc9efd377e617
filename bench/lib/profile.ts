/**
 * In-process CPU profiling (node:inspector Profiler, what `--cpu-prof` records) and a summary of the
 * profile: top functions by self time and self time per area (engine, dsl, events/ajv, kafkajs,
 * ioredis, node internals, GC …), so the next optimisation is chosen from data.
 */
import { Session } from 'node:inspector/promises';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Starts the sampling profiler (interval µs); the returned function stops it and returns the profile. */
export async function startCpuProfile(intervalUs = 500): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}

export interface FunctionCost {
  readonly function: string;
  readonly location: string;
  readonly area: string;
  readonly self_ms: number;
  readonly self_pct: number;
  /** The caller that accounts for most of this function's self time. */
  readonly via: string;
}

export interface ProfileSummary {
  readonly total_ms: number;
  readonly idle_pct: number;
  readonly top: FunctionCost[];
  readonly areas: { area: string; self_ms: number; self_pct: number }[];
}

/** Which part of the system a source URL belongs to. */
export function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (url === '') return 'native';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const lib = /\/(libs|services)\/([^/]+)\//.exec(url);
  if (lib) return lib[1] === 'libs' ? `@tinycdp/${lib[2]}` : `services/${lib[2]}`;
  if (url.startsWith('node:')) return 'node core';
  if (/\/bench\//.test(url)) return 'bench harness';
  return 'other';
}

function shortUrl(url: string): string {
  const i = url.search(/\/(libs|services|node_modules|bench)\//);
  return (i >= 0 ? url.slice(i + 1) : url).replace(/^file:\/\//, '');
}

/** File (and line for plain JS; tsx-transformed .ts sources report positions of generated code). */
function locationOf(url: string, lineNumber: number): string {
  if (!url) return '';
  return /\.tsx?$/.test(url) ? shortUrl(url) : `${shortUrl(url)}:${lineNumber + 1}`;
}

export function summarizeProfile(p: CpuProfile, top = 15): ProfileSummary {
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const parent = new Map<number, CpuProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const byFn = new Map<string, { fn: string; loc: string; area: string; us: number; callers: Map<string, number> }>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const n of p.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = functionName || '(anonymous)';
    const area = areaOf(url, fn);
    total += us;
    if (area === 'idle') {
      idle += us;
      continue;
    }
    const loc = locationOf(url, lineNumber);
    const key = `${fn}@${loc}`;
    const e = byFn.get(key) ?? { fn, loc, area, us: 0, callers: new Map<string, number>() };
    e.us += us;
    const caller = parent.get(n.id);
    if (caller) {
      const cf = caller.callFrame;
      const ck = `${cf.functionName || '(anonymous)'} (${locationOf(cf.url, cf.lineNumber) || 'native'})`;
      e.callers.set(ck, (e.callers.get(ck) ?? 0) + us);
    }
    byFn.set(key, e);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const busy = total - idle || 1;
  const pct = (us: number) => Math.round((us / busy) * 1000) / 10;
  return {
    total_ms: Math.round(total / 1000),
    idle_pct: Math.round((idle / (total || 1)) * 1000) / 10,
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        function: e.fn,
        location: e.loc,
        area: e.area,
        self_ms: Math.round(e.us / 1000),
        self_pct: pct(e.us),
        via: [...e.callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
      })),
    areas: [...byArea]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, self_ms: Math.round(us / 1000), self_pct: pct(us) })),
  };
}

/**
 * Inclusive CPU time (ms, and % of busy time) of the functions named, each sample counted once per
 * name found on its stack (recursion is not double counted). Async functions count the synchronous
 * slices they run, including resumptions after an await.
 */
export function inclusiveTimes(p: CpuProfile, names: readonly string[]): { function: string; ms: number; pct: number }[] {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // `fn` or `fn@<url fragment>` (to tell e.g. RedisProfileStore.write from a stream's write).
  const wanted = names.map((n) => {
    const at = n.indexOf('@', 1);
    return at < 0 ? { label: n, fn: n, url: '' } : { label: n, fn: n.slice(0, at), url: n.slice(at + 1) };
  });
  const memo = new Map<number, ReadonlySet<string>>();
  const onStack = (id: number): ReadonlySet<string> => {
    const known = memo.get(id);
    if (known) return known;
    const up = parent.get(id);
    const set = new Set(up === undefined ? [] : onStack(up));
    const frame = byId.get(id)?.callFrame;
    for (const w of wanted) if (frame && frame.functionName === w.fn && frame.url.includes(w.url)) set.add(w.label);
    memo.set(id, set);
    return set;
  };
  const us = new Map<string, number>();
  let busy = 0;
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, deltas[i + 1] ?? 0);
    const node = byId.get(samples[i]!);
    if (node?.callFrame.functionName === '(idle)') continue;
    busy += dt;
    for (const fn of onStack(samples[i]!)) us.set(fn, (us.get(fn) ?? 0) + dt);
  }
  return names
    .filter((n) => (us.get(n) ?? 0) > 0)
    .map((n) => ({ function: n, ms: Math.round(us.get(n)! / 1000), pct: Math.round((us.get(n)! / (busy || 1)) * 1000) / 10 }));
}

/** Markdown for a profile summary (percentages are of non-idle samples). */
export function profileMarkdown(
  title: string,
  s: ProfileSummary,
  notes: readonly string[] = [],
  inclusive: readonly { function: string; ms: number; pct: number }[] = [],
  inclusiveTitle = 'Inclusive CPU time of pipeline stages',
): string {
  const lines = [`# ${title}`, '', ...notes, ''];
  if (inclusive.length > 0) {
    lines.push(`## ${inclusiveTitle}`, '', 'Nested stages are included in their callers (so the column does not add up).', '');
    lines.push('| function | inclusive ms | % of busy time |', '|---|---:|---:|');
    for (const f of inclusive) lines.push(`| \`${f.function}\` | ${f.ms} | ${f.pct} |`);
    lines.push('');
  }
  lines.push(`Sampled ${s.total_ms} ms of the main thread, ${s.idle_pct}% idle (waiting on I/O). Percentages below are of the non-idle time.`, '');
  lines.push('## Top self-time functions', '', '| # | function | where | area | self ms | self % | mostly called from |', '|---|---|---|---|---:|---:|---|');
  s.top.forEach((f, i) =>
    lines.push(`| ${i + 1} | \`${f.function}\` | ${f.location || '—'} | ${f.area} | ${f.self_ms} | ${f.self_pct} | ${f.via.replace(/\|/g, '\\|')} |`),
  );
  lines.push('', '## Self time by area', '', '| area | self ms | self % |', '|---|---:|---:|');
  for (const a of s.areas) lines.push(`| ${a.area} | ${a.self_ms} | ${a.self_pct} |`);
  return `${lines.join('\n')}\n`;
}
