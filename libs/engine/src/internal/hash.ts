/**
 * Small deterministic hashes (pure JS, no crypto): ids in the profile codec, the plan id and the
 * flag rollout bucket. None of these are security relevant.
 */

const textEncoder = new TextEncoder();

/**
 * The UTF-8 bytes of `s` as something indexable: `s` itself when it is all ASCII (its char codes are
 * its bytes; no copy is allocated: ids and keys on decide's hot path), else the encoder's output.
 */
function utf8(s: string): string | Uint8Array {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return textEncoder.encode(s);
  return s;
}

function byteAt(data: string | Uint8Array, i: number): number {
  return typeof data === 'string' ? data.charCodeAt(i) : data[i]!;
}

/** FNV-1a, 32 bit, over the UTF-8 bytes of `s`. */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  const data = utf8(s);
  let h = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    h ^= byteAt(data, i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** MurmurHash3 (x86, 32 bit) over the UTF-8 bytes of `s`. */
export function murmur3_32(s: string, seed = 0): number {
  const data = utf8(s);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = data.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = (byteAt(data, o) | (byteAt(data, o + 1) << 8) | (byteAt(data, o + 2) << 16) | (byteAt(data, o + 3) << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rem = data.length & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= byteAt(data, tail + 2) << 16;
    if (rem >= 2) k ^= byteAt(data, tail + 1) << 8;
    k ^= byteAt(data, tail);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A short (≤ 7 chars) base36 id of a string. */
export function shortId(s: string): string {
  return fnv1a32(s).toString(36);
}

/** A 16-hex-digit digest (two independent FNV-1a passes); used for the plan id. */
export function digest64(s: string): string {
  const a = fnv1a32(s).toString(16).padStart(8, '0');
  const b = fnv1a32(s, 0x9747b28c).toString(16).padStart(8, '0');
  return a + b;
}
