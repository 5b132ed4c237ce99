import { join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { ReportConfig } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { collectReport } from './collect.js';
import { renderReport } from './html.js';
import type { NightComparison } from '../nightly/compare.js';

export const REPORT_FILE = 'report.html';

/** Writes <runDir>/report.html (atomically) and returns its path. */
export async function writeReport(runDir: string, opts: { name?: string; config?: Partial<ReportConfig>; nightly?: NightComparison } = {}): Promise<string> {
  const dir = resolve(runDir);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new UserError(`${runDir} is not a folder.`);
  const cfg = ReportConfig.parse(opts.config ?? {});
  const data = await collectReport(dir, opts.name ?? dirNameOf(dir), cfg);
  if (data.funnel.length === 0) throw new UserError(`${runDir} holds no stage manifest: is it a run folder (the --out of trajpipe run)?`);
  if (opts.nightly) data.nightly = opts.nightly;
  const target = join(dir, REPORT_FILE);
  await writeFileAtomic(target, await renderReport(data));
  return target;
}

function dirNameOf(dir: string): string {
  return dir.split(/[\\/]/).filter(Boolean).pop() ?? 'run';
}
