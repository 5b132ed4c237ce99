import { open, stat } from 'node:fs/promises';
import { Trajectory, type IngestConfig } from '../../../schemas/index.js';
import { UserError } from '../../core/errors.js';
import { detectFormat, looksCanonical } from '../../formats/detect.js';
import { LabelIndex, parseOutcomeFile, predictionLine, type ParsedOutcomeFile } from '../../formats/labels/index.js';
import { FormatError, isObject, type AdapterContext } from '../../formats/types.js';
import { displayPath } from '../../io/inputs.js';
import { scanLines, type Line, type OverlongLine } from '../../io/jsonl.js';
import type { StageContext } from '../../runner/stage.js';
import { assemble, type LabelOrigin } from './assemble.js';
import { RunMetadata, fileKind, jsonParseFailure, looksLikeRunAttempt, readJsonFile, taskIdFromFileName } from './files.js';
import { besideOutcomeFiles } from './beside.js';
import { IngestNotes, atLine, atRow, inFile, type Where } from './notes.js';
import { parquetRows } from './parquet.js';
import { IngestRedaction } from './redaction.js';
import { normalizeParsed } from '../../core/text.js';

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
    for (const p of this.plan) {
      if (p.kind === 'json') await this.readJsonRun(p.file);
      else if (p.kind === 'jsonl') await this.readJsonl(p.file);
      else if (p.kind === 'parquet') await this.readParquet(p.file);
    }
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

  private async readJsonRun(file: string): Promise<void> {
    this.countIn();
    const where = inFile(file);
    const r = await readJsonFile(file, this.cfg.max_json_bytes);
    if (!r.ok) {
      this.notes.repaired(where, r.invalidUtf8, 0);
      await this.ctx.reject({ reason: r.reason, message: `${file} cannot be read: ${r.message}.`, file, record: 0 });
      return;
    }
    await this.handle(r.value, where, taskIdFromFileName(file), r.invalidUtf8);
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

  private async readJsonl(file: string): Promise<void> {
    const complete = await this.endsWithNewline(file);
    const max = this.cfg.max_line_bytes;
    let seen = 0;
    let last: Line | OverlongLine | null = null;
    // One line behind, so the last line is known to be the last when it fails to parse.
    const handleLine = async (item: Line | OverlongLine, isLast: boolean): Promise<void> => {
      this.countIn();
      const where = atLine(file, item.line);
      if ('overlong' in item) {
        await this.ctx.reject({
          reason: 'line-too-large',
          message: `${where.label} is ${item.bytes} bytes, more than ingest.max_line_bytes (${max}); it was skipped to the next newline without being read.`,
          file,
          record: where.record,
        });
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(item.text);
      } catch (err) {
        this.notes.repaired(where, item.invalidUtf8, 0);
        const { truncated: cut, msg } = jsonParseFailure(err);
        const truncated = isLast && !complete && cut;
        const binary = item.invalidUtf8 > 0 ? ` (${item.invalidUtf8} invalid UTF-8 sequence(s): is it a binary file?)` : '';
        await this.ctx.reject({
          reason: truncated ? 'truncated-file' : 'bad-json',
          message: truncated
            ? `${where.label} stops before it is complete: the file ends mid-record (${msg}).`
            : `${where.label} is not valid JSON: ${msg}${binary}.`,
          file,
          record: where.record,
        });
        return;
      }
      await this.handle(value, where, null, item.invalidUtf8);
    };
    for await (const item of scanLines(file, { maxLineBytes: max })) {
      seen++;
      if (last) await handleLine(last, false);
      last = item;
    }
    if (last) await handleLine(last, true);
    if (seen === 0) {
      // A file of a trajectory's type that holds nothing is accounted for, not silently passed over.
      this.countIn();
      await this.ctx.reject({ reason: 'empty-file', message: `${file} holds no record (it is empty or blank).`, file, record: null });
    }
  }

  private async readParquet(file: string): Promise<void> {
    let seen = 0;
    try {
      for await (const { row, index } of parquetRows(file)) {
        this.countIn();
        seen++;
        await this.handle(row, atRow(file, index), null, 0);
      }
    } catch (err) {
      this.countIn();
      const what = seen ? `after ${seen} row(s)` : '(is it a Parquet file?)';
      await this.ctx.reject({
        reason: 'bad-parquet',
        message: `${file} cannot be read as Parquet ${what}: ${(err as Error).message}.`,
        file,
        record: seen,
      });
    }
  }

  private async handle(raw: unknown, where: Where, fallbackTaskId: string | null, invalidUtf8: number): Promise<void> {
    const { file, record, label } = where;
    const norm = normalizeParsed(raw, this.cfg.max_depth);
    if (!norm.ok) {
      this.notes.repaired(where, invalidUtf8, 0);
      await this.ctx.reject({
        reason: 'too-deep',
        message: `${label} is nested more than ${norm.maxDepth} levels deep (ingest.max_depth); no trajectory nests like that, and later stages would overflow the stack.`,
        file,
        record,
      });
      return;
    }
    const value = norm.value;
    this.notes.repaired(where, invalidUtf8, norm.loneSurrogates);
    const repaired = invalidUtf8 + norm.loneSurrogates ? { invalid_utf8: invalidUtf8, lone_surrogates: norm.loneSurrogates } : null;
    // Adapters name a record "Record N of FILE"; say it as a line, a row or the file.
    const say = (m: string): string => m.split(`Record ${record} of ${file}`).join(label);
    const actx = this.adapterContext(file, record);
    const detected = detectFormat(value, actx, this.cfg.format);
    if (detected.kind === 'canonical') {
      const parsed = Trajectory.safeParse(value);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        await this.ctx.reject({ reason: 'unknown-shape', message: `${label} is not a canonical trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record });
        return;
      }
      if (this.foreign(parsed.data.task_id)) return;
      const clean = await this.redaction.apply(parsed.data);
      if (!clean) return;
      this.countEmitted(clean, clean.outcome.resolved === null ? 'none' : 'record');
      await this.ctx.emit(clean);
      return;
    }
    if (detected.kind === 'unknown') {
      const keys = isObject(value) ? Object.keys(value).slice(0, 8).join(', ') : Array.isArray(value) ? `a list of ${value.length}` : typeof value;
      const what = this.cfg.format === 'auto' ? 'is not in any known trajectory format' : `is not a ${this.cfg.format} record (ingest.format)`;
      await this.ctx.reject({ reason: 'unknown-shape', message: `${label} ${what} (top level: ${keys || 'empty'}).`, file, record });
      return;
    }
    try {
      const draft = detected.adapter.convert(value, actx);
      const runModel = draft.teacher_model ? null : await this.runMeta.modelFor(file);
      const joined = assemble({
        draft,
        file,
        record,
        fallbackTaskId,
        lookup: (id) => this.labels.lookup(id, file),
        patch: (id) => this.labels.patch(id, file),
        runModel,
      });
      if (this.foreign(joined.trajectory.task_id)) return;
      if (repaired) joined.trajectory.meta.text_repairs = repaired;
      const checked = Trajectory.safeParse(joined.trajectory);
      if (!checked.success) {
        const i = checked.error.issues[0];
        await this.ctx.reject({ reason: 'invalid-record', message: `${label} (${draft.format}) gives an invalid trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record, task_id: joined.trajectory.task_id });
        return;
      }
      const clean = await this.redaction.apply(checked.data);
      if (!clean) return;
      if (joined.conflict) this.labelConflicts++;
      if (joined.trajectory.meta.patch_source) this.patchesJoined++;
      this.countEmitted(clean, joined.origin);
      await this.ctx.emit(clean);
    } catch (err) {
      if (err instanceof FormatError) {
        const forced = this.cfg.format !== 'auto' && err.reason === 'unknown-shape' ? ` (ingest.format is "${this.cfg.format}", so no other reader was tried)` : '';
        await this.ctx.reject({ reason: err.reason, message: say(err.message).replace(/\.$/, `${forced}.`), file, record });
        return;
      }
      // A shape no adapter anticipated must not stop the build: the record is rejected with the cause.
      await this.ctx.reject({ reason: 'unreadable-record', message: `${label} could not be read as ${detected.adapter.name}: ${(err as Error).message}.`, file, record });
    }
  }

  private countEmitted(t: Trajectory, origin: LabelOrigin): void {
    this.ctx.count('per_harness', t.source.harness);
    this.ctx.count('per_format', t.source.format);
    this.ctx.count('per_outcome', t.outcome.resolved === true ? 'resolved' : t.outcome.resolved === false ? 'failed' : 'unlabelled');
    this.ctx.count('per_label_origin', origin);
    const byHarness = (this.outcomeByHarness[t.source.harness] ??= { resolved: 0, failed: 0, unlabelled: 0 });
    byHarness[t.outcome.resolved === true ? 'resolved' : t.outcome.resolved === false ? 'failed' : 'unlabelled']++;
  }
}
