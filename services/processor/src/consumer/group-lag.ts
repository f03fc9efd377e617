import type { Admin, Kafka } from 'kafkajs';
import type { LagReport } from '../ports';

/** Consumer lag per partition of a group, over one admin connection kept between calls (health probes and scrapes call often). */
export class GroupLag {
  private admin: Admin | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
  ) {}

  async report(): Promise<LagReport[]> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const admin = this.admin;
    try {
      const [high, committed] = await Promise.all([
        admin.fetchTopicOffsets(this.topic),
        admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      ]);
      const c = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return high.map((h) => {
        const off = c.get(h.partition) ?? '-1';
        return { partition: h.partition, committed: off, high: h.high, lag: Number(h.high) - Math.max(Number(off), Number(h.low)) };
      });
    } catch (err) {
      this.admin = null;
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
  }

  async close() {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = null;
  }
}
