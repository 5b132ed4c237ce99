import { open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestConfig } from '../../../schemas/index.js';
import { UserError } from '../../core/errors.js';
import { hashValue } from '../../core/hash.js';
import { normalizeParsed } from '../../core/text.js';
import { detectFormat, looksCanonical } from '../../formats/detect.js';
import { LabelIndex, parseOutcomeFile, predictionLine, type ParsedOutcomeFile } from '../../formats/labels/index.js';
import { isObject, type AdapterContext } from '../../formats/types.js';
import { displayPath } from '../../io/inputs.js';
import { scanLines, scanRawLines, type OverlongLine, type RawLine } from '../../io/jsonl.js';
import type { RejectInput, StageContext } from '../../runner/stage.js';
import { orderedMap } from '../../workers/ordered.js';
import { sharedPool } from '../../workers/pool.js';
import type { LabelOrigin } from './assemble.js';
import type { IngestSettings, RecordResult, RecordTask } from './convert.js';
import { RunMetadata, fileKind, looksLikeRunAttempt, readJsonFile, taskIdFromFileName } from './files.js';
import { besideOutcomeFiles } from './beside.js';
import { IngestNotes, atLine, atRow, inFile, type Where } from './notes.js';
import { ingestPartition } from './partition.js';
import { parquetRows } from './parquet.js';
import { IngestRedaction } from './redaction.js';

/** Where the ingest worker task keeps the outcome files' index during a run (removed when the stage ends). */
const LABELS_FILE = '.labels-index.json';

/** A record to convert, or one whose outcome is known without converting (an over-long line, an empty file). */
type Item = { kind: 'convert'; task: RecordTask; cutIfBad?: boolean } | { kind: 'known'; where: Where; reject: RejectInput };

type Plan = { file: string; kind: 'json' | 'jsonl' | 'parquet' } | { file: string; kind: 'consumed' } | { file: string; kind: 'skip'; reason: string };

/** One ingest run: classify the inputs, load outcome files, then read every run and emit it. */
export class IngestReader {
  private readonly cfg: IngestConfig;
  private readonly labels = new LabelIndex();
  private readonly runMeta = new RunMetadata();
  private readonly plan: Plan[] = [];
  private readonly labelFiles: { file: string; kind: string; entries: number; origin: 'config' | 'input' | 'beside' }[] = [];
  private labelConflicts = 0;
  private patchesJoined = 0;
  private readonly outcomeByHarness: Record<string, { resolved: number; failed: number; unlabelled: number }> = {};
  private readonly notes: IngestNotes;
  private readonly redaction: IngestRedaction;

  /** Set on a sharded run: lets the reader skip other shards' runs before redacting them. */
  constructor(
    private readonly ctx: StageContext,
    private readonly foreign: (taskId: string) => boolean = () => false,
  ) {
    this.cfg = ctx.config.ingest;
    this.notes = new IngestNotes(ctx);
    this.redaction = new IngestRedaction(ctx);
  }

  async run(): Promise<void> {
    await this.loadConfigLabels();
    await this.classifyInputs();
    if (this.cfg.find_labels) await this.findLabelsBeside();
    await this.readRuns();
    this.ctx.setStat('label_files', this.labelFiles);
    this.ctx.setStat('per_outcome_by_harness', this.outcomeByHarness);
    this.ctx.setStat('label_conflicts', this.labelConflicts);
    this.ctx.setStat('patches_joined', this.patchesJoined);
    this.redaction.finish();
    this.notes.finish(this.labelFiles.filter((f) => f.origin === 'input').length);
  }

  private countIn(): void {
    this.notes.recordsRead++;
    this.ctx.countIn();
  }

  // ---- outcome files ----

  private addOutcomeFile(parsed: ParsedOutcomeFile, file: string, origin: 'config' | 'input' | 'beside'): void {
    const shown = displayPath(file);
    const entries = this.labels.add(parsed, shown, origin === 'config');
    this.labelFiles.push({ file: shown, kind: parsed.kind === 'patches' ? 'predictions' : parsed.format, entries, origin });
  }

