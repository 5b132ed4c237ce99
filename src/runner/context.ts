import { dirname, join } from 'node:path';
import { PipelineRecord, type OutputFile, type PipelineConfig, type StageManifest, type StageName } from '../../schemas/index.js';
import { JsonlWriter } from '../io/jsonl.js';
import { RecordResolver, stageRecords, type StageLine } from './records.js';
import { refLine } from './refs.js';
import { bodyKeysOf, extrasTail, materialize, wholeText, withExtras, type Fused, type Held } from './held.js';
import type { Wanted } from './channel.js';
import { scanRawLines } from '../io/jsonl.js';
import { UserError } from '../core/errors.js';
import { orderedMap } from '../workers/ordered.js';
import { sharedPool } from '../workers/pool.js';
import { pick, runRecordFunction, thenOf, type RecordFunctionInput, type RecordFunctionName, type RecordFunctionOutput, type RecordTaskOutput } from '../workers/record-task.js';
import { PartWriter } from './parts.js';
import type { RecordChannel } from './channel.js';
import { MeasurementStore } from './measurements.js';
import type { Progress } from './progress.js';
import type { Logger } from './log.js';
import type { RejectInput, RunOptions, StageContext } from './stage.js';

interface ContextInit {
  name: StageName;
  config: PipelineConfig;
  options: RunOptions;
  dir: string;
  inputFiles: string[];
  upstream: StageManifest | null;
  upstreamDir: string | null;
  /**
   * Set when the upstream stage runs at the same time in this process: its records arrive through the
   * channel (the first call of records()), and `done` gives its folder once it is complete (later calls
   * read that folder; the manifest of this stage waits for it).
   */
  feed?: { channel: RecordChannel; done: Promise<{ manifest: StageManifest; dir: string }> };
  /** The next stage reads this one's records from here while both run. */
  downstream?: RecordChannel;
  /** The stages this one declared in readsStages (when it did; then records() is refused). */
  reads?: ReadonlyMap<StageName, { manifest: StageManifest; dir: string }>;
  log: Logger;
  progress: Progress;
}

/** The frame's side of a stage run: counting, part files, rejects, stats. */
export class RunningStage implements StageContext {
  readonly name: StageName;
  readonly config: PipelineConfig;
  readonly options: RunOptions;
  readonly dir: string;
  readonly inputFiles: readonly string[];
  readonly log: Logger;

  recordsIn = 0;
  recordsOut = 0;
  readonly dropped: Record<string, number> = {};
  readonly stats: Record<string, unknown> = {};
  private readonly extraOutputs: OutputFile[] = [];
  private readonly parts: PartWriter;
  private rejects: JsonlWriter | null = null;
  private upstreamManifest: StageManifest | null;
  private upstreamDir: string | null;
  private readonly feed: ContextInit['feed'] | null;
  private feedUsed = false;
  private readonly downstream: RecordChannel | null;
  private readonly reads: ReadonlyMap<StageName, { manifest: StageManifest; dir: string }> | null;
  private readonly progress: Progress;
  /**
   * How the frame holds each record it gave the stage: where its body is (a record passed on or extended is
   * written as a reference to it), its added fields, its text; for one read with picked fields, which fields,
   * and for one read so from the upstream's folder, its line.
   */
  private readonly held = new WeakMap<object, HeldHere>();
  private readonly referenced = new Set<StageName>();
  private resolver: RecordResolver | null = null;
  /** Records read and not yet emitted or rejected, by id: what a stage's `{ ...record, field }` was made from. */
  private readonly inFlight = new Map<string, WeakRef<object>>();

  constructor(init: ContextInit) {
    this.name = init.name;
    this.config = init.config;
    this.options = init.options;
    this.dir = init.dir;
    this.inputFiles = init.inputFiles;
    this.upstreamManifest = init.upstream;
    this.upstreamDir = init.upstreamDir;
    this.feed = init.feed ?? null;
    this.downstream = init.downstream ?? null;
    this.reads = init.reads && init.reads.size ? init.reads : null;
    this.log = init.log;
    this.progress = init.progress;
    this.parts = new PartWriter(init.dir, init.config.runner.part_max_records, init.config.runner.part_max_bytes);
  }

  /** The previous stage's manifest; null for ingest, and while an upstream running beside this stage is not complete. */
  get upstream(): StageManifest | null {
    return this.upstreamManifest;
  }

