import { dirname, join } from 'node:path';
import { PipelineRecord, type OutputFile, type PipelineConfig, type StageManifest, type StageName } from '../../schemas/index.js';
import { JsonlWriter } from '../io/jsonl.js';
import { RecordResolver, stageRecords } from './records.js';
import { extrasOf, refLine, type Origin } from './refs.js';
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
  /** Where each record read keeps its body: a record passed on (or extended) is written as a reference to it. */
  private readonly origins = new WeakMap<object, Origin>();
  /** Records read with `fields`: their lines, passed on as read. */
  private readonly pickedLines = new WeakMap<object, PickedLine>();
  private readonly referenced = new Set<StageName>();
  private resolver: RecordResolver | null = null;
  /** Records read and not yet emitted or rejected, by id: what a stage's `{ ...record, field }` was made from. */
  private readonly inFlight = new Map<string, WeakRef<PipelineRecord>>();

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
      // The first pass reads the records as the upstream stage emits them: no file read, no JSON.parse.
      this.feedUsed = true;
      for await (const { record, origin } of this.feed.channel.drain()) {
        if (count) this.countIn();
        this.origins.set(record, origin);
        if (count) this.track(record);
        yield record;
      }
      await this.upstreamComplete();
      return;
    }
    await this.upstreamComplete();
    if (!this.upstream || !this.upstreamDir) throw new Error(`stage ${this.name} has no upstream stage to read from`);
    // Its fingerprint does not cover the upstream's records, so reading them would go stale unnoticed.
    if (this.reads) throw new Error(`stage ${this.name} declares readsStages, so its fingerprint does not cover its upstream's records`);
    for await (const l of stageRecords({ manifest: this.upstream, dir: this.upstreamDir }, { fields: opts.fields })) {
      if (count) this.countIn();
      if (!l.ok) {
        if (count) {
          await this.reject({
            reason: 'bad-intermediate-record',
            message: `Line ${l.line} of ${l.file} is not valid JSON (${l.message}); was the file edited by hand?`,
            file: l.file,
            record: l.line,
          });
        }
        continue;
      }
      const record = deepFreeze(l.record);
      if (opts.fields) this.pickedLines.set(record, { bytes: l.bytes, isRef: l.isRef, origin: l.origin });
      else {
        this.origins.set(record, l.origin);
        if (count) this.track(record);
      }
      yield record;
    }
  }

  async emit(record: PipelineRecord | AnyPicked): Promise<void> {
    const picked = this.pickedLines.get(record);
    if (picked) return this.emitPicked(record, picked);
    if (!isWhole(record)) throw new Error(`stage ${this.name} emitted a record read with picked fields that it changed; only the records as read can be passed on`);
    // Passed on as read (filter, dedup): its body stays where it is; this stage writes a reference.
    const origin = this.origins.get(record);
    if (origin) {
      this.inFlight.delete(record.id);
      await this.writeRef(origin, record.id, extrasOf(record, origin.baseKeys));
      await this.downstream?.push({ record, origin });
      return;
    }
    const extended = this.extension(record);
    if (extended) {
      await this.writeRef(extended.origin, extended.record.id, extrasOf(extended.record, extended.origin.baseKeys));
      if (this.downstream) await this.downstream.push({ record: deepFreeze(extended.record), origin: extended.origin });
      return;
    }
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
    await this.emitWhole(JSON.stringify(parsed.data), parsed.data);
  }

  get handsOn(): boolean {
    return this.downstream !== null;
  }

  async emitSerialized({ line, record }: { line: string; record: PipelineRecord | null; task_id: string }): Promise<void> {
    await this.emitWhole(line, record);
  }

  /** A record written whole: this line becomes its body for the stages after this one. */
  private async emitWhole(line: string, record: PipelineRecord | null): Promise<void> {
    const at = await this.parts.writeLine(line);
    this.recordsOut++;
    this.tick();
    if (!this.downstream) return;
    const whole = deepFreeze(record ?? (JSON.parse(line) as PipelineRecord));
    await this.downstream.push({ record: whole, origin: { ref: { stage: this.name, ...at }, baseKeys: Object.keys(whole) } });
  }

  private async writeRef(origin: Origin, id: string, extras: [string, unknown][]): Promise<void> {
    this.referenced.add(origin.ref.stage);
    await this.parts.writeLine(refLine(origin.ref, id, extras));
    this.recordsOut++;
    this.tick();
  }

  /** A record read with picked fields, passed on unchanged: its line as read (a reference, or a reference to it). */
  private async emitPicked(record: AnyPicked, picked: PickedLine): Promise<void> {
    if (picked.isRef) {
      this.referenced.add(picked.origin.ref.stage);
      await this.parts.writeLine(picked.bytes);
      this.recordsOut++;
      this.tick();
    } else if (typeof record.id === 'string') {
      await this.writeRef(picked.origin, record.id, []);
    } else {
      // Without its id no reference can be checked: the line is copied.
      await this.emitWhole(Buffer.from(picked.bytes.buffer, picked.bytes.byteOffset, picked.bytes.byteLength).toString('utf8'), null);
      return;
    }
    if (!this.downstream) return;
    // The next stage reads whole records: this one is read whole now (its body from where the reference points).
    this.resolver ??= new RecordResolver({ manifest: this.upstream!, dir: this.upstreamDir! });
    const { record: whole, origin } = await this.resolver.resolve(picked.bytes, picked.origin.ref.part, picked.origin.ref.offset, null);
    await this.downstream.push({ record: deepFreeze(whole), origin });
  }

  /** Stages this one's reference lines point at (the runner records their output fingerprints in the manifest). */
  get referencedStages(): readonly StageName[] {
    return [...this.referenced].sort();
  }

  private track(record: PipelineRecord): void {
    // Weak: a stage that never emits what it reads (export) must not keep the records alive.
    this.inFlight.set(record.id, new WeakRef(record));
    // Bounded whatever a stage does: the oldest entry goes (its record then takes the full path).
    if (this.inFlight.size > 4096) this.inFlight.delete(this.inFlight.keys().next().value!);
  }

  /**
   * A record made as `{ ...upstreamRecord, field: value }` (label's values, segment's segment): its body is
   * the upstream record's (the same values, by identity), so it is written as a reference plus its fields
   * beyond the body; only the fields that changed are validated (the rest were when they were written).
   * Anything else takes the full path.
   */
  private extension(record: PipelineRecord): { record: PipelineRecord; origin: Origin } | null {
    const base = this.inFlight.get(record.id)?.deref();
    const origin = base && this.origins.get(base);
    if (!base || !origin) return null;
    const r = record as unknown as Record<string, unknown>;
    const b = base as unknown as Record<string, unknown>;
    for (const k of origin.baseKeys) if (!Object.hasOwn(r, k) || r[k] !== b[k]) return null;
    const shape = PipelineRecord.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
    const out: Record<string, unknown> = { ...r };
    for (const [k, v] of extrasOf(record, origin.baseKeys)) {
      if (v === b[k]) continue;
      const field = Object.hasOwn(shape, k) ? shape[k]!.safeParse(v) : null;
      if (!field?.success) return null; // the full path rejects it with the schema's message
      out[k] = field.data;
    }
    this.inFlight.delete(record.id);
    return { record: out as PipelineRecord, origin };
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

interface PickedLine {
  bytes: Uint8Array;
  isRef: boolean;
  origin: Origin;
}

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
