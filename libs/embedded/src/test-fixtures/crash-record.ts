export const CRASH_TOPIC = 'crash';

/** The value the crash test writes for a key: varying sizes so a kill can land mid-record. */
export function crashRecordValue(key: string): string {
  const n = Number(key.slice(1));
  return JSON.stringify({ key, pad: 'x'.repeat((n * 37) % 3000) });
}
