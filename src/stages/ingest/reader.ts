import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Trajectory, type IngestConfig } from '../../../schemas/index.js';
import { UserError } from '../../core/errors.js';
import { detectFormat, looksCanonical } from '../../formats/detect.js';
import { LabelIndex, parseOutcomeFile, predictionLine, type ParsedOutcomeFile } from '../../formats/labels/index.js';
import { FormatError, isObject, type AdapterContext } from '../../formats/types.js';
import { displayPath } from '../../io/inputs.js';
import { readLines } from '../../io/jsonl.js';
import type { StageContext } from '../../runner/stage.js';
import { assemble, type LabelOrigin } from './assemble.js';
import { RunMetadata, ancestors, fileKind, looksLikeRunAttempt, outcomeCandidates, readJsonFile, taskIdFromFileName } from './files.js';
import { parquetRows } from './parquet.js';
import { wellFormedDeep } from '../../core/text.js';
import { Redactor } from '../../redact/record.js';

type Plan = { file: string; kind: 'json' | 'jsonl' | 'parquet' } | { file: string; kind: 'consumed' } | { file: string; kind: 'skip'; reason: string };

/** Outcome files found beside the runs are read whole; anything bigger than this is not one. */
const MAX_BESIDE_BYTES = 64 * 1024 * 1024;
const MAX_LISTED_SKIPS = 500;

/** One ingest run: classify the inputs, load outcome files, then read every run and emit it. */
export class IngestReader {
  private readonly cfg: IngestConfig;
  private readonly labels = new LabelIndex();
  private readonly runMeta = new RunMetadata();
  private readonly plan: Plan[] = [];
  private readonly labelFiles: { file: string; kind: string; entries: number; origin: 'config' | 'input' | 'beside' }[] = [];
  private readonly skipped: { file: string; reason: string }[] = [];
  private labelConflicts = 0;
  private patchesJoined = 0;
  private readonly outcomeByHarness: Record<string, { resolved: number; failed: number; unlabelled: number }> = {};
  private readonly redactor: Redactor | null;
  private runsRedacted = 0;