  /** Waits until the upstream stage running beside this one is complete (its manifest written, its folder in place). */
  async upstreamComplete(): Promise<void> {
    if (!this.feed || this.upstreamManifest) return;
    const done = await this.feed.done;
    this.upstreamManifest = done.manifest;
    this.upstreamDir = done.dir;
  }

  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + b, 0);
  }

  private tick(): void {
    this.progress.update(this.recordsIn, this.recordsOut, this.droppedTotal);
  }

  records(opts?: { count?: boolean }): AsyncGenerator<PipelineRecord>;
  records<K extends keyof PipelineRecord>(opts: { count?: boolean; fields: readonly K[] }): AsyncGenerator<Picked<K>>;
  async *records(opts: { count?: boolean; fields?: readonly (keyof PipelineRecord)[] } = {}): AsyncGenerator<PipelineRecord> {
    const count = opts.count ?? true;
    if (this.feed && !this.feedUsed) {
      // The first pass reads the records as the upstream stage emits them: no file read; parsed here only
      // if the upstream did not hand over the object.
      this.feedUsed = true;
      for await (const h of this.feed.channel.drain()) {
        if (count) this.countIn();
        const record = deepFreeze(materialize(h));
        this.held.set(record, { ...h, record, baseKeys: h.baseKeys ?? bodyKeysOf(record, h.extras) });
        if (count) this.track(record);
        yield record;
      }
      await this.upstreamComplete();
      return;
    }
    for await (const l of this.upstreamLines({ fields: opts.fields })) {
      if (count) this.countIn();
      if (!l.ok) {
        if (count) await this.rejectBadLine(l);
        continue;
      }
      const record = deepFreeze(l.record);
      if (opts.fields) this.held.set(record, { ...l.held, line: { bytes: l.bytes, isRef: l.isRef } });
      else {
        this.held.set(record, l.held);
        if (count) this.track(record);
      }
      yield record;
    }
  }

  /** The upstream folder's lines (a complete folder; waits for an upstream running beside this stage). */
  private async *upstreamLines(opts: { fields?: readonly string[] | undefined }): AsyncGenerator<StageLine> {
    await this.upstreamComplete();
    if (!this.upstream || !this.upstreamDir) throw new Error(`stage ${this.name} has no upstream stage to read from`);
    // Its fingerprint does not cover the upstream's records, so reading them would go stale unnoticed.
    if (this.reads) throw new Error(`stage ${this.name} declares readsStages, so its fingerprint does not cover its upstream's records`);
    yield* stageRecords({ manifest: this.upstream, dir: this.upstreamDir }, opts.fields ? { fields: opts.fields } : {});
  }

  private async rejectBadLine(l: { file: string; line: number; message: string }): Promise<void> {
    await this.reject({
      reason: 'bad-intermediate-record',
      message: `Line ${l.line} of ${l.file} is not valid JSON (${l.message}); was the file edited by hand?`,
      file: l.file,
      record: l.line,
    });
  }

  async *mapRecords<K extends keyof PipelineRecord, N extends RecordFunctionName>(opts: {
    fields: readonly K[];
    task: N;
    input: (id: string | null) => RecordFunctionInput<N>;
    /** false: a pass that does not count its records in (dedup's first pass; its second one counts). */
    count?: boolean;
  }): AsyncGenerator<{ record: Picked<K | 'id'>; result: RecordFunctionOutput<N> }> {
    const pool = sharedPool(this.config.runner.workers);
    const fields: string[] = opts.fields.includes('id' as K) ? [...opts.fields] : ['id', ...opts.fields];
    // Said before the first record is read: the stages before this one may then run the function where they
    // make each record (one parse for all), and hand over the answer with it.
    if (this.feed && !this.feedUsed) this.feed.channel.wanted = { name: opts.task, fields, input: opts.input(null), passesOn: opts.count ?? true };
    const results = orderedMap(
      this.heldRecords(),
      async (h): Promise<{ h: Held | null; out: RecordTaskOutput; bad?: { file: string; line: number; message: string } }> => {
        if ('bad' in h) return { h: null, out: { ok: false, error: h.bad.message }, bad: h.bad };
        // Made already where the record was made or passed through (one parse for the chain of stages).
        const fused = h.fused?.find((f) => f.name === opts.task);
        if (fused) return { h, out: { ok: true, head: fused.head, result: fused.result, ...(h.fused!.length > 1 ? { fused: h.fused!.filter((f) => f !== fused) } : {}) } };
        const input = opts.input(h.id);
        // A record this thread holds whole is not sent anywhere: the same function runs here on the object.
        if (h.record || pool.threads === 0) {
          const record = h.record ?? materialize(h);
          return { h, out: { ok: true, head: pick(record, fields), result: await runRecordFunction(opts.task, record, input) } };
        }
        // The stages after this one that work per record run on what this one passes on, in the same call.
        const chain = this.downstream?.wantedChain() ?? [];
        // A body held as bytes is sent as bytes (copied, not decoded here) with the added fields' text.
        const record = typeof h.body === 'string' || h.body === null ? { text: wholeText(h)! } : { body: h.body, tail: extrasTail(h.extras) };
        return { h, out: await pool.run('record.map', { name: opts.task, ...record, fields, input, ...(chain.length ? { chain } : {}) }) };
      },
      { window: Math.max(2, pool.window), name: (h) => `${this.name}: ${'bad' in h ? `line ${h.bad.line} of ${h.bad.file}` : `run ${h.id}`}` },
    );
    const count = opts.count ?? true;
    for await (const { h, out, bad } of results) {
      if (count) this.countIn();
      if (!out.ok) {
        if (count) await this.rejectBadLine(bad ?? { file: `${h!.ref.stage}/${h!.ref.part}`, line: -1, message: out.error });
        continue;
      }
      const record = deepFreeze(out.head) as Picked<K | 'id'>;
      const { fused: _upstream, ...rest } = h!;
      this.held.set(record, { ...rest, fields: new Set(fields), ...(out.fused ? { fused: out.fused } : {}), expect: thenOf(out.result) });
      if (count) this.track(record);
      yield { record, result: out.result as RecordFunctionOutput<N> };
    }
  }

  /** The upstream's records as held (handed over, or read from its folder without parsing their bodies). */
  private async *heldRecords(): AsyncGenerator<Held | { bad: { file: string; line: number; message: string } }> {
    if (this.feed && !this.feedUsed) {
      this.feedUsed = true;
      yield* this.feed.channel.drain();
      await this.upstreamComplete();
      return;
    }
    await this.upstreamComplete();
    if (!this.upstream || !this.upstreamDir) throw new Error(`stage ${this.name} has no upstream stage to read from`);
    if (this.reads) throw new Error(`stage ${this.name} declares readsStages, so its fingerprint does not cover its upstream's records`);
    const resolver = new RecordResolver({ manifest: this.upstream, dir: this.upstreamDir });
    try {
      for (const out of this.upstream.outputs) {
        if (!/^part-\d+\.jsonl$/.test(out.path)) continue;
        const file = join(this.upstreamDir, out.path);
        for await (const l of scanRawLines(file)) {
          if ('overlong' in l) continue;
          try {
            yield await resolver.held(l.bytes, out.path, l.offset);
          } catch (err) {
            if (err instanceof UserError) throw err;
            yield { bad: { file, line: l.line, message: (err as Error).message } };
          }
        }
      }
    } finally {
      await resolver.close();
    }
  }

  async emit(record: PipelineRecord | AnyPicked): Promise<void> {
    const h = this.held.get(record);
    if (h) {
      this.inFlight.delete(h.id);
      if (h.line) return this.emitPickedLine(h, h.line);
      // Passed on as read (filter, dedup): its body stays where it is; this stage writes a reference.
      await this.writeRef(h, h.extras);
      const unchanged = h.expect === undefined || (h.expect !== null && Object.keys(h.expect).length === 0);
      await this.downstream?.push(handed(unchanged ? h : { ...h, fused: undefined }));
      return;
    }
    const extended = this.extension(record);
    if (extended) {
      await this.writeRef(extended, extended.extras);
      if (this.downstream) await this.downstream.push(extended);
      return;
    }
    if (!isWhole(record)) throw new Error(`stage ${this.name} emitted a record read with picked fields that it changed beyond adding fields; only such records can be passed on`);
    const parsed = PipelineRecord.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await this.reject({
        reason: 'invalid-record',
        message: `The ${this.name} stage produced a record that does not match the schema: ${issue?.path.join('.') || '(root)'}: ${issue?.message}.`,
        id: record.id ?? null,
        task_id: record.task_id ?? null,
        file: record.source?.file ?? null,
        record: record.source?.record ?? null,
      });
      return;
    }
    await this.emitWhole(JSON.stringify(parsed.data), parsed.data, parsed.data.id);
  }

  get handsOn(): boolean {
    return this.downstream !== null;
  }

  async emitSerialized({ line, record, id, fused }: { line: string | Uint8Array; record: PipelineRecord | null; task_id: string; id: string; fused?: readonly Fused[] }): Promise<void> {
    await this.emitWhole(line, record, id, fused);
  }

  fusedWork(): Wanted[] {
    return this.downstream?.wantedChain() ?? [];
  }

  /** A record written whole: this line becomes its body for the stages after this one. */
  private async emitWhole(line: string | Uint8Array, record: PipelineRecord | null, id: string, fused?: readonly Fused[]): Promise<void> {
    const at = await this.parts.writeLine(line);
    this.recordsOut++;
    this.tick();
    if (!this.downstream) return;
    const whole = record ? deepFreeze(record) : null;
    await this.downstream.push({ id, ref: { stage: this.name, ...at }, baseKeys: whole ? Object.keys(whole) : null, extras: [], body: line, record: whole, ...(fused?.length ? { fused } : {}) });
  }

  private async writeRef(h: Held, extras: Held['extras']): Promise<void> {
    this.referenced.add(h.ref.stage);
    await this.parts.writeLine(refLine(h.ref, h.id, extras));
    this.recordsOut++;
    this.tick();
  }

  /** A record read with picked fields, passed on unchanged: its line as read (a reference, or a reference to it). */
  private async emitPickedLine(h: Held, line: { bytes: Uint8Array; isRef: boolean }): Promise<void> {
    if (line.isRef) {
      this.referenced.add(h.ref.stage);
      await this.parts.writeLine(line.bytes);
      this.recordsOut++;
      this.tick();
    } else {
      await this.writeRef(h, []);
    }
    if (!this.downstream) return;
    // The next stage gets the record's text (its body, as read for the picks or where the reference points), not parsed here.
    if (h.body !== null) {
      await this.downstream.push({ id: h.id, ref: h.ref, baseKeys: null, extras: h.extras, body: h.body, record: null });
      return;
    }
    this.resolver ??= new RecordResolver({ manifest: this.upstream!, dir: this.upstreamDir! });
    await this.downstream.push(await this.resolver.held(line.bytes, h.ref.part, h.ref.offset));
  }

  /** Stages this one's reference lines point at (the runner records their output fingerprints in the manifest). */
  get referencedStages(): readonly StageName[] {
    return [...this.referenced].sort();
  }

  private track(record: { id: string }): void {
    // Weak: a stage that never emits what it reads (export) must not keep the records alive.
    this.inFlight.set(record.id, new WeakRef(record));
    // Bounded whatever a stage does: the oldest entry goes (its record then takes the full path).
    if (this.inFlight.size > 4096) this.inFlight.delete(this.inFlight.keys().next().value!);
  }

  /**
   * A record made as `{ ...upstreamRecord, field: value }` (label's values, segment's segment): its body is
   * the upstream record's (the same values, by identity), so it is written as a reference plus its fields
   * beyond the body; only the fields that changed are validated (the rest were when they were written).
   * The same for a record read with picked fields (ctx.mapRecords) plus added fields. Anything else takes
   * the full path.
   */
  private extension(record: PipelineRecord | AnyPicked): Held | null {
    const id = (record as { id?: unknown }).id;
    if (typeof id !== 'string') return null;
    const base = this.inFlight.get(id)?.deref();
    const h = base && this.held.get(base);
    if (!base || !h || h.line) return null;
    const r = record as unknown as Record<string, unknown>;
    const b = base as unknown as Record<string, unknown>;
    const added = new Set(h.extras.map(([k]) => k));
    // What the stage read of the body must be what it passes on.
    const bodyKeys = h.fields ? [...h.fields].filter((k) => !added.has(k)) : h.baseKeys!;
    for (const k of bodyKeys) if (Object.hasOwn(b, k) && (!Object.hasOwn(r, k) || r[k] !== b[k])) return null;
    const body = new Set(bodyKeys);
    const shape = PipelineRecord.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
    const set: [string, string][] = [];
    const out: Record<string, unknown> = { ...r };
    for (const [k, v] of Object.entries(r)) {
      if (body.has(k) || v === undefined || (Object.hasOwn(b, k) && v === b[k])) continue;
      if (!h.fields && Object.hasOwn(b, k) && !added.has(k)) return null; // a body field changed
      const field = Object.hasOwn(shape, k) ? shape[k]!.safeParse(v) : null;
      if (!field?.success) return null; // the full path rejects it with the schema's message
      out[k] = field.data;
      set.push([k, JSON.stringify(field.data)]);
    }
    this.inFlight.delete(id);
    const whole = h.record && !h.fields ? (deepFreeze(out) as PipelineRecord) : null;
    // The next stages' answers were made on the record the function said this stage passes on: kept if it is that one.
    const e = h.expect;
    const asSaid = e && set.length === Object.keys(e).length && set.every(([k]) => Object.hasOwn(e, k) && e[k] === r[k]);
    return { id, ref: h.ref, baseKeys: h.baseKeys, extras: withExtras(h.extras, set), body: h.body, record: whole, ...(asSaid && h.fused ? { fused: h.fused } : {}) };
  }

  async reject(r: RejectInput): Promise<void> {
    if (r.id) this.inFlight.delete(r.id);
    if (!this.rejects) this.rejects = await JsonlWriter.create(join(this.dir, 'rejects.jsonl'));
    await this.rejects.write({
      stage: this.name,
      reason: r.reason,
      message: r.message,
      id: r.id ?? null,
      task_id: r.task_id ?? null,
      file: r.file ?? null,
      record: r.record ?? null,
      ...(r.details ? { details: r.details } : {}),
    });
    this.dropped[r.reason] = (this.dropped[r.reason] ?? 0) + 1;
    this.tick();
  }

  countIn(n = 1): void {
    this.recordsIn += n;
    this.tick();
  }

  addOutput(file: OutputFile, countedOut = file.records): void {
    this.extraOutputs.push(file);
    this.recordsOut += countedOut;
    this.tick();
  }

  readStage(name: StageName): { manifest: StageManifest; dir: string } {
    const folder = this.reads?.get(name);
    if (!folder) throw new Error(`stage ${this.name} reads ${name} without declaring it in readsStages`);
    return folder;
  }

  private readonly stores = new Map<string, MeasurementStore>();

  async measurements(kind: string): Promise<MeasurementStore> {
    let store = this.stores.get(kind);
    if (!store) {
      // The stage writes into <out>/.<stage>.partial-*; its previous complete folder is <out>/<stage>.
      const file = MeasurementStore.fileName(kind);
      store = new MeasurementStore(join(dirname(this.dir), this.name, file), join(this.dir, file));
      this.stores.set(kind, store);
      await store.load();
    }
    return store;
  }

  count(group: string, key: string, n = 1): void {
    const g = (this.stats[group] ??= {}) as Record<string, number>;
    g[key] = (g[key] ?? 0) + n;
  }

  setStat(key: string, value: unknown): void {
    this.stats[key] = value;
  }

  /** Closes every file; returns the outputs in a stable order (parts first, then the stage's own). */
  async finish(): Promise<OutputFile[]> {
    this.downstream?.end();
    await this.resolver?.close();
    for (const store of this.stores.values()) await store.save();
    const parts = await this.parts.close();
    if (this.rejects) await this.rejects.close();
    this.progress.stop();
    return [...parts, ...this.extraOutputs];
  }

  async abort(): Promise<void> {
    this.progress.stop();
    await this.resolver?.close().catch(() => {});
    await this.parts.close().catch(() => {});
    if (this.rejects) await this.rejects.close().catch(() => {});
  }
}