  private async loadConfigLabels(): Promise<void> {
    for (const file of this.cfg.labels) {
      const st = await stat(file).catch(() => null);
      if (!st?.isFile()) throw new UserError(`ingest.labels: "${file}" does not exist or is not a file.`);
      if (/\.jsonl$/i.test(file)) {
        this.addOutcomeFile(await this.readOutcomeLines(file), file, 'config');
        continue;
      }
      const r = await readJsonFile(file, this.cfg.max_json_bytes);
      const parsed = r.ok ? parseOutcomeFile(r.value, file) : null;
      if (!parsed) throw new UserError(`ingest.labels: "${file}" is not an outcome file this version reads (results.json id lists, report.json, sb-cli report, summary or predictions).`);
      this.addOutcomeFile(parsed, file, 'config');
    }
  }

  /** JSON lines of predictions ({instance_id, model_patch}) or verdicts ({instance_id, resolved}). */
  private async readOutcomeLines(file: string): Promise<ParsedOutcomeFile> {
    const patches = new Map<string, string>();
    const rows: unknown[] = [];
    // Capped like run files: an over-long line is skipped unread (it is no prediction this reader knows).
    for await (const line of scanLines(file, { maxLineBytes: this.cfg.max_line_bytes })) {
      if ('overlong' in line) continue;
      let v: unknown;
      try {
        v = JSON.parse(line.text);
      } catch {
        continue;
      }
      const p = predictionLine(v);
      if (p) patches.set(p.id, p.patch);
      else if (isObject(v) && typeof v.instance_id === 'string' && typeof v.resolved === 'boolean') rows.push(v);
    }
    if (rows.length) return parseOutcomeFile(rows, file) ?? { kind: 'patches', patches };
    return { kind: 'patches', patches };
  }

  private async classifyInputs(): Promise<void> {
    for (const file of this.ctx.inputFiles) {
      const { kind, reason } = fileKind(file);
      if (/(^|\/)metadata\.ya?ml$/i.test(file)) {
        // A SWE-bench experiment's metadata.yaml names the model (RunMetadata): used, not skipped.
        this.notes.runMetadataFile(file);
        this.plan.push({ file, kind: 'consumed' });
      } else if (kind === 'skip') {
        this.notes.skip(file, reason!);
        this.plan.push({ file, kind: 'skip', reason: reason! });
      } else if (kind === 'predictions-jsonl') {
        this.addOutcomeFile(await this.readOutcomeLines(file), file, 'input');
        this.plan.push({ file, kind: 'consumed' });
      } else if (kind === 'json') {
        this.plan.push(await this.classifyJson(file));
      } else {
        this.plan.push({ file, kind });
      }
    }
  }

  /** A .json input is a run, an outcome file (consumed now, before any run is read) or a stray file. */
  private async classifyJson(file: string): Promise<Plan> {
    if (/\.traj(\.json)?$/i.test(file)) return { file, kind: 'json' };
    const r = await readJsonFile(file, this.cfg.max_json_bytes);
    if (!r.ok) return { file, kind: 'json' }; // rejected with its reason when read as a run
    if (!normalizeParsed(r.value, this.cfg.max_depth).ok) return { file, kind: 'json' }; // rejected as too-deep when read
    const parsed = parseOutcomeFile(r.value, file);
    if (parsed) {
      this.addOutcomeFile(parsed, file, 'input');
      return { file, kind: 'consumed' };
    }
    const ctx = this.adapterContext(file, 0);
    if (looksCanonical(r.value) || detectFormat(r.value, ctx, 'auto').kind !== 'unknown' || looksLikeRunAttempt(r.value) || this.cfg.format !== 'auto') {
      return { file, kind: 'json' };
    }
    this.notes.skip(file, 'not-a-trajectory');
    return { file, kind: 'skip', reason: 'not-a-trajectory' };
  }