  constructor(private readonly ctx: StageContext) {
    this.cfg = ctx.config.ingest;
    const r = this.cfg.redact;
    this.redactor = r.enabled ? new Redactor({ emails: r.emails, allow: r.allow }) : null;
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
    if (this.redactor) this.ctx.setStat('runs_redacted', this.runsRedacted);
    this.ctx.setStat('skipped_files', this.skipped.slice(0, MAX_LISTED_SKIPS));
    if (this.skipped.length > MAX_LISTED_SKIPS) this.ctx.setStat('skipped_files_not_listed', this.skipped.length - MAX_LISTED_SKIPS);
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
    for await (const line of readLines(file)) {
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

  private skip(file: string, reason: string): void {
    this.skipped.push({ file: displayPath(file), reason });
    this.ctx.count('skipped_by_reason', reason);
  }

  private async classifyInputs(): Promise<void> {
    for (const file of this.ctx.inputFiles) {
      const { kind, reason } = fileKind(file);
      if (kind === 'skip') {
        this.skip(file, reason!);
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
    const parsed = parseOutcomeFile(r.value, file);
    if (parsed) {
      this.addOutcomeFile(parsed, file, 'input');
      return { file, kind: 'consumed' };
    }
    const ctx = this.adapterContext(file, 0);
    if (looksCanonical(r.value) || detectFormat(r.value, ctx, 'auto').kind !== 'unknown' || looksLikeRunAttempt(r.value) || this.cfg.format !== 'auto') {
      return { file, kind: 'json' };
    }
    this.skip(file, 'not-a-trajectory');
    return { file, kind: 'skip', reason: 'not-a-trajectory' };
  }

  private async findLabelsBeside(): Promise<void> {
    const inputs = new Set(this.ctx.inputFiles.map((f) => resolve(f)));
    const dirs = new Set<string>();
    for (const p of this.plan) if (p.kind === 'json' || p.kind === 'jsonl' || p.kind === 'parquet') for (const d of ancestors(dirname(p.file), 2)) dirs.add(d);
    const seen = new Set<string>();
    for (const dir of [...dirs].sort()) {
      for (const cand of await outcomeCandidates(dir)) {
        const abs = resolve(cand);
        if (inputs.has(abs) || seen.has(abs)) continue;
        seen.add(abs);
        const r = await readJsonFile(abs, MAX_BESIDE_BYTES).catch(() => null);
        const parsed = r?.ok ? parseOutcomeFile(r.value, abs) : null;
        if (parsed) this.addOutcomeFile(parsed, abs, 'beside');
      }
    }
  }

  // ---- runs ----

  private adapterContext(file: string, record: number): AdapterContext {
    return { file, record, dataset: this.cfg.dataset };
  }

  private async readJsonRun(file: string): Promise<void> {
    this.ctx.countIn();
    const r = await readJsonFile(file, this.cfg.max_json_bytes);
    if (!r.ok) {
      await this.ctx.reject({ reason: r.reason, message: `${file} cannot be read: ${r.message}.`, file, record: 0 });
      return;
    }
    await this.handle(r.value, file, 0, taskIdFromFileName(file));
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
    let last: { index: number; text: string } | null = null;
    // One line behind, so the last line is known to be the last when it fails to parse.
    const handleLine = async (line: { index: number; text: string }, isLast: boolean): Promise<void> => {
      this.ctx.countIn();
      let value: unknown;
      try {
        value = JSON.parse(line.text);
      } catch (err) {
        const msg = (err as Error).message;
        const truncated = isLast && !complete && /Unexpected end of JSON input|Unterminated string/.test(msg);
        await this.ctx.reject({
          reason: truncated ? 'truncated-file' : 'bad-json',
          message: truncated
            ? `Record ${line.index} of ${file} stops before it is complete: the file ends mid-record (${msg}).`
            : `Record ${line.index} of ${file} is not valid JSON: ${msg}.`,
          file,
          record: line.index,
        });
        return;
      }
      await this.handle(value, file, line.index, null);
    };
    for await (const line of readLines(file)) {
      if (last) await handleLine(last, false);
      last = line;
    }
    if (last) await handleLine(last, true);
  }

  private async readParquet(file: string): Promise<void> {
    let seen = 0;
    try {
      for await (const { row, index } of parquetRows(file)) {
        this.ctx.countIn();
        seen++;
        await this.handle(row, file, index, null);
      }
    } catch (err) {
      this.ctx.countIn();
      await this.ctx.reject({
        reason: 'bad-parquet',
        message: `${file} cannot be read as Parquet after ${seen} row(s): ${(err as Error).message}.`,
        file,
        record: seen,
      });
    }
  }

  private async handle(raw: unknown, file: string, record: number, fallbackTaskId: string | null): Promise<void> {
    const value = wellFormedDeep(raw);
    const actx = this.adapterContext(file, record);
    const detected = detectFormat(value, actx, this.cfg.format);
    if (detected.kind === 'canonical') {
      const parsed = Trajectory.safeParse(value);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        await this.ctx.reject({ reason: 'unknown-shape', message: `Record ${record} of ${file} is not a canonical trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record });
        return;
      }
      const clean = await this.redacted(parsed.data);
      if (!clean) return;
      this.countEmitted(clean, clean.outcome.resolved === null ? 'none' : 'record');
      await this.ctx.emit(clean);
      return;
    }
    if (detected.kind === 'unknown') {
      const keys = isObject(value) ? Object.keys(value).slice(0, 8).join(', ') : Array.isArray(value) ? `a list of ${value.length}` : typeof value;
      const what = this.cfg.format === 'auto' ? 'is not in any known trajectory format' : `is not a ${this.cfg.format} record (ingest.format)`;
      await this.ctx.reject({ reason: 'unknown-shape', message: `Record ${record} of ${file} ${what} (top level: ${keys || 'empty'}).`, file, record });
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
      const checked = Trajectory.safeParse(joined.trajectory);
      if (!checked.success) {
        const i = checked.error.issues[0];
        await this.ctx.reject({ reason: 'invalid-record', message: `Record ${record} of ${file} (${draft.format}) gives an invalid trajectory: ${i?.path.join('.')}: ${i?.message}.`, file, record, task_id: joined.trajectory.task_id });
        return;
      }
      const clean = await this.redacted(checked.data);
      if (!clean) return;
      if (joined.conflict) this.labelConflicts++;
      if (joined.trajectory.meta.patch_source) this.patchesJoined++;
      this.countEmitted(clean, joined.origin);
      await this.ctx.emit(clean);
    } catch (err) {
      if (err instanceof FormatError) {
        const forced = this.cfg.format !== 'auto' && err.reason === 'unknown-shape' ? ` (ingest.format is "${this.cfg.format}", so no other reader was tried)` : '';
        await this.ctx.reject({ reason: err.reason, message: err.message.replace(/\.$/, `${forced}.`), file, record });
        return;
      }
      // A shape no adapter anticipated must not stop the build: the record is rejected with the cause.
      await this.ctx.reject({ reason: 'unreadable-record', message: `Record ${record} of ${file} could not be read as ${detected.adapter.name}: ${(err as Error).message}.`, file, record });
    }
  }

  /**
   * The run with its secrets replaced (counted per type), or null when redact.mode is reject and it
   * holds one (then rejected, naming the types and never the values).
   */
  private async redacted(t: Trajectory): Promise<Trajectory | null> {
    if (!this.redactor) return t;
    const { value, counts } = await this.redactor.redactTrajectory(t);
    const types = Object.keys(counts);
    if (types.length === 0) return t;
    if (this.cfg.redact.mode === 'reject') {
      const n = Object.values(counts).reduce((a, b) => a + b, 0);
      await this.ctx.reject({
        reason: 'contains-secret',
        message: `Record ${t.source.record} of ${t.source.file} holds ${n} secret(s) (${types.join(', ')}); ingest.redact.mode is reject, so the run is dropped.`,
        file: t.source.file,
        record: t.source.record,
        task_id: t.task_id,
        details: { secrets: counts },
      });
      for (const [k, v] of Object.entries(counts)) this.ctx.count('secrets_found', k, v);
      return null;
    }
    this.runsRedacted++;
    for (const [k, v] of Object.entries(counts)) this.ctx.count('redactions', k, v);
    return value;
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
