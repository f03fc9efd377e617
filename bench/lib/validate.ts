/**
 * Checks a bench results document (latest.json) the way CI needs it: every scenario asked for was
 * measured by this run, none errored or is missing, and the figures the report shows are finite numbers.
 * Goals that are missed are NOT problems (they are reported honestly in the table); a scenario that
 * could not run on the machine (`skipped`, with its reason) is a note, not a problem. Pure.
 */
import { SCENARIOS } from './report';

/** The numeric fields each scenario's report rows are made of. */
export const REQUIRED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  dsl: ['evals_per_s', 'baseline_evals_per_s', 'ratio', 'compile_us'],
  ingest: ['events_per_s', 'baseline_events_per_s', 'ratio', 'batch_size', 'concurrency'],
  pipeline: ['events', 'events_per_s', 'baseline_events_per_s', 'ratio'],
  freshness: ['rate_per_s', 'p50_ms', 'p99_ms', 'baseline_p99_ms', 'change_p50_ms', 'change_p99_ms'],
  decide: ['rps', 'baseline_rps', 'ratio', 'load_rps', 'p50_ms', 'p99_ms', 'baseline_p99_ms'],
  memory: ['profiles', 'bytes_per_profile', 'dedupe_bytes_per_profile', 'non_listpack_keys'],
  time_exit: ['users', 'max_late_s', 'p50_late_s'],
  registry: ['events', 'json_events_per_s', 'wire_events_per_s', 'wire_validated_events_per_s', 'ratio', 'validated_ratio'],
  engine: ['decode_us', 'apply_us', 'evaluate_us', 'encode_us', 'per_profile_us'],
  soak: [
    'duration_s',
    'rate_per_s',
    'ingest_p99_ms',
    'decide_p99_ms',
    'lag_max',
    'lag_final',
    'heap_slope_mb_per_min',
    'rss_start_mb',
    'rss_end_mb',
    'errors',
    'events_acked',
    'events_processed',
  ],
};

export interface Validation {
  /** Each one fails CI: harness or scenario broken, figure missing or not a number. */
  readonly problems: string[];
  /** Informational (a scenario not run on this machine, and why). */
  readonly notes: string[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

/** @param expected the scenarios this run was asked for (default: all). */
export function validateResults(doc: unknown, expected: readonly string[] = SCENARIOS): Validation {
  const problems: string[] = [];
  const notes: string[] = [];
  if (!isObject(doc) || typeof doc['when'] !== 'string' || !isObject(doc['scenarios'])) {
    return { problems: ['not a bench results document (needs `when` and `scenarios`)'], notes };
  }
  const when = doc['when'];
  const statuses = doc['scenarios'];
  for (const name of expected) {
    const st = statuses[name];
    if (!isObject(st)) {
      problems.push(`${name}: no status — the scenario was not run`);
      continue;
    }
    if (st['when'] !== when) problems.push(`${name}: kept from an earlier run (${String(st['when'])}), not measured by this one`);
    const status = st['status'];
    if (status === 'skipped') {
      const reason = typeof st['reason'] === 'string' && st['reason'].trim() !== '' ? st['reason'] : null;
      if (reason === null) problems.push(`${name}: skipped without a reason`);
      else notes.push(`${name}: not run: ${reason}`);
      continue;
    }
    if (status === 'error' || status === 'missing') {
      problems.push(`${name}: ${status}: ${String(st['error'] ?? '(no message)')}`);
      continue;
    }
    if (status !== 'ok') {
      problems.push(`${name}: unknown status ${JSON.stringify(status)}`);
      continue;
    }
    const section = doc[name];
    if (!isObject(section)) {
      problems.push(`${name}: status ok but no \`${name}\` section`);
      continue;
    }
    const required = REQUIRED_FIELDS[name];
    if (required === undefined) {
      if (!Object.values(section).some(finite)) problems.push(`${name}: the section has no numeric figure`);
      continue;
    }
    for (const k of required) {
      if (!finite(section[k])) problems.push(`${name}.${k} is ${JSON.stringify(section[k]) ?? 'absent'}, not a finite number`);
    }
  }
  return { problems, notes };
}
