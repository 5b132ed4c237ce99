import { readFileSync } from 'node:fs';
import { Trajectory, type IngestConfig, type PipelineRecord } from '../../../schemas/index.js';
import { decodeUtf8, normalizeParsed } from '../../core/text.js';
import { sameJsonKeys, stringifyFormKeys } from '../../io/json-canonical.js';
import { detectFormat } from '../../formats/detect.js';
import { LabelIndex, type LabelIndexData } from '../../formats/labels/index.js';
import { FormatError, isObject, type AdapterContext } from '../../formats/types.js';
import { Redactor } from '../../redact/record.js';
import type { RejectInput } from '../../runner/stage.js';
import { Partition } from '../../shard/partition.js';
import { assemble, type LabelOrigin } from './assemble.js';
import { jsonParseFailure, readJsonFile } from './files.js';
import type { Where } from './notes.js';
import type { Wanted } from '../../runner/channel.js';
import type { Fused } from '../../runner/held.js';
import { runChain } from '../../workers/record-task.js';
import { withTransfer } from '../../workers/transfer.js';

/**
 * One input record's way from bytes to a canonical line: parse, repair text, pick the reader, convert,
 * join the outcome, validate, redact, serialise. A pure function of its input and the run's settings, so
 * it runs in a worker thread or inline with the same result; the reader applies the results in input
 * order (counts, notes, emits and rejects), which keeps the output independent of the thread count.
 */
export interface RecordTask {
  where: Where;
  /** The record: a JSON line's bytes, a single-run JSON file to read, or a value already parsed (a Parquet row). */
  source: { bytes: Uint8Array } | { path: string } | { value: unknown; invalidUtf8: number };
  fallbackTaskId: string | null;
  /** The model the run's folder names (metadata.yaml, SWE-agent run name), for readers whose records do not say. */
  runModel: string | null;
  settings: IngestSettings;
  /** What the next stages run per record (ctx.fusedWork()): run here on the record made, answers handed over. */
  then?: readonly Wanted[];
}

export interface IngestSettings {
  ingest: Pick<IngestConfig, 'format' | 'max_depth' | 'max_json_bytes' | 'dataset'> & { redact: IngestConfig['redact'] };
  /** The outcome files' index, written once per run to a file (a worker loads it once per run). */
  labels: { file: string; key: string } | null;
  /** A sharded run's partition: another shard's runs are left before redaction. */
  partition: { index: number; count: number; buckets: number } | null;
  /** The record object is handed to the next stage in memory (else only its line is wanted). */
  wantRecord: boolean;
}

interface Repairs {
  invalidUtf8: number;
  loneSurrogates: number;
}

export type RecordResult = Repairs &
  (
    | { kind: 'reject'; reject: RejectInput }
    /** JSON.parse refused it: the reader decides between bad-json and truncated-file (only the last line of a file can be cut). */
    | { kind: 'unparsable'; truncated: boolean; msg: string }
    /** Another shard's run. */
    | { kind: 'foreign'; taskId: string }
    /** Holds secrets and ingest.redact.mode is reject. */
    | { kind: 'secrets'; record: { task_id: string; file: string; record: number }; counts: Record<string, number> }
    | {
        kind: 'emit';
        /** The canonical line, UTF-8 (moved, not copied, from a worker; written as it is). */
        bytes: Uint8Array;
        record: PipelineRecord | null;
        id: string;
        taskId: string;
        harness: string;
        format: string;
        resolved: boolean | null;
        origin: LabelOrigin;
        conflict: boolean;
        patchJoined: boolean;
        redactions: Record<string, number>;
        fused?: Fused[];
      }
  );

const labelIndexes = new Map<string, LabelIndex>();
function labelsOf(ref: IngestSettings['labels']): LabelIndex {
  if (!ref) return EMPTY_LABELS;
  let index = labelIndexes.get(ref.key);
  if (!index) {
    if (labelIndexes.size > 4) labelIndexes.clear();
    index = LabelIndex.fromData(JSON.parse(readFileSync(ref.file, 'utf8')) as LabelIndexData);
    labelIndexes.set(ref.key, index);
  }
  return index;
}
const EMPTY_LABELS = new LabelIndex();

const redactors = new Map<string, Redactor>();
function redactorOf(r: IngestConfig['redact']): Redactor | null {
  if (!r.enabled) return null;
  const key = JSON.stringify([r.emails, r.allow]);
  let found = redactors.get(key);
  if (!found) {
    found = new Redactor({ emails: r.emails, allow: r.allow });
    redactors.set(key, found);
  }
  return found;
}

