import { randomUUID } from 'node:crypto';
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** The group protocol name of `instanceAssigner` (members that do not all offer it fall back to round robin). */
export const INSTANCE_ASSIGNER = 'TinyCdpInstanceAssigner';

/** A member of the group and the processor instance it belongs to. */
export interface InstanceMember {
  readonly memberId: string;
  readonly instance: string;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Partitions per member: shared evenly between instances first (in instance order, round robin over
 * the sorted partitions), then each instance's share between its members (in member id order). So a
 * processor with two Kafka threads and one with one get three partitions each of six — not four and two,
 * as round robin over the four members could give. Deterministic for the same members.
 */
export function assignByInstance(members: readonly InstanceMember[], partitions: readonly TopicPartition[]): Map<string, Record<string, number[]>> {
  const instances = [...new Set(members.map((m) => m.instance))].sort();
  const membersOf = new Map(instances.map((i) => [i, members.filter((m) => m.instance === i).map((m) => m.memberId).sort()]));
  const sorted = [...partitions].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const out = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
  const dealt = new Map<string, number>(); // partitions given to each instance so far
  sorted.forEach((tp, i) => {
    const instance = instances[i % instances.length]!;
    const own = membersOf.get(instance)!;
    const n = dealt.get(instance) ?? 0;
    dealt.set(instance, n + 1);
    const assignment = out.get(own[n % own.length]!)!;
    (assignment[tp.topic] ??= []).push(tp.partition);
  });
  return out;
}

/**
 * A kafkajs partition assigner that balances the group's partitions between processor instances, then
 * between the Kafka threads of each (`assignByInstance`): each member names its instance (`instanceId`,
 * the same for every thread of one source) in its subscription's user data. A member without one
 * counts as an instance of its own.
 */
export function instanceAssigner(instanceId: string = randomUUID()): PartitionAssigner {
  return ({ cluster }) => ({
    name: INSTANCE_ASSIGNER,
    version: 0,
    async assign({ members, topics }) {
      const partitions = topics.flatMap((topic) => cluster.findTopicPartitionMetadata(topic).map((m) => ({ topic, partition: m.partitionId })));
      const plan = assignByInstance(
        members.map((m) => ({ memberId: m.memberId, instance: instanceOf(m.memberMetadata) ?? `member:${m.memberId}` })),
        partitions,
      );
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: plan.get(m.memberId) ?? {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: INSTANCE_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(`instance:${instanceId}`) }) };
    },
  });
}

function instanceOf(metadata: Buffer): string | null {
  const userData = AssignerProtocol.MemberMetadata.decode(metadata)?.userData;
  const text = userData && userData.length > 0 ? userData.toString('utf8') : '';
  return text.startsWith('instance:') ? text : null;
}
