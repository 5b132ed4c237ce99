import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { UserError } from '../core/errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { runCommand } from '../cli/run.js';
import { writeReport } from '../report/write.js';
import { validateExport } from '../validate/export.js';
import { DEFAULT_ROW_CHECKS } from '../validate/checks.js';
import { compareNights, type NightComparison } from './compare.js';
import { readLatest, switchLatest } from './latest.js';

export interface NightlyArgs {
  pipeline: string;
  root?: string | undefined;
  date?: string | undefined;
  input?: string[] | undefined;
  set?: string[] | undefined;
  teacherBaseUrl?: string | undefined;
  teacherModel?: string | undefined;
  quiet: boolean;
}

export type NightlyResult =
  | { status: 'stopped'; night: string; reason: string }
  | { status: 'done'; night: string; dir: string; report: string; comparison: NightComparison };

const DATED = /^\d{4}-\d{2}-\d{2}$/;
/** What each completed, validated night leaves beside its stages: the comparison and the guards' verdict. */
export const NIGHT_FILE = 'nightly.json';

/** The newest earlier night that completed and validated (it has nightly.json). */
async function previousNight(root: string, night: string): Promise<string | null> {
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => DATED.test(n) && n < night).sort().reverse();
  for (const n of names) if (await readFile(join(root, n, NIGHT_FILE), 'utf8').then(() => true, () => false)) return n;
  return null;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * One night of a nightly build: runs the pipeline into <root>/<date>/, validates the export, compares it with
 * the previous completed night, writes the report with that comparison, and only then points <root>/latest at it.
 * The teacher cache lives outside the dated folders, so a run seen on an earlier night costs no request.
 */
export async function runNightly(args: NightlyArgs): Promise<NightlyResult> {
  const night = args.date ?? today();
  if (!DATED.test(night)) throw new UserError(`--date ${night} is not a date like 2026-12-02.`);
  const { config } = await loadConfig(args.pipeline, args.set ?? []);
  const root = resolve(args.root ?? config.nightly.root ?? config.out ?? `data/runs/${config.name}`);
  const dir = join(root, night);
  const sets = [...(args.set ?? [])];
  // A relative cache path is taken from the output folder, which for a nightly is the root of the nights
  // (not the dated folder): the default cache/teacher is <root>/cache/teacher, shared by every night.
  const cache = resolve(root, config.label.cache_dir);
  const rel = relative(dir, cache);
  if (!rel.startsWith('..') && !isAbsolute(rel)) throw new UserError(`label.cache_dir ${cache} lies inside the dated folder ${dir}; put it outside, so nights share it.`);
  sets.push(`label.cache_dir=${JSON.stringify(cache)}`);

  const run = await runCommand({
    pipeline: args.pipeline,
    input: args.input,
    out: dir,
    force: false,
    set: sets,
    teacherBaseUrl: args.teacherBaseUrl,
    teacherModel: args.teacherModel,
    dryRun: false,
    quiet: args.quiet,
  });
  const stopped = run.outcomes.find((o) => o.status === 'stopped');
  if (stopped && stopped.status === 'stopped') return { status: 'stopped', night, reason: `${stopped.stage}: ${stopped.reason}` };

  const validation = await validateExport(dir, DEFAULT_ROW_CHECKS);
  if (validation.errors.length) {
    throw new UserError(`night ${night} did not validate (${validation.errors.length} problem(s), first: ${validation.errors[0]}); latest still points to ${(await readLatest(root)) ?? 'nothing'}.`);
  }
  const previous = await previousNight(root, night);
  const comparison = await compareNights(dir, night, previous ? join(root, previous) : null, previous, config.nightly.guards);
  const report = await writeReport(dir, { name: `${config.name} ${night}`, config: config.report, nightly: comparison });
  await writeJsonAtomic(join(dir, NIGHT_FILE), comparison);
  await switchLatest(root, night);
  return { status: 'done', night, dir, report, comparison };
}
