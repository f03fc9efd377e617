import { describe, expect, it } from 'vitest';
import { AssignerProtocol } from 'kafkajs';
import { assignByInstance, instanceAssigner, INSTANCE_ASSIGNER } from './instance-assigner';

const six = Array.from({ length: 6 }, (_, partition) => ({ topic: 't', partition }));
const count = (a: Record<string, number[]> | undefined) => Object.values(a ?? {}).flat().length;

describe('assignByInstance', () => {
  it('gives two instances of two members three partitions each (round robin over the four members could give four and two)', () => {
    const members = [
      { memberId: 'a1', instance: 'A' },
      { memberId: 'b1', instance: 'B' },
      { memberId: 'a2', instance: 'A' },
      { memberId: 'b2', instance: 'B' },
    ];
    const plan = assignByInstance(members, six);
    expect(count(plan.get('a1')) + count(plan.get('a2'))).toBe(3);
    expect(count(plan.get('b1')) + count(plan.get('b2'))).toBe(3);
    expect([...plan.values()].flatMap((a) => a['t'] ?? []).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plan.get('a1')).toEqual({ t: [0, 4] });
    expect(plan.get('a2')).toEqual({ t: [2] });
  });

  it('splits one instance between its members; an instance with one member takes its whole share', () => {
    expect(assignByInstance([{ memberId: 'x', instance: 'A' }, { memberId: 'y', instance: 'A' }], six)).toEqual(new Map([['x', { t: [0, 2, 4] }], ['y', { t: [1, 3, 5] }]]));
    const plan = assignByInstance([{ memberId: 'x', instance: 'A' }, { memberId: 'y', instance: 'A' }, { memberId: 'z', instance: 'B' }], six);
    expect(plan.get('z')).toEqual({ t: [1, 3, 5] });
    expect(count(plan.get('x')) + count(plan.get('y'))).toBe(3);
  });

  it('every partition once, across topics and with more members than partitions (the rest get none)', () => {
    const partitions = [...six.slice(0, 2), { topic: 'u', partition: 0 }];
    const members = Array.from({ length: 5 }, (_, i) => ({ memberId: `m${i}`, instance: `I${i % 2}` }));
    const plan = assignByInstance(members, partitions);
    expect([...plan.values()].flatMap((a) => Object.entries(a).flatMap(([t, ps]) => ps.map((p) => `${t}${p}`))).sort()).toEqual(['t0', 't1', 'u0']);
    expect([...plan.keys()].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});

describe('instanceAssigner (kafkajs)', () => {
  const cluster = { findTopicPartitionMetadata: () => six.map((p) => ({ partitionId: p.partition })) };
  const make = (id?: string) => instanceAssigner(id)({ cluster, groupId: 'g', logger: {} } as never);

  it('names its instance in the subscription and balances members by it; a member without one is an instance of its own', async () => {
    const a = make('A');
    const member = (memberId: string, userData?: string) => ({
      memberId,
      memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: Buffer.from(userData ?? '') }),
    });
    expect(a.protocol({ topics: ['t'] }).name).toBe(INSTANCE_ASSIGNER);
    const ownA = a.protocol({ topics: ['t'] }).metadata;
    const ownB = make('B').protocol({ topics: ['t'] }).metadata;
    const result = await a.assign({
      members: [{ memberId: 'a1', memberMetadata: ownA }, { memberId: 'a2', memberMetadata: ownA }, { memberId: 'b1', memberMetadata: ownB }, member('c1', 'something else')],
      topics: ['t'],
    });
    const got = new Map(result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)!.assignment['t'] ?? []]));
    expect(got.get('a1')!.length + got.get('a2')!.length).toBe(2);
    expect(got.get('b1')).toHaveLength(2);
    expect(got.get('c1')).toHaveLength(2);
    expect([...got.values()].flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
