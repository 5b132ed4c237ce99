import { join, resolve } from 'node:path';
import { open, stat } from 'node:fs/promises';
import { ReportConfig, STAGE_ORDER } from '../../schemas/index.js';
import { hashValue } from '../core/hash.js';
import { readManifest } from '../runner/runner.js';
import { PACKAGE_VERSION } from '../runner/version.js';
import { UserError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { collectReport } from './collect.js';
import { renderReport } from './html.js';
import type { NightComparison } from '../nightly/compare.js';

export const REPORT_FILE = 'report.html';

/**
 * What the report is made from: the code, its name and config, and each stage folder as its fingerprint
 * (input, config, version) and output hash stand for it. No timings, stats or config outside the report's,
 * so the same folders give the same report, byte for byte, whatever else a run set (e.g. runner.workers).
 */
async function reportInputs(dir: string, name: string, cfg: ReportConfig): Promise<string> {
  const stages = await Promise.all(
    STAGE_ORDER.map(async (stage) => {
      const m = await readManifest(join(dir, stage));
      return m ? [m.fingerprint, m.output_fingerprint, m.records_in, m.records_out, m.dropped] : null;
    }),
  );
  return hashValue({ code: PACKAGE_VERSION, name, cfg, stages });
}

const marker = (key: string) => `\n<!-- trajpipe report inputs ${key} -->\n`;

async function endsWith(file: string, tail: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const { size } = await fh.stat();
    const want = Buffer.byteLength(tail);
    if (size < want) return false;
    const buf = Buffer.alloc(want);
    await fh.read(buf, 0, want, size - want);
    return buf.toString('utf8') === tail;
  } finally {
    await fh.close();
  }
}

/**
 * Writes <runDir>/report.html (atomically) and returns its path. With `unlessUnchanged` (a run in which every
 * stage was up to date), a report already made from the same stage folders, name and config is kept as it is.
 */
export async function writeReport(
  runDir: string,
  opts: { name?: string; config?: Partial<ReportConfig>; nightly?: NightComparison; unlessUnchanged?: boolean } = {},
): Promise<string> {
  const dir = resolve(runDir);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new UserError(`${runDir} is not a folder.`);
  const cfg = ReportConfig.parse(opts.config ?? {});
  const name = opts.name ?? dirNameOf(dir);
  const key = opts.nightly ? null : await reportInputs(dir, name, cfg);
  const target = join(dir, REPORT_FILE);
  if (key && opts.unlessUnchanged && (await endsWith(target, marker(key)))) return target;
  const data = await collectReport(dir, name, cfg);
  if (data.funnel.length === 0) throw new UserError(`${runDir} holds no stage manifest: is it a run folder (the --out of trajpipe run)?`);
  if (opts.nightly) data.nightly = opts.nightly;
  await writeFileAtomic(target, (await renderReport(data)) + (key ? marker(key) : ''));
  return target;
}

function dirNameOf(dir: string): string {
  return dir.split(/[\\/]/).filter(Boolean).pop() ?? 'run';
}
