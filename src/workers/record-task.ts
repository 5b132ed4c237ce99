import type { PipelineRecord } from '../../schemas/index.js';
import { signRecord } from '../stages/dedup/sign.js';
import { checkRecord } from '../stages/filter/check.js';
import { labelOffline } from '../stages/label/offline.js';
import { segmentRecord } from '../stages/segment/index.js';
import { exportRows } from '../stages/export/index.js';

/**
 * Per-record functions of the stages that work on each record in the worker pool (ctx.mapRecords): a
 * record in, a small answer out, a pure function of the record and the input the stage gives. The frame
 * sends the record's JSON text to a worker, which parses it there, so the main thread never parses it;
 * with no worker threads (or a record this thread already holds whole) the same function runs here.
 */
const RECORD_FUNCTIONS = {
  'filter.check': checkRecord,
  'dedup.sign': signRecord,
  'label.offline': labelOffline,
  'segment.decide': segmentRecord,
  'export.rows': exportRows,
} satisfies Record<string, (record: PipelineRecord, input: never) => unknown>;

type Functions = typeof RECORD_FUNCTIONS;
export type RecordFunctionName = keyof Functions;
export type RecordFunctionInput<N extends RecordFunctionName> = Parameters<Functions[N]>[1];
export type RecordFunctionOutput<N extends RecordFunctionName> = Awaited<ReturnType<Functions[N]>>;

export function runRecordFunction<N extends RecordFunctionName>(name: N, record: PipelineRecord, input: RecordFunctionInput<N>): Promise<RecordFunctionOutput<N>> {
  const fn = RECORD_FUNCTIONS[name] as unknown as ((r: PipelineRecord, i: RecordFunctionInput<N>) => RecordFunctionOutput<N> | Promise<RecordFunctionOutput<N>>) | undefined;
  if (!fn) return Promise.reject(new Error(`unknown record function "${String(name)}"`));
  return Promise.resolve(fn(record, input));
}

/** Top-level fields of a record, in the order asked (a field the record lacks is left out). */
export function pick(record: PipelineRecord, fields: readonly string[]): Record<string, unknown> {
  const r = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (Object.hasOwn(r, f)) out[f] = r[f];
  return out;
}

/** A function a later stage runs per record (what its ctx.mapRecords asked for: src/runner/channel.ts). */
export interface ChainStep {
  name: string;
  fields: readonly string[];
  input: unknown;
}

export interface Fused {
  name: string;
  head: Record<string, unknown>;
  result: unknown;
}

/**
 * A function's answer may say what its stage adds to the record when it passes it on: `then` (the added
 * fields; {} or absent: passed on unchanged; null: not passed on). The next stages' functions then run on
 * that record, here, so a record is parsed once for a chain of stages; the frame keeps their answers only
 * if the stage emits exactly that record (RunningStage.emit).
 */
export function thenOf(result: unknown): Record<string, unknown> | null | undefined {
  return result && typeof result === 'object' && 'then' in result ? (result as { then: Record<string, unknown> | null }).then : undefined;
}

/** The chain's answers on a record (after the step that made `add`). */
export async function runChain(record: PipelineRecord, add: Record<string, unknown> | null | undefined, chain: readonly ChainStep[]): Promise<Fused[]> {
  const out: Fused[] = [];
  let cur = record;
  for (const step of chain) {
    if (add === null) break;
    // As the next stage reads it from the reference line: the added fields through JSON (no undefined, no -0).
    if (add && Object.keys(add).length) cur = { ...cur, ...(JSON.parse(JSON.stringify(add)) as Partial<PipelineRecord>) };
    const result = await runRecordFunction(step.name as RecordFunctionName, cur, step.input as never);
    out.push({ name: step.name, head: pick(cur, step.fields), result });
    add = thenOf(result);
  }
  return out;
}

export interface RecordTaskInput {
  name: RecordFunctionName;
  /** The whole record's JSON text, or its body's UTF-8 bytes and the added fields' text (`,"k":v...`). */
  text?: string;
  body?: Uint8Array;
  tail?: string;
  /** What the stage reads of the record besides the answer (id, task id, source, ...). */
  fields: readonly string[];
  input: unknown;
  /** The next stages' functions, run on the record this stage passes on. */
  chain?: readonly ChainStep[];
}

export type RecordTaskOutput = { ok: true; head: Record<string, unknown>; result: unknown; fused?: Fused[] } | { ok: false; error: string };

function textOf(body: Uint8Array, tail: string): string {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return tail ? text.slice(0, text.lastIndexOf('}')) + tail + '}' : text;
}

/** The worker task: parse the text, run the function (and the chain after it), return the picked fields and the answers. */
export async function recordTask(t: RecordTaskInput): Promise<RecordTaskOutput> {
  let record: PipelineRecord;
  try {
    record = JSON.parse(t.text ?? textOf(t.body!, t.tail ?? '')) as PipelineRecord;
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const result = await runRecordFunction(t.name, record, t.input as never);
  const fused = t.chain?.length ? await runChain(record, thenOf(result), t.chain) : undefined;
  return { ok: true, head: pick(record, t.fields), result, ...(fused?.length ? { fused } : {}) };
}