  private async findLabelsBeside(): Promise<void> {
    for (const { file, parsed } of await besideOutcomeFiles(this.ctx.inputFiles)) this.addOutcomeFile(parsed, file, 'beside');
  }

  // ---- runs ----

  private adapterContext(file: string, record: number): AdapterContext {
    return { file, record, dataset: this.cfg.dataset };
  }

  private async endsWithNewline(file: string): Promise<boolean> {
    const st = await stat(file);
    if (st.size === 0) return true;
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(1);
      await fh.read(buf, 0, 1, st.size - 1);
      return buf[0] === 0x0a;
    } finally {
      await fh.close();
    }
  }

  /** What the per-record conversion needs besides the record (src/stages/ingest/convert.ts), the same in every thread. */
  private async settings(): Promise<IngestSettings> {
    let labels: IngestSettings['labels'] = null;
    if (this.labels.size) {
      // Written once, read once per worker thread (the index of a big outcome file is too large to send with each record).
      const text = JSON.stringify(this.labels.toData());
      labels = { file: join(this.ctx.dir, LABELS_FILE), key: hashValue(text) };
      await writeFile(labels.file, text);
    }
    const { format, max_depth, max_json_bytes, dataset, redact } = this.cfg;
    const p = ingestPartition(this.ctx.config);
    return {
      ingest: { format, max_depth, max_json_bytes, dataset, redact },
      labels,
      partition: p ? { index: p.index, count: p.count, buckets: p.buckets } : null,
      // The next stages work on each record's text in the pool (ctx.mapRecords), or parse it themselves when
      // they need the object: sending the object back as well would be cloned here for nothing.
      wantRecord: false,
    };
  }

  /** Every record of every input, in order: a conversion for the pool, or an outcome known here (nothing to convert). */
  private async *items(settings: IngestSettings): AsyncGenerator<Item> {
    for (const p of this.plan) {
      if (p.kind === 'json') {
        const where = inFile(p.file);
        yield { kind: 'convert', task: { where, source: { path: p.file }, fallbackTaskId: taskIdFromFileName(p.file), runModel: await this.runMeta.modelFor(p.file), settings } };
      } else if (p.kind === 'jsonl') yield* this.jsonlItems(p.file, settings);
      else if (p.kind === 'parquet') yield* this.parquetItems(p.file, settings);
    }
  }

  private async *jsonlItems(file: string, settings: IngestSettings): AsyncGenerator<Item> {
    const complete = await this.endsWithNewline(file);
    const max = this.cfg.max_line_bytes;
    const runModel = await this.runMeta.modelFor(file);
    let seen = 0;
    let last: RawLine | OverlongLine | null = null;
    // One line behind, so the last line is known to be the last when it fails to parse.
    const item = (line: RawLine | OverlongLine, isLast: boolean): Item => {
      const where = atLine(file, line.line);
      if ('overlong' in line) {
        return {
          kind: 'known',
          where,
          reject: {
            reason: 'line-too-large',
            message: `${where.label} is ${line.bytes} bytes, more than ingest.max_line_bytes (${max}); it was skipped to the next newline without being read.`,
            file,
            record: where.record,
          },
        };
      }
      return { kind: 'convert', task: { where, source: { bytes: line.bytes }, fallbackTaskId: null, runModel, settings }, cutIfBad: isLast && !complete };
    };
    for await (const line of scanRawLines(file, { maxLineBytes: max })) {
      seen++;
      if (last) yield item(last, false);
      last = line;
    }
    if (last) yield item(last, true);
    // A file of a trajectory's type that holds nothing is accounted for, not silently passed over.
    if (seen === 0) yield { kind: 'known', where: inFile(file), reject: { reason: 'empty-file', message: `${file} holds no record (it is empty or blank).`, file, record: null } };
  }

  private async *parquetItems(file: string, settings: IngestSettings): AsyncGenerator<Item> {
    let seen = 0;
    const runModel = await this.runMeta.modelFor(file);
    try {
      for await (const { row, index } of parquetRows(file)) {
        seen++;
        yield { kind: 'convert', task: { where: atRow(file, index), source: { value: row, invalidUtf8: 0 }, fallbackTaskId: null, runModel, settings } };
      }
    } catch (err) {
      const what = seen ? `after ${seen} row(s)` : '(is it a Parquet file?)';
      yield { kind: 'known', where: inFile(file), reject: { reason: 'bad-parquet', message: `${file} cannot be read as Parquet ${what}: ${(err as Error).message}.`, file, record: seen } };
    }
  }

  /** Converts every record (in the worker pool when there is one), then accounts for each in input order. */
  private async readRuns(): Promise<void> {
    const settings = await this.settings();
    const pool = sharedPool(this.ctx.config.runner.workers);
    this.ctx.setStat('worker_threads', pool.threads);
    const converted = orderedMap(
      this.items(settings),
      async (item) => {
        if (item.kind === 'known') return { item, result: null };
        const transfer = 'bytes' in item.task.source ? [item.task.source.bytes.buffer as ArrayBuffer] : undefined;
        // The stages after ingest that work per record in the pool (filter, dedup's map) get their answers
        // made here, on the record just made: it is parsed once for all of them.
        const then = this.ctx.fusedWork();
        const task = then.length ? { ...item.task, then } : item.task;
        return { item, result: await pool.run('ingest.record', task, transfer) };
      },
      { window: Math.max(1, pool.window), name: (item) => `ingest: ${item.kind === 'known' ? item.where.label : item.task.where.label}` },
    );
    for await (const { item, result } of converted) {
      this.countIn();
      if (item.kind === 'known') await this.ctx.reject(item.reject);
      else await this.apply(item.task.where, result!, item.cutIfBad ?? false);
    }
    if (settings.labels) await rm(settings.labels.file, { force: true });
  }

  private async apply(where: Where, r: RecordResult, cutIfBad: boolean): Promise<void> {
    const { file, record, label } = where;
    this.notes.repaired(where, r.invalidUtf8, r.loneSurrogates);
    switch (r.kind) {
      case 'unparsable': {
        const truncated = cutIfBad && r.truncated;
        const binary = r.invalidUtf8 > 0 ? ` (${r.invalidUtf8} invalid UTF-8 sequence(s): is it a binary file?)` : '';
        await this.ctx.reject({
          reason: truncated ? 'truncated-file' : 'bad-json',
          message: truncated ? `${label} stops before it is complete: the file ends mid-record (${r.msg}).` : `${label} is not valid JSON: ${r.msg}${binary}.`,
          file,
          record,
        });
        return;
      }
      case 'reject':
        await this.ctx.reject(r.reject);
        return;
      case 'foreign':
        this.foreign(r.taskId);
        return;
      case 'secrets':
        await this.redaction.rejectRun(r.record, r.counts);
        return;
      case 'emit':
        this.redaction.count(r.redactions);
        if (r.conflict) this.labelConflicts++;
        if (r.patchJoined) this.patchesJoined++;
        this.countEmitted(r.harness, r.format, r.resolved, r.origin);
        await this.ctx.emitSerialized({ line: r.bytes, record: r.record, task_id: r.taskId, id: r.id, ...(r.fused ? { fused: r.fused } : {}) });
    }
  }

  private countEmitted(harness: string, format: string, resolved: boolean | null, origin: LabelOrigin): void {
    this.ctx.count('per_harness', harness);
    this.ctx.count('per_format', format);
    const outcome = resolved === true ? 'resolved' : resolved === false ? 'failed' : 'unlabelled';
    this.ctx.count('per_outcome', outcome);
    this.ctx.count('per_label_origin', origin);
    const byHarness = (this.outcomeByHarness[harness] ??= { resolved: 0, failed: 0, unlabelled: 0 });
    byHarness[outcome]++;
  }

}
