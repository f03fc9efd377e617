import type { Logger } from 'pino';
import { AppError } from '@tinycdp/common';
import { decodeProfile, encodeProfile, encodedFieldsDiff, type SeriesState } from '@tinycdp/engine';
import type { CdpEvent } from '@tinycdp/events';
import type { EventLogReader, LogMessage, ProfileRepository } from '../ports';
import { decodeMessageWith, type ValueDecoder } from '../pipeline/decode';
import { mergeSeriesInto, rebuildSeries } from './fenced-apply';
import type { PhaseContext } from './phase-context';

export interface BackfillDeps {
  readonly repo: ProfileRepository;
  readonly reader: EventLogReader;
  /** Events topic name (deterministic ids for messages without messageId, as the live path makes). */
  readonly topic: string;
  readonly chunkSize: number;
  readonly logger: Logger;
  /** The live path's value decoder (schema registry wire format or plain JSON). */
  readonly decodeValue?: ValueDecoder;
  /** Test hook: runs after a chunk was merged, before its checkpoint (a throw simulates a crash). */
  readonly afterChunk?: (chunk: { partition: number; from: number; to: number }) => Promise<void> | void;
}

/** Dedupe id of one chunk for one series: recorded with the merge, in the profile's message-id set. */
export function chunkId(series: string, partition: number, fence: number, from: number): string {
  return `tinycdp:backfill:${series}:${partition}:${fence}:${from}`;
}

const MAX_CAS_ATTEMPTS = 8;
const WRITE_CONCURRENCY = 64;

/**
 * Rebuilds the run's new series from the events log: for every partition, reads the offsets below each
 * series' fence (the live path applies the series at and above it), in chunks. A chunk's events are
 * folded per profile into scratch series (only the new ones), then added into the stored profile with
 * a compare-and-set write that also records one dedupe id per series and chunk — so a chunk merged
 * again after a crash (its checkpoint not yet written) is skipped by the profiles that already have it.
 * The chunk's exact range is checkpointed before merging, so a resumed run re-reads the same events.
 * Profiles are not evaluated here (partial history would flap segments); the re-evaluation pass does.
 * Returns false when stopped early. Throws AppError('unavailable') on infrastructure faults.
 */
export async function backfillPhase(deps: BackfillDeps, ctx: PhaseContext): Promise<boolean> {
  const run = ctx.run;
  const fence = (s: string, p: number): number => run.fences[s]?.[String(p)] ?? 0;
  const next = (s: string, p: number): number => run.next[s]?.[String(p)] ?? 0;
  const setNext = (s: string, p: number, v: number) => void ((run.next[s] ??= {})[String(p)] = v);
  const partitions = [...new Set(Object.values(run.fences).flatMap((f) => Object.keys(f).map(Number)))].sort((a, b) => a - b);

  for (const p of partitions) {
    for (;;) {
      if (ctx.stopped()) return false;
      const active = run.newSeries.filter((s) => next(s, p) < fence(s, p));
      if (active.length === 0) break;
      let from: number;
      let to: number;
      let messages: LogMessage[];
      if (run.chunk && run.chunk.partition === p) {
        ({ from, to } = run.chunk);
        messages = await readRange(deps.reader, p, from, to, deps.chunkSize);
      } else {
        from = Math.min(...active.map((s) => next(s, p)));
        const maxFence = Math.max(...active.map((s) => fence(s, p)));
        messages = (await deps.reader.read(p, from, deps.chunkSize)).filter((m) => Number(m.offset) >= from && Number(m.offset) < maxFence);
        if (messages.length === 0) {
          // Nothing retained below the fences (or only gaps): these series are complete here.
          for (const s of active) setNext(s, p, fence(s, p));
          await ctx.checkpoint();
          continue;
        }
        to = Number(messages[messages.length - 1]!.offset);
        run.chunk = { partition: p, from, to };
        await ctx.checkpoint();
      }
      await mergeChunk(deps, ctx, p, messages, active, fence, next);
      await deps.afterChunk?.({ partition: p, from, to });
      for (const s of active) if (next(s, p) <= to) setNext(s, p, Math.min(to + 1, fence(s, p)));
      run.chunk = null;
      run.eventsProcessed += messages.length;
      await ctx.checkpoint();
    }
  }
  return true;
}

