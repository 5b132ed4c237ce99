import type { PipelineRecord } from '../../schemas/index.js';
import type { LineRef } from './refs.js';
import type { Fused } from '../workers/record-task.js';

export type { Fused };

/**
 * A record as the frame holds it between stages: where its body's line is, the fields it has beyond that
 * body, and, when this thread has them, the body's text and the whole object. A record handed from one
 * stage to the next need not be parsed in this thread at all: a stage that works on it in the worker pool
 * (ctx.mapRecords) sends its text there, and passes it on by reference.
 */
export interface Held {
  /** The record's id (a reference line carries it; known without parsing the body). */
  id: string;
  ref: LineRef;
  /** The body's keys, when known (a record parsed here); null when only its text is held. */
  baseKeys: readonly string[] | null;
  /** Fields beyond the body, in order, each as its JSON text. */
  extras: readonly (readonly [string, string])[];
  /** The body's line, as text or as its UTF-8 bytes (decoded only if a stage needs it here). */
  body: string | Uint8Array | null;
  /** The whole record. */
  record: PipelineRecord | null;
  /** Answers of the next stages' per-record functions, made where the record was made (src/workers/record-task.ts). */
  fused?: readonly Fused[];
}

/** The whole record as JSON text: the body with the added fields before its closing brace. */
export function wholeText(h: Held): string | null {
  if (h.body === null) return null;
  const body = typeof h.body === 'string' ? h.body : Buffer.from(h.body.buffer, h.body.byteOffset, h.body.byteLength).toString('utf8');
  if (h.extras.length === 0) return body;
  return body.slice(0, body.lastIndexOf('}')) + extrasTail(h.extras) + '}';
}

export function extrasTail(extras: Held['extras']): string {
  let tail = '';
  for (const [k, v] of extras) tail += `,${JSON.stringify(k)}:${v}`;
  return tail;
}

/** The whole record, parsed from its text when this thread does not have the object yet. */
export function materialize(h: Held): PipelineRecord {
  if (h.record) return h.record;
  const text = wholeText(h);
  if (text === null) throw new Error(`record ${h.id} is held without its text or object. This is a bug in the frame.`);
  return JSON.parse(text) as PipelineRecord;
}

/** The body's keys of a record parsed from its whole text: its keys but the added ones. */
export function bodyKeysOf(record: object, extras: Held['extras']): string[] {
  const added = new Set(extras.map(([k]) => k));
  return Object.keys(record).filter((k) => !added.has(k));
}

/** The added fields of a whole record (its keys beyond the body), serialised. */
export function extrasOfRecord(record: object, baseKeys: readonly string[]): [string, string][] {
  const base = new Set(baseKeys);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(record)) if (!base.has(k) && v !== undefined) out.push([k, JSON.stringify(v)]);
  return out;
}

/** The added fields with some set (replaced in place, or appended in order). */
export function withExtras(extras: Held['extras'], set: readonly (readonly [string, string])[]): [string, string][] {
  const out = extras.map(([k, v]) => [k, v] as [string, string]);
  for (const [k, v] of set) {
    const at = out.findIndex(([x]) => x === k);
    if (at === -1) out.push([k, v]);
    else out[at] = [k, v];
  }
  return out;
}
