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

/** Size of `value` as compact JSON, in UTF-8 bytes. Throws only what JSON.stringify throws (cycles). */
export function jsonByteLength(value: unknown): number {
  const s = JSON.stringify(value);
  return s === undefined ? 0 : utf8ByteLength(s);
}