interface HeldHere extends Held {
  /** What the stage's per-record function said the stage adds when it passes the record on (thenOf). */
  expect?: Record<string, unknown> | null;
  /** Read with these fields only (ctx.mapRecords, records({ fields })). */
  fields?: ReadonlySet<string>;
  /** Read with records({ fields }) from the upstream's folder: the line as written. */
  line?: { bytes: Uint8Array; isRef: boolean };
}

/** What the next stage is handed of a record passed on unchanged. */
const handed = (h: HeldHere): Held => ({
  id: h.id,
  ref: h.ref,
  baseKeys: h.baseKeys,
  extras: h.extras,
  body: h.body,
  record: h.fields ? null : h.record,
  ...(h.fused?.length ? { fused: h.fused } : {}),
});

/** A record read with `records({ fields })`: those fields only; it can be passed on unchanged. */
export type Picked<K extends keyof PipelineRecord> = Readonly<Pick<PipelineRecord, K>> & { readonly __picked?: true };

/** A record of any picked fields (what emit accepts besides whole records). */
export type AnyPicked = Readonly<Partial<PipelineRecord>>;

/** Full records always have their id and messages; a picked one may lack them. */
function isWhole(r: PipelineRecord | AnyPicked): r is PipelineRecord {
  return 'messages' in r && 'steps' in r;
}

/**
 * Records read from upstream are read-only: a stage that changes one emits a new object
 * ({ ...record, values }). Freezing makes an accidental in-place change throw instead of being lost
 * by the raw-line fast path in emit().
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