/** The worker task (src/workers/tasks.ts). */
export async function convertRecord(task: RecordTask): Promise<RecordResult> {
  let raw: unknown;
  let invalidUtf8 = 0;
  const { where } = task;
  const src = task.source;
  if ('bytes' in src) {
    const { text, invalid } = decodeUtf8(Buffer.from(src.bytes.buffer, src.bytes.byteOffset, src.bytes.byteLength));
    invalidUtf8 = invalid;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { kind: 'unparsable', ...jsonParseFailure(err), invalidUtf8, loneSurrogates: 0 };
    }
  } else if ('path' in src) {
    const r = await readJsonFile(src.path, task.settings.ingest.max_json_bytes);
    invalidUtf8 = r.invalidUtf8;
    if (!r.ok) return reject({ reason: r.reason, message: `${src.path} cannot be read: ${r.message}.`, file: where.file, record: where.record }, invalidUtf8, 0);
    raw = r.value;
  } else {
    raw = src.value;
    invalidUtf8 = src.invalidUtf8;
  }
  return convertValue(raw, task, invalidUtf8, 'bytes' in src ? src.bytes : null);
}

function reject(r: RejectInput, invalidUtf8: number, loneSurrogates: number): RecordResult {
  return { kind: 'reject', reject: r, invalidUtf8, loneSurrogates };
}

async function convertValue(raw: unknown, task: RecordTask, invalidUtf8: number, read: Uint8Array | null): Promise<RecordResult> {
  const { where, settings } = task;
  const cfg = settings.ingest;
  const { file, record, label } = where;
  const norm = normalizeParsed(raw, cfg.max_depth);
  if (!norm.ok) {
    return reject(
      {
        reason: 'too-deep',
        message: `${label} is nested more than ${norm.maxDepth} levels deep (ingest.max_depth); no trajectory nests like that, and later stages would overflow the stack.`,
        file,
        record,
      },
      invalidUtf8,
      0,
    );
  }
  const value = norm.value;
  const repairs: Repairs = { invalidUtf8, loneSurrogates: norm.loneSurrogates };
  // Adapters name a record "Record N of FILE"; say it as a line, a row or the file.
  const say = (m: string): string => m.split(`Record ${record} of ${file}`).join(label);
  const actx: AdapterContext = { file, record, dataset: cfg.dataset };
  const detected = detectFormat(value, actx, cfg.format);
  const partition = settings.partition ? new Partition(settings.partition.index, settings.partition.count, settings.partition.buckets) : null;
  if (detected.kind === 'canonical') {
    const parsed = Trajectory.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return reject({ reason: 'unknown-shape', message: `${label} is not a canonical trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record }, repairs.invalidUtf8, repairs.loneSurrogates);
    }
    if (partition && !partition.ownsTask(parsed.data.task_id)) return { kind: 'foreign', taskId: parsed.data.task_id, ...repairs };
    // A line with nothing repaired may already be exactly what would be written (finish checks).
    const asRead = read && repairs.invalidUtf8 + repairs.loneSurrogates === 0 ? { bytes: read, value } : null;
    return finish(parsed.data, task, repairs, { origin: parsed.data.outcome.resolved === null ? 'none' : 'record', conflict: false, patchJoined: false }, asRead);
  }
  if (detected.kind === 'unknown') {
    const keys = isObject(value) ? Object.keys(value).slice(0, 8).join(', ') : Array.isArray(value) ? `a list of ${value.length}` : typeof value;
    const what = cfg.format === 'auto' ? 'is not in any known trajectory format' : `is not a ${cfg.format} record (ingest.format)`;
    return reject({ reason: 'unknown-shape', message: `${label} ${what} (top level: ${keys || 'empty'}).`, file, record }, repairs.invalidUtf8, repairs.loneSurrogates);
  }
  try {
    const draft = detected.adapter.convert(value, actx);
    const labels = labelsOf(settings.labels);
    const joined = assemble({
      draft,
      file,
      record,
      fallbackTaskId: task.fallbackTaskId,
      lookup: (id) => labels.lookup(id, file),
      patch: (id) => labels.patch(id, file),
      runModel: draft.teacher_model ? null : task.runModel,
    });
    const taskId = joined.trajectory.task_id;
    if (partition && !partition.ownsTask(taskId)) return { kind: 'foreign', taskId, ...repairs };
    if (repairs.invalidUtf8 + repairs.loneSurrogates) joined.trajectory.meta.text_repairs = { invalid_utf8: repairs.invalidUtf8, lone_surrogates: repairs.loneSurrogates };
    const checked = Trajectory.safeParse(joined.trajectory);
    if (!checked.success) {
      const i = checked.error.issues[0];
      return reject(
        { reason: 'invalid-record', message: `${label} (${draft.format}) gives an invalid trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record, task_id: taskId },
        repairs.invalidUtf8,
        repairs.loneSurrogates,
      );
    }
    return finish(checked.data, task, repairs, { origin: joined.origin, conflict: joined.conflict, patchJoined: Boolean(joined.trajectory.meta.patch_source) });
  } catch (err) {
    if (err instanceof FormatError) {
      const forced = cfg.format !== 'auto' && err.reason === 'unknown-shape' ? ` (ingest.format is "${cfg.format}", so no other reader was tried)` : '';
      return reject({ reason: err.reason, message: say(err.message).replace(/\.$/, `${forced}.`), file, record }, repairs.invalidUtf8, repairs.loneSurrogates);
    }
    // A shape no adapter anticipated must not stop the build: the record is rejected with the cause.
    return reject(
      { reason: 'unreadable-record', message: `${label} could not be read as ${detected.adapter.name}: ${(err as Error).message}.`, file, record },
      repairs.invalidUtf8,
      repairs.loneSurrogates,
    );
  }
}

