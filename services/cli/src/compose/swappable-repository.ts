import type { MemoryProfileRepository } from '@tinycdp/embedded';

type Repo = MemoryProfileRepository;

/**
 * The in-memory profile repository behind a pointer, so a state rebuilt beside the live one can be
 * switched in atomically (one assignment; callers never see a half-built state).
 */
export class SwappableRepository {
  constructor(private current: Repo) {}

  swap(next: Repo): void {
    this.current = next;
  }

  load: Repo['load'] = (r) => this.current.load(r);
  write: Repo['write'] = (w, now) => this.current.write(w, now);
  ackPending: Repo['ackPending'] = (a) => this.current.ackPending(a);
  remove: Repo['remove'] = (id) => this.current.remove(id);
  resolveLinks: Repo['resolveLinks'] = (ids) => this.current.resolveLinks(ids);
  link: Repo['link'] = (a, u) => this.current.link(a, u);
  schedule: Repo['schedule'] = (e) => this.current.schedule(e);
  due: Repo['due'] = (p, now, limit) => this.current.due(p, now, limit);
  listProfileIds: Repo['listProfileIds'] = (c, n) => this.current.listProfileIds(c, n);
  countProfileIds: Repo['countProfileIds'] = () => this.current.countProfileIds();
}
