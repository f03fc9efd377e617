/**
 * Child process for file-event-log.crash.test.ts: appends to a FileEventLog as fast as it can, with
 * several appends in flight at once (so group commits happen), and prints `ack <partition> <offset> <key>`
 * on stdout for each record only after its append resolved. The test SIGKILLs it at a random moment.
 *   tsx crash-appender.ts <dataDir> <firstSeq>
 */
import { FileEventLog } from '../file-event-log';
import { crashRecordValue, CRASH_TOPIC } from './crash-record';

const [dataDir, firstSeqArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: crash-appender <dataDir> <firstSeq>');
let seq = Number(firstSeqArg ?? 0);

const log = await FileEventLog.open(dataDir);
await log.createTopic(CRASH_TOPIC, { partitions: 3 });
process.stdout.write('ready\n');

async function writer(): Promise<never> {
  for (;;) {
    const n = 1 + (seq % 7);
    const keys = Array.from({ length: n }, () => `k${seq++}`);
    const results = await log.append(
      CRASH_TOPIC,
      keys.map((key) => ({ key, value: crashRecordValue(key), headers: { h: key } })),
    );
    // Pipes are synchronous on Linux: once written here, the parent will read it even if we die next.
    process.stdout.write(results.map((r, i) => `ack ${r.partition} ${r.offset} ${keys[i]}\n`).join(''));
  }
}

await Promise.all(Array.from({ length: 8 }, () => writer()));
