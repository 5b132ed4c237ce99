import { UserError } from '../../core/errors.js';
import { displayPath } from '../../io/inputs.js';
import type { StageContext } from '../../runner/stage.js';

/** At most this many files or records are listed in the manifest; the totals count them all. */
export const MAX_LISTED = 500;
/** Skipped files and repaired records named in the end-of-ingest warnings. */
const NAMED_IN_LOG = 5;

/**
 * Where a record came from, as rejects and messages say it: JSON lines by 1-based line number (blank
 * lines counted, as an editor shows them), Parquet by 0-based row index (as pandas, pyarrow and DuckDB
 * OFFSET count), single-run JSON files as the file (record 0).
 */
export interface Where {
  file: string;
  record: number;
  label: string;
}
export const inFile = (file: string): Where => ({ file, record: 0, label: file });
export const atLine = (file: string, line: number): Where => ({ file, record: line, label: `Line ${line} of ${file}` });
export const atRow = (file: string, row: number): Where => ({ file, record: row, label: `Row ${row} (0-based) of ${file}` });

interface TextRepair {
  file: string;
  record: number;
  /** The record as messages say it ("Line 3 of rows.jsonl"). */
  at: string;
  invalid_utf8: number;
  lone_surrogates: number;
}

const names = <T>(list: T[], show: (x: T) => string): string =>
  list.slice(0, NAMED_IN_LOG).map(show).join(', ') + (list.length > NAMED_IN_LOG ? `, and ${list.length - NAMED_IN_LOG} more` : '');

/**
 * What ingest says besides records and rejects: inputs that were not runs, text it had to repair, and
 * whether anything was read at all. Manifest stats, warnings at the end, and the error for an input of
 * no trajectory.
 */
export class IngestNotes {
  private readonly skipped: { file: string; reason: string }[] = [];
  private readonly runMetadata: string[] = [];
  private readonly repairs: TextRepair[] = [];
  private readonly repairTotals = { records: 0, invalid_utf8: 0, lone_surrogates: 0 };
  recordsRead = 0;

  constructor(private readonly ctx: StageContext) {}

  skip(file: string, reason: string): void {
    this.skipped.push({ file: displayPath(file), reason });
    this.ctx.count('skipped_by_reason', reason);
  }

  runMetadataFile(file: string): void {
    this.runMetadata.push(displayPath(file));
  }

  repaired(where: Where, invalidUtf8: number, loneSurrogates: number): void {
    if (invalidUtf8 + loneSurrogates === 0) return;
    const last = this.repairs[this.repairs.length - 1];
    if (last && last.file === displayPath(where.file) && last.record === where.record) {
      last.invalid_utf8 += invalidUtf8;
      last.lone_surrogates += loneSurrogates;
    } else {
      this.repairTotals.records++;
      if (this.repairs.length < MAX_LISTED) this.repairs.push({ file: displayPath(where.file), record: where.record, at: where.label, invalid_utf8: invalidUtf8, lone_surrogates: loneSurrogates });
    }
    this.repairTotals.invalid_utf8 += invalidUtf8;
    this.repairTotals.lone_surrogates += loneSurrogates;
  }

  /** Writes the stats; warns; throws UserError when not one record was read (outcome files alone count as none). */
  finish(labelFilesFromInputs: number): void {
    const { ctx } = this;
    ctx.setStat('skipped_files', this.skipped.slice(0, MAX_LISTED));
    ctx.setStat('skipped_files_total', this.skipped.length);
    if (this.skipped.length > MAX_LISTED) ctx.setStat('skipped_files_not_listed', this.skipped.length - MAX_LISTED);
    if (this.runMetadata.length) ctx.setStat('run_metadata_files', this.runMetadata.slice(0, MAX_LISTED));
    ctx.setStat('text_repairs', { ...this.repairTotals, listed: this.repairs.slice(0, MAX_LISTED) });

    const skipped = names(this.skipped, (s) => `${s.file} (${s.reason})`);
    if (this.recordsRead === 0) {
      const what = this.skipped.length ? ` ${this.skipped.length} of them are not trajectories: ${skipped}.` : '';
      const labels = labelFilesFromInputs ? ` ${labelFilesFromInputs} are outcome files (joined to runs, not runs themselves).` : '';
      throw new UserError(`No trajectory was read from the ${ctx.inputFiles.length} input file(s).${what}${labels} Point --input (or inputs:) at the run files (.traj, .json, .jsonl, .parquet).`);
    }
    if (this.skipped.length) ctx.log.warn(`ingest skipped ${this.skipped.length} input file(s) that are not trajectories: ${skipped} (listed in ingest/manifest.json stats.skipped_files).`);
    const t = this.repairTotals;
    if (t.records) {
      ctx.log.warn(
        `ingest repaired text in ${t.records} record(s): ${t.invalid_utf8} invalid UTF-8 sequence(s) and ${t.lone_surrogates} lone UTF-16 surrogate(s) replaced by U+FFFD (${names(this.repairs, (r) => r.at)}; counts in ingest/manifest.json stats.text_repairs and each record's meta.text_repairs).`,
      );
    }
  }
}