/** Every message of `partition` in [from, to] (several reads if needed). */
async function readRange(reader: EventLogReader, partition: number, from: number, to: number, max: number): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for (let cur = from; cur <= to; ) {
    const got = (await reader.read(partition, cur, max)).filter((m) => Number(m.offset) >= cur);
    if (got.length === 0) break;
    for (const m of got) if (Number(m.offset) <= to) out.push(m);
    cur = Number(got[got.length - 1]!.offset) + 1;
  }
  return out;
}

async function mergeChunk(
  deps: BackfillDeps,
  ctx: PhaseContext,
  partition: number,
  messages: readonly LogMessage[],
  active: readonly string[],
  fence: (s: string, p: number) => number,
  next: (s: string, p: number) => number,
): Promise<void> {
  const now = ctx.now();
  const events: { event: CdpEvent; offset: number }[] = [];
  for (const m of messages) {
    const r = await decodeMessageWith(m, deps.topic, now, deps.decodeValue);
    if (r.kind === 'ok') events.push({ event: r.event, offset: Number(m.offset) });
  }
  // Route like the live path, with the links as they are now (read-only: the live path creates them).
  const anonymous = [...new Set(events.filter((e) => !e.event.userId && e.event.anonymousId).map((e) => e.event.anonymousId!))];
  const links = await deps.repo.resolveLinks(anonymous);
  const byProfile = new Map<string, Map<string, CdpEvent[]>>();
  for (const { event, offset } of events) {
    const id = event.userId ?? links.get(event.anonymousId!) ?? event.anonymousId;
    if (!id) continue;
    for (const s of active) {
      if (offset < next(s, partition) || offset >= fence(s, partition)) continue;
      let m = byProfile.get(id);
      if (!m) byProfile.set(id, (m = new Map()));
      let list = m.get(s);
      if (!list) m.set(s, (list = []));
      list.push(event);
    }
  }
  const ids = [...byProfile.keys()];
  for (let i = 0; i < ids.length; i += WRITE_CONCURRENCY) {
    await Promise.all(
      ids.slice(i, i + WRITE_CONCURRENCY).map((id) => {
        const series = rebuildSeries(id, byProfile.get(id)!, ctx.plan, now);
        const dedupe = new Map(Object.keys(series).map((s) => [s, chunkId(s, partition, fence(s, partition), next(s, partition))]));
        return mergeInto(deps.repo, id, series, dedupe, ctx, now);
      }),
    );
  }
}

async function mergeInto(
  repo: ProfileRepository,
  id: string,
  series: Record<string, SeriesState>,
  dedupe: ReadonlyMap<string, string>,
  ctx: PhaseContext,
  now: number,
): Promise<void> {
  if (dedupe.size === 0) return;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const stored = (await repo.load([{ id, messageIds: [...dedupe.values()] }])).get(id)!;
    const todo = [...dedupe].filter(([, mid]) => !stored.seen.has(mid));
    if (todo.length === 0) return;
    const add = Object.fromEntries(todo.map(([s]) => [s, series[s]!]));
    const merged = mergeSeriesInto(decodeProfile(stored.fields, id), add, ctx.plan, now);
    const diff = encodedFieldsDiff(stored.fields, encodeProfile(merged));
    const res = await repo.write(
      { id, expectedRev: stored.rev, set: diff.set, del: diff.del, messageIds: todo.map(([, mid]) => mid), changes: [] },
      now,
    );
    if (res.ok) return;
  }
  throw new AppError('unavailable', `profile ${id} kept changing during its backfill merge`, { retriable: true });
}
