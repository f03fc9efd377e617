import type { Json } from '@tinycdp/common';

/**
 * Converts an unknown (already JSON-parsed) value to `Json`: `undefined`, functions and symbols become
 * null, non-finite numbers become null, -0 becomes 0. Never throws (cycles are cut to null).
 */
export function toJson(v: unknown, depth = 0): Json {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
    case 'object': {
      if (depth > 32) return null;
      if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
      const out: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x === undefined) continue;
        out[k] = toJson(x, depth + 1);
      }
      return out;
    }
    default:
      return null;
  }
}

/** Canonical JSON (object keys sorted), so equal values print equally. */
export function canonicalJson(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as Json)}`).join(',')}}`;
}

/** Reads `path` under `root`; missing → undefined. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** A stable string key for a property path: segments joined by '.', with '.' and '\' escaped. */
export function pathKey(path: readonly string[]): string {
  return path.map((s) => s.replace(/[\\.]/g, (m) => `\\${m}`)).join('.');
}

/** Inverse of `pathKey`. */
export function parsePathKey(key: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    if (ch === '\\' && i + 1 < key.length) {
      cur += key[++i];
    } else if (ch === '.') {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

/** Numeric reading of a property value: finite numbers, and strings that are plain decimals. */
export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? (n === 0 ? 0 : n) : null;
  }
  return null;
}