/**
 * The next stages' per-record functions on the record as they will read it, its line parsed: the object made
 * here is that record when JSON carries all of it (no -0, undefined field or non-finite number, which the
 * line would not hold), and is then used as it is; otherwise the line is parsed.
 */
async function runFused(record: Trajectory, line: string | Uint8Array, then: readonly Wanted[]): Promise<Fused[]> {
  if (jsonFaithful(record)) return runChain(record as PipelineRecord, undefined, then);
  const text = typeof line === 'string' ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('utf8');
  return runChain(JSON.parse(text) as PipelineRecord, undefined, then);
}

/** Whether JSON.parse(JSON.stringify(value)) gives the same value (iterative: depth was capped at ingest). */
export function jsonFaithful(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) return false;
      continue;
    }
    if (typeof v !== 'object') return false; // undefined, functions, bigints, symbols
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
      continue;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return false;
    for (const k in v) stack.push((v as Record<string, unknown>)[k]);
  }
  return true;
}

/** Redacts a valid trajectory and serialises it; in reject mode a run holding a secret is not serialised at all. */
async function finish(
  t: Trajectory,
  task: RecordTask,
  repairs: Repairs,
  joined: { origin: LabelOrigin; conflict: boolean; patchJoined: boolean },
  asRead: { bytes: Uint8Array; value: unknown } | null = null,
): Promise<RecordResult> {
  const r = task.settings.ingest.redact;
  const redactor = redactorOf(r);
  let clean = t;
  let counts: Record<string, number> = {};
  if (redactor) {
    const red = await redactor.redactTrajectory(t);
    counts = red.counts;
    if (Object.keys(counts).length) {
      if (r.mode === 'reject') return { kind: 'secrets', record: { task_id: t.task_id, file: t.source.file, record: t.source.record }, counts, ...repairs };
      clean = red.value;
    }
  }
  // A valid Trajectory is a valid PipelineRecord (it has none of the fields later stages add), and zod
  // changes nothing of a valid value, so this line is what the frame's own validation would write. A
  // canonical line read that is already exactly that text (same value, key order and JSON.stringify's form)
  // is passed on as read.
  const keys = asRead && clean === t ? sameJsonKeys(asRead.value, clean) : -1;
  const same = keys >= 0 && stringifyFormKeys(asRead!.bytes) === keys;
  const line = same ? null : JSON.stringify(clean);
  const bytes = same ? asRead!.bytes : utf8(line!);
  return withTransfer({
    kind: 'emit',
    bytes,
    ...(task.then?.length ? { fused: await runFused(clean, line ?? bytes, task.then) } : {}),
    record: task.settings.wantRecord ? (clean as PipelineRecord) : null,
    id: clean.id,
    taskId: clean.task_id,
    harness: clean.source.harness,
    format: clean.source.format,
    resolved: clean.outcome.resolved,
    ...joined,
    redactions: counts,
    ...repairs,
  } satisfies RecordResult, [bytes.buffer as ArrayBuffer]);
}

const UTF8 = new TextEncoder();
const NON_ASCII = /[^\x00-\x7f]/;

/** The line's UTF-8 bytes, in an ArrayBuffer of their own (to be moved): ASCII text is copied byte for byte, faster than encoding. */
function utf8(line: string): Uint8Array {
  if (NON_ASCII.test(line)) return UTF8.encode(line);
  const out = Buffer.allocUnsafeSlow(line.length);
  out.write(line, 0, 'latin1');
  return out;
}
