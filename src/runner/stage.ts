import type { PipelineConfig, PipelineRecord, Reject, StageManifest, StageName, OutputFile } from '../../schemas/index.js';
import type { Logger } from './log.js';
import type { MeasurementStore } from './measurements.js';
import type { AnyPicked, Picked } from './context.js';
import type { Wanted } from './channel.js';
import type { Fused } from './held.js';
import type { RecordFunctionInput, RecordFunctionName, RecordFunctionOutput } from '../workers/record-task.js';

/** Options from the command line that are not pipeline config (they never change a stage's output). */
export interface RunOptions {
  dryRun: boolean;
  quiet: boolean;
}

export type RejectInput = Omit<Reject, 'stage' | 'id' | 'task_id' | 'file' | 'record'> &
  Partial<Pick<Reject, 'id' | 'task_id' | 'file' | 'record'>>;

/** What the frame hands a stage. The stage never writes manifests, counts totals or renames folders. */
export interface StageContext {
  readonly name: StageName;
  readonly config: PipelineConfig;
  readonly options: RunOptions;
  /** Folder this run of the stage writes into (a temporary folder, renamed into place on success). */
  readonly dir: string;
  /** Input files of the run (files, folders and globs expanded, sorted). Used by ingest. */
  readonly inputFiles: readonly string[];
  /** The previous stage's manifest; null for ingest. */
  readonly upstream: StageManifest | null;
  readonly log: Logger;

  /**
   * Streams the previous stage's records in order, counting each as one record in (unless count is false).
   * Records are frozen: to change one, emit a new object ({ ...record, values }).
   */
  records(opts?: { count?: boolean }): AsyncGenerator<PipelineRecord>;
  /**
   * The same records with only `fields` parsed (the rest of each line is skipped, not decoded): for a pass
   * that needs a few small fields of records it already saw whole (dedup's second pass). Read from the
   * upstream's folder, each can be passed on unchanged with emit() (its line is written as read). Records
   * handed over in memory come whole.
   */
  records<K extends keyof PipelineRecord>(opts: { count?: boolean; fields: readonly K[] }): AsyncGenerator<Picked<K>>;
  /**
   * The upstream's records, each with the answer of a per-record function (src/workers/record-task.ts) run in
   * the worker pool where the record is parsed, in input order: this thread never parses them and gets only
   * `fields` (and the id). Each can be passed on (emit), with added fields (`{ ...record, values }`) or rejected.
   * `input` is what the function gets besides the record (from the record's id: e.g. an earlier run's counts).
   */
  mapRecords<K extends keyof PipelineRecord, N extends RecordFunctionName>(opts: {
    fields: readonly K[];
    task: N;
    /** id null: asked once for the stages before this one to run the function where they make each record. */
    input: (id: string | null) => RecordFunctionInput<N>;
    /** false: a pass that does not count its records in (dedup's first pass; its second one counts). */
    count?: boolean;
  }): AsyncGenerator<{ record: Picked<K | 'id'>; result: RecordFunctionOutput<N> }>;
  /** Passes a record on: validated, then appended to the stage's part files. */
  emit(record: PipelineRecord | AnyPicked): Promise<void>;
  /**
   * Passes on a record the stage validated against PipelineRecord and serialised itself (in a worker
   * thread): `line` is its JSON.stringify. `record` may be null when `handsOn` is false (nobody reads the
   * object); `task_id` is the record's.
   */
  emitSerialized(serialized: { line: string | Uint8Array; record: PipelineRecord | null; task_id: string; id: string; fused?: readonly Fused[] }): Promise<void>;
  /**
   * The per-record functions the stages after this one run (ctx.mapRecords), in order, as far as they have
   * said: a stage that makes records in the worker pool runs them there on each record it emits and hands
   * the answers over (emitSerialized's `fused`), so the record is parsed once for them all.
   */
  fusedWork(): Wanted[];
  /** Whether emitted records are handed to the next stage in memory (then emitSerialized needs the object). */
  readonly handsOn: boolean;
  /** Drops a record with a machine-readable reason and a sentence a person can read. */
  reject(reject: RejectInput): Promise<void>;
  /** For stages that read their own input (ingest): one more record seen. */
  countIn(n?: number): void;
  /**
   * For stages that write their own outputs (export): register a finished file. `countedOut` is how many
   * records it accounts for in records_out (default file.records; a summary table of many records says so).
   */
  addOutput(file: OutputFile, countedOut?: number): void;
  /**
   * A stage folder this stage declared in `Stage.readsStages`: its manifest (the one the fingerprint
   * hashed) and its folder. Reading a stage through this, never by guessing a path, keeps the two in step.
   */
  readStage(name: StageName): { manifest: StageManifest; dir: string };
  /**
   * A store of per-record measurements kept across runs (`src/runner/measurements.ts`): `kind` names what
   * is measured and its version. Saved when the stage completes; optional for contexts made by hand.
   */
  measurements?(kind: string): Promise<MeasurementStore>;
  /** Stage-specific counter in the manifest's stats, e.g. count('per_harness', 'swe-agent'). */
  count(group: string, key: string, n?: number): void;
  /** Stage-specific value in the manifest's stats. */
  setStat(key: string, value: unknown): void;
}

export interface Stage {
  readonly name: StageName;
  /** One line for `trajpipe stages`. */
  readonly summary: string;
  /** Bump when the stage's output changes for the same input and config: it forces a rerun. */
  readonly version: string;
  /** The part of the config this stage's output depends on; its hash is part of the fingerprint. */
  configSlice(config: PipelineConfig): unknown;
  /**
   * Set by a stage whose output reports the earlier stages' rejects (export's dataset card): their
   * counts per reason become part of its fingerprint, so the report cannot go stale when an earlier
   * stage reruns to the same records but different rejects.
   */
  readonly reportsUpstreamRejects?: boolean;
  /**
   * Set by a stage that reads earlier stages' folders instead of its upstream's records (formats reads
   * export, pool reads ingest and filter). Its input fingerprint is then the hash of those stages'
   * manifests (output and stage fingerprints: the latter covers rejects, which are not outputs) instead of
   * the upstream's output, so it reruns exactly when what it reads changed. ctx.records() is then refused.
   */
  readonly readsStages?: readonly StageName[];
  /**
   * Set by a stage that reads its upstream only through ctx.records(), in order. When its upstream runs in
   * the same run and this stage must run too, the frame starts both at once and hands the records over in
   * memory (the first records() call); a second records() call (dedup's second pass) reads the upstream's
   * folder once it is complete. ctx.upstream is null until then. The stage's folder is the same either way.
   */
  readonly streamsUpstream?: boolean;
  /**
   * For the first stage: files it reads besides the inputs (outcome files found beside the runs).
   * They are fingerprinted like inputs, so changing one reruns the stage.
   */
  extraInputFiles?(config: PipelineConfig, inputFiles: readonly string[]): Promise<string[]>;
  /** Small files the output depends on (benchmark lists, label files): their content is fingerprinted. */
  dependencyFiles?(config: PipelineConfig): string[];
  /**
   * Folders outside the run folder the stage writes into atomically (response caches): the frame removes
   * temporary files that dead runs left there before the stage runs or is found up to date.
   */
  cacheDirs?(config: PipelineConfig, outDir: string): string[];
  /** Config choices worth a warning on every run, even when the stage itself is up to date (no held-out list). */
  warnings?(config: PipelineConfig): string[];
  run(ctx: StageContext): Promise<void>;
}
