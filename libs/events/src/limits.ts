/** Limits shared by ingest (HTTP edge) and the processor (direct producers). Bytes are UTF-8 JSON bytes. */
export const LIMITS = Object.freeze({
  /** One message (a single-event request body, or one item of a batch). */
  maxMessageBytes: 32 * 1024,
  /** One `/v1/batch` request body. */
  maxBatchBytes: 500 * 1024,
  /** Items in one `/v1/batch` request. */
  maxBatchItems: 2_500,
  /** Nested objects/arrays in one message, the message object itself counting as 1. */
  maxDepth: 32,
  /** userId, anonymousId, previousId, groupId, messageId. */
  maxIdLength: 256,
  /** track `event`, page/screen `name`. */
  maxEventNameLength: 200,
  /** An event time further than this ahead of receivedAt is clamped to receivedAt. */
  maxFutureSkewMs: 5 * 60_000,
});

/** UTF-8 byte length of a string, without allocating (pure; works off Node too). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Size of `value` as compact JSON, in UTF-8 bytes. Safe on hostile input: a value nested deeper than
 * JSON.stringify's recursion allows (a 500 KB body of `[[[[…` parses fine but overflows the stack when
 * stringified) is measured without recursion. Throws only for cycles (TypeError, like JSON.stringify).
 */
export function jsonByteLength(value: unknown): number {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch (err) {
    if (err instanceof RangeError) return deepJsonByteLength(value);
    throw err;
  }
  return s === undefined ? 0 : utf8ByteLength(s);
}

/** Iterative twin of `utf8ByteLength(JSON.stringify(value))` for plain JSON data (what JSON.parse returns). */
function deepJsonByteLength(root: unknown): number {
  let n = 0;
  const onPath = new Set<object>();
  type Frame = { readonly obj: object; readonly keys: readonly string[] | null; i: number; wrote: boolean };
  const stack: Frame[] = [];
  const leaf = (v: unknown, inArray: boolean): boolean => {
    // Returns true when `v` was written as a leaf; false for an object/array to descend into.
    if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') {
      n += utf8ByteLength(JSON.stringify(v));
      return true;
    }
    if (typeof v !== 'object') {
      if (inArray) n += 4; // undefined / function / symbol in an array → null
      return true;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      n += utf8ByteLength(JSON.stringify(v) ?? 'null');
      return true;
    }
    return false;
  };
  const open = (v: object): void => {
    if (onPath.has(v)) throw new TypeError('Converting circular structure to JSON');
    onPath.add(v);
    n += 1; // [ or {
    stack.push({ obj: v, keys: Array.isArray(v) ? null : Object.keys(v), i: 0, wrote: false });
  };
  if (root === undefined || typeof root === 'function' || typeof root === 'symbol') return 0;
  if (leaf(root, false)) return n;
  open(root as object);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const arr = f.keys === null ? (f.obj as unknown[]) : null;
    const len = arr ? arr.length : f.keys!.length;
    if (f.i >= len) {
      n += 1; // ] or }
      onPath.delete(f.obj);
      stack.pop();
      continue;
    }
    const idx = f.i++;
    let v: unknown;
    if (arr) {
      v = arr[idx];
      if (f.wrote) n += 1; // ,
      f.wrote = true;
    } else {
      const k = f.keys![idx]!;
      v = (f.obj as Record<string, unknown>)[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue; // omitted
      if (f.wrote) n += 1;
      f.wrote = true;
      n += utf8ByteLength(JSON.stringify(k)) + 1; // "key":
    }
    if (!leaf(v, arr !== null)) open(v as object);
  }
  return n;
}
