import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@tinycdp/common';
import { fsyncDir, isErrno, writeFileAtomic } from './fs-util';

/** topic → partition → next offset to consume (Kafka's committed-offset meaning). */
type GroupOffsets = Record<string, Record<string, number>>;

interface GroupState {
  readonly path: string;
  data: GroupOffsets;
  /** A write that has not taken its snapshot yet: later commits ride along. */
  pending: Promise<void> | null;
  /** The write in progress, if any. */
  inFlight: Promise<void> | null;
}

/**
 * Committed offsets of consumer groups, one JSON file per group (`<dir>/<group>.json`, the name
 * percent-encoded), replaced atomically. Concurrent commits of a group are coalesced into one write.
 */
export class OffsetStore {
  private readonly groups = new Map<string, Promise<GroupState>>();

  constructor(private readonly dir: string) {}

  async get(group: string, topic: string): Promise<Map<number, number>> {
    const s = await this.state(group);
    return new Map(Object.entries(s.data[topic] ?? {}).map(([p, o]) => [Number(p), o]));
  }

  /** Records the next offsets to consume; resolves once they are durable. */
  async commit(group: string, topic: string, offsets: Iterable<readonly [number, number]>): Promise<void> {
    const s = await this.state(group);
    const t = (s.data[topic] ??= {});
    for (const [p, o] of offsets) t[String(p)] = o;
    s.pending ??= (async () => {
      await s.inFlight?.catch(() => undefined);
      s.pending = null;
      const write = writeFileAtomic(s.path, JSON.stringify(s.data));
      s.inFlight = write;
      try {
        await write;
      } finally {
        if (s.inFlight === write) s.inFlight = null;
      }
    })();
    try {
      await s.pending;
    } catch (err) {
      throw new AppError('unavailable', `commit offsets of ${group} failed: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    }
  }

  /** Forgets a group's offsets (its consumers start over by their `fromBeginning` rule). */
  async delete(group: string): Promise<void> {
    const s = await this.state(group);
    await s.inFlight?.catch(() => undefined);
    s.data = {};
    await rm(s.path, { force: true });
    await fsyncDir(this.dir);
  }

  private state(group: string): Promise<GroupState> {
    let s = this.groups.get(group);
    if (!s) {
      const path = join(this.dir, `${encodeURIComponent(group).replace(/^\./, '%2E')}.json`);
      s = readFile(path, 'utf8').then(
        (text) => ({ path, data: JSON.parse(text) as GroupOffsets, pending: null, inFlight: null }),
        (err: unknown) => {
          if (isErrno(err, 'ENOENT')) return { path, data: {}, pending: null, inFlight: null };
          throw new AppError('unavailable', `read offsets of ${group} failed: ${(err as Error).message}`, { cause: err });
        },
      );
      this.groups.set(group, s);
      s.catch(() => this.groups.delete(group));
    }
    return s;
  }
}
