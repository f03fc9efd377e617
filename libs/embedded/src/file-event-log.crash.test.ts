import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileEventLog } from './file-event-log';
import { CRASH_TOPIC, crashRecordValue } from './test-fixtures/crash-record';

const CHILD = fileURLToPath(new URL('./test-fixtures/crash-appender.ts', import.meta.url));

interface Ack {
  partition: number;
  offset: number;
  key: string;
}

/** Runs the appender child until it acknowledged at least `minAcks` records, then SIGKILLs it. */
function runAndKill(dataDir: string, firstSeq: number, minAcks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(firstSeq)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let stderr = '';
    let killed = false;
    // Kill at a moment that is not aligned with anything the child does.
    const extra = Math.floor(Math.random() * 500);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      // Only whole lines count (an ack line is far below PIPE_BUF, so the kernel never splits one anyway).
      const m = /^ack (\d+) (\d+) (k\d+)$/.exec(line);
      if (!m) return;
      acks.push({ partition: Number(m[1]), offset: Number(m[2]), key: m[3]! });
      if (!killed && acks.length >= minAcks + extra) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`appender did not ack ${minAcks} records in time; stderr: ${stderr}`));
    }, 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`appender exited ${code}: ${stderr}`));
      // The stdout pipe may still hold acknowledged lines: wait for it to end before resolving.
      else child.stdout.once('end', () => resolve(acks));
      if (child.stdout.readableEnded) resolve(acks);
    });
  });
}

describe('FileEventLog survives kill -9', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged record intact across repeated SIGKILLs of an appending process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tinycdp-crash-'));
    dirs.push(dir);
    const acked: Ack[] = [];
    let seq = 0;
    for (let round = 0; round < 2; round++) {
      const acks = await runAndKill(dir, seq, 1500);
      expect(acks.length).toBeGreaterThanOrEqual(1500);
      acked.push(...acks);
      seq = Math.max(...acks.map((a) => Number(a.key.slice(1)))) + 1000;

      const log = await FileEventLog.open(dir); // takes over the dead process's LOCK
      try {
        const byPartition = new Map<number, Map<number, { key: string | null; value: string | null; h?: string }>>();
        for (let p = 0; p < 3; p++) {
          const stored = new Map<number, { key: string | null; value: string | null; h?: string }>();
          for (let from = 0; ; ) {
            const batch = await log.read(CRASH_TOPIC, p, from, 1000);
            if (batch.length === 0) break;
            for (const m of batch) stored.set(Number(m.offset), { key: m.key, value: m.value?.toString() ?? null, h: m.headers.h });
            from = Number(batch[batch.length - 1]!.offset) + 1;
          }
          // Offsets stay dense: whatever survived is a prefix with no holes.
          expect([...stored.keys()]).toEqual([...stored.keys()].map((_, i) => i));
          byPartition.set(p, stored);
        }
        const missing = acked.filter((a) => {
          const m = byPartition.get(a.partition)?.get(a.offset);
          return !m || m.key !== a.key || m.value !== crashRecordValue(a.key) || m.h !== a.key;
        });
        expect(missing).toEqual([]);
        // Still appendable after recovery, right after the surviving records.
        const [r] = await log.append(CRASH_TOPIC, [{ key: 'after-crash', value: 'ok' }]);
        expect(r!.offset).toBe(byPartition.get(r!.partition)!.size);
      } finally {
        await log.close();
      }
    }
  }, 90_000);
});
