import { dirname, join } from 'node:path';
import { PipelineRecord, type OutputFile, type PipelineConfig, type StageManifest, type StageName } from '../../schemas/index.js';
import { JsonlWriter } from '../io/jsonl.js';
import { stageRecords } from './records.js';
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
  /** The line each upstream record was read from: a record emitted unchanged is written back as read. */
  private readonly rawLines = new WeakMap<object, string>();
  /** The same for records read with `fields` (a few fields picked, the line's bytes kept as they are). */
  private readonly rawBytes = new WeakMap<object, Uint8Array>();
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
      for await (const { record, line } of this.feed.channel.drain()) {
        if (count) this.countIn();
        this.rawLines.set(record, line);
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
      if (l.bytes) this.rawBytes.set(record, l.bytes);
      else {
        this.rawLines.set(record, l.text!);
        if (count) this.track(record);
      }
      yield record;
    }
  }

  async emit(record: PipelineRecord | AnyPicked): Promise<void> {
    const bytes = this.rawBytes.get(record);
    if (bytes !== undefined) {
      // Read with picked fields: only passing it on unchanged is possible, and its bytes go out as read.
      await this.parts.writeLine(bytes);
      this.recordsOut++;
      this.tick();
      if (this.downstream) {
        const line = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
        await this.downstream.push({ record: deepFreeze(JSON.parse(line) as PipelineRecord), line });
      }
      return;
    }
    if (!isWhole(record)) throw new Error(`stage ${this.name} emitted a record read with picked fields that it changed; only the records as read can be passed on`);
    // Passed on as read (filter, dedup): it was validated when written upstream and is frozen, so
    // its line is written back as is, saving a schema check and a JSON.stringify per record.
    const raw = this.rawLines.get(record);
    if (raw !== undefined) {
      this.inFlight.delete(record.id);
      await this.parts.writeLine(raw);
      this.recordsOut++;
      this.tick();
      await this.downstream?.push({ record, line: raw });
      return;
    }
    const extended = this.extension(record);
    if (extended) {
      await this.parts.writeLine(extended.line);
      this.recordsOut++;
      this.tick();
      if (this.downstream) await this.downstream.push({ record: deepFreeze(extended.record), line: extended.line });
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
    const line = JSON.stringify(parsed.data);
    await this.parts.writeLine(line);
    this.recordsOut++;
    this.tick();
    if (this.downstream) await this.downstream.push({ record: deepFreeze(parsed.data), line });
  }

  get handsOn(): boolean {
    return this.downstream !== null;
  }

  async emitSerialized({ line, record }: { line: string; record: PipelineRecord | null; task_id: string }): Promise<void> {
    await this.parts.writeLine(line);
    this.recordsOut++;
    this.tick();
    if (this.downstream) await this.downstream.push({ record: deepFreeze(record ?? (JSON.parse(line) as PipelineRecord)), line });
  }

  private track(record: PipelineRecord): void {
    // Weak: a stage that never emits what it reads (export) must not keep the records alive.
    this.inFlight.set(record.id, new WeakRef(record));
    // Bounded whatever a stage does: the oldest entry goes (its record then takes the full path).
    if (this.inFlight.size > 4096) this.inFlight.delete(this.inFlight.keys().next().value!);
  }

  /**
   * A record made as `{ ...upstreamRecord, field: value }` (label's values, segment's segment): the
   * upstream part was validated and serialised when it was written, so only the new fields are validated,
   * and the line is the upstream line with them appended. The bytes are those of JSON.stringify of the
   * validated whole (the same keys in the same order, and zod changes nothing of a valid record: the
   * schemas have no defaults or transforms); anything else takes the full path.
   */
  private extension(record: PipelineRecord): { record: PipelineRecord; line: string } | null {
    const base = this.inFlight.get(record.id)?.deref();
    if (!base) return null;
    const raw = this.rawLines.get(base);
    if (raw === undefined || !raw.endsWith('}')) return null;
    const keys = Object.keys(record);
    const baseKeys = Object.keys(base);
    if (keys.length <= baseKeys.length) return null;
    const r = record as unknown as Record<string, unknown>;
    const b = base as unknown as Record<string, unknown>;
    for (let i = 0; i < baseKeys.length; i++) if (keys[i] !== baseKeys[i] || r[baseKeys[i]!] !== b[baseKeys[i]!]) return null;
    const shape = PipelineRecord.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
    const out: Record<string, unknown> = { ...b };
    let tail = '';
    for (const k of keys.slice(baseKeys.length)) {
      const field = Object.hasOwn(shape, k) ? shape[k]!.safeParse(r[k]) : null;
      if (!field?.success) return null; // the full path rejects it with the schema's message
      out[k] = field.data;
      if (field.data !== undefined) tail += `,${JSON.stringify(k)}:${JSON.stringify(field.data)}`;
    }
    this.inFlight.delete(record.id);
    return { record: out as PipelineRecord, line: raw.slice(0, -1) + tail + '}' };
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
    for (const store of this.stores.values()) await store.save();
    const parts = await this.parts.close();
    if (this.rejects) await this.rejects.close();
    this.progress.stop();
    return [...parts, ...this.extraOutputs];
  }

  async abort(): Promise<void> {
    this.progress.stop();
    await this.parts.close().catch(() => {});
    if (this.rejects) await this.rejects.close().catch(() => {});
  }
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
