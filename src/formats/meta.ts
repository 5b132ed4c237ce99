import { isObject, type Json } from './types.js';

/** Keys of an object that an adapter does not map, kept for meta so unknown data is never lost. */
export function pickUnknown(obj: Json, known: readonly string[]): Json | null {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (!known.includes(k)) out[k] = v;
  return Object.keys(out).length ? toJsonSafe(out) as Json : null;
}

/**
 * Values as plain JSON: Parquet readers hand back BigInt (int64), Date and byte arrays, which
 * JSON.stringify cannot write or writes differently from run to run.
 */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}
