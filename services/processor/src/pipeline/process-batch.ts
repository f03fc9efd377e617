import type { Logger } from 'pino';
import type { CdpEvent } from '@tinycdp/events';
import type { LogMessage, OutRecord, ProfileRepository, RecordSink } from '../ports';
import type { LiveFences } from '../rollout/live-fences';
import { skipsFor } from '../rollout/live-fences';
import { decodeDigest, decodeMessageSyncWhenPossible, type ValueDecoder } from './decode';
import { updateProfiles, type ProfileWork, type UpdateDeps, type UpdateStats } from './update-profiles';

export interface BatchDeps extends UpdateDeps {
  readonly repo: ProfileRepository;
  readonly dlq: RecordSink;
  /** Series fences (rollout backfills); without them every series applies to every event. */
  readonly fences?: LiveFences;
  /** Topic the messages came from (for DLQ headers and deterministic message ids). */
  readonly topic: string;
  readonly logger: Logger;
  /** Value bytes → JSON (schema registry wire format or plain JSON); default plain JSON. */
  readonly decodeValue?: ValueDecoder;
}

export interface BatchResult extends UpdateStats {
  messages: number;
  dlq: number;
  profiles: number;
}

/**
 * Processes one batch of log messages end to end. When it resolves, every effect is durable: profile
 * state, dedupe ids, published segment changes, DLQ records, the schedule. Only then may the caller
 * commit the offsets. Bad messages are values (DLQ), never exceptions.
 */
export async function processBatch(deps: BatchDeps, messages: readonly LogMessage[], now: number): Promise<BatchResult> {
  const dead: OutRecord[] = [];
  const events: CdpEvent[] = [];
  // Log position of each decoded event (parallel to `events`), and the first one per partition.
  const partitions: number[] = [];
  const offsets: number[] = [];
  const first = new Map<number, number>();
  // One plan for the whole batch (decoding reads it too), with its fences resolved before anything is applied.
  const plan = deps.plan();
  for (const m of messages) {
    const d = decodeDigest(m, plan, now) ?? decodeMessageSyncWhenPossible(m, deps.topic, now, deps.decodeValue);
    const r = d instanceof Promise ? await d : d;
    if (r.kind === 'ok') {
      const offset = Number(m.offset);
      events.push(r.event);
      partitions.push(m.partition);
      offsets.push(offset);
      const f = first.get(m.partition);
      if (f === undefined || offset < f) first.set(m.partition, offset);
    } else {
      dead.push({
        key: m.key ?? '',
        // Wire-format values (magic byte 0) may be binary (Avro, Protobuf): base64, so no byte is lost.
        value: m.value === null ? '' : m.value[0] === 0 ? m.value.toString('base64') : m.value.toString('utf8'),
        headers: {
          ...(m.value !== null && m.value[0] === 0 ? { 'value-encoding': 'base64' } : {}),
          error: r.reason.slice(0, 1000),
          'original-topic': deps.topic,
          'original-partition': String(m.partition),
          'original-offset': m.offset,
        },
      });
    }
  }
  if (dead.length > 0) deps.logger.warn({ count: dead.length, first: dead[0]!.headers }, 'events_dead_lettered');

  const fences = new Map<number, Map<string, number>>();
  let fenced = false;
  if (deps.fences && plan.series.length > 0) {
    for (const [partition, offset] of first) {
      const above = await deps.fences.above(plan, partition, offset);
      fences.set(partition, above);
      if (above.size > 0) fenced = true;
    }
  }
  // Skips exist only while some fence lies above this batch (a backfill in progress): only then is
  // the per-event position list built.
  const skips = fenced
    ? skipsFor(
        events.map((e, i) => ({ messageId: e.messageId, partition: partitions[i]!, offset: offsets[i]! })),
        fences,
      )
    : undefined;

  const work = await routeToProfiles(deps.repo, events);
  const stats = await updateProfiles(deps, work, now, 'event', { plan, ...(skips ? { skips } : {}) });
  if (dead.length > 0) await deps.dlq.send(dead);
  return { ...stats, messages: messages.length, dlq: dead.length, profiles: work.size };
}

/**
 * Identity resolution: an event carrying both ids links anonymousId → userId (first link wins; an
 * identified profile never merges into another identified one) and folds the anonymous profile into
 * the user's; an anonymous-only event goes to the user its id is linked to, else to its own profile.
 */
export async function routeToProfiles(repo: ProfileRepository, events: readonly CdpEvent[]): Promise<Map<string, ProfileWork>> {
  const links = new Map<string, string>();
  const pairs = new Map<string, string>();
  for (const e of events) if (e.userId && e.anonymousId && !pairs.has(e.anonymousId)) pairs.set(e.anonymousId, e.userId);
  for (const e of events) if (e.type === 'alias' && e.previousId && e.userId) pairs.set(e.previousId, e.userId);
  await Promise.all(
    [...pairs].map(async ([anon, user]) => {
      if (anon !== user) links.set(anon, await repo.link(anon, user));
    }),
  );
  const unresolved = [...new Set(events.filter((e) => !e.userId && e.anonymousId && !links.has(e.anonymousId)).map((e) => e.anonymousId!))];
  for (const [anon, user] of await repo.resolveLinks(unresolved)) links.set(anon, user);

  const work = new Map<string, ProfileWork>();
  const get = (id: string) => {
    let w = work.get(id);
    if (!w) work.set(id, (w = { events: [], merges: new Set() }));
    return w;
  };
  for (const e of events) {
    const id = e.userId ?? links.get(e.anonymousId!) ?? e.anonymousId!;
    get(id).events.push(e);
  }
  for (const [anon, user] of pairs) if (links.get(anon) === user) get(user).merges.add(anon);
  return work;
}
