import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileEventLog } from './file-event-log';
import { FileLogEventReader } from './file-log-reader';

describe('FileLogEventReader', () => {
  let dir = '';
  let log: FileEventLog | null = null;
  afterEach(async () => {
    await log?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports watermarks and reads by position', async () => {
    dir = await mkdtemp(join(tmpdir(), 'reader-'));
    log = await FileEventLog.open(dir);
    await log.createTopic('ev', { partitions: 2 });
    await log.append('ev', Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `v${i}`, partition: 1 })));
    const r = new FileLogEventReader(log, 'ev');
    expect(await r.highWatermarks()).toEqual(new Map([[0, { low: 0, high: 0 }], [1, { low: 0, high: 10 }]]));
    const got = await r.read(1, 3, 4);
    expect(got.map((m) => [m.offset, m.value?.toString()])).toEqual([['3', 'v3'], ['4', 'v4'], ['5', 'v5'], ['6', 'v6']]);
    expect(await r.read(1, 10, 4)).toEqual([]);
    expect(await r.read(0, 0, 4)).toEqual([]);
  });
});
