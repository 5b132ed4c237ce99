import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DedupConfig, type PipelineRecord } from '../../schemas/index.js';
import { DedupPlanner, type Decision } from '../../src/stages/dedup/planner.js';
import { runCommand } from '../../src/cli/run.js';
import { normalizeStatement, statementWords } from '../../src/stages/dedup/normalize.js';
import { shingles } from '../../src/stages/dedup/minhash.js';

export { makeRecord } from '../filter/factory.js';

export const BASE =
  'The CSV exporter writes numeric columns with the locale decimal separator, so a file exported on a German system contains values like 3,14 that the importer later rejects as malformed. The exporter should always write a dot as the decimal separator regardless of the locale, and the importer should report the row and column of any value it cannot parse instead of failing the whole file.';

/** BASE with some words replaced: each replacement breaks the shingles that cover it. */
export function edit(text: string, replacements: [string, string][]): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`edit: "${from}" not in text`);
    out = out.replace(from, to);
  }
  return out;
}

/** Exact Jaccard similarity of two statements' word shingles: the ground truth MinHash estimates. */
export function trueJaccard(a: string, b: string, k = 5): number {
  const sa = new Set(shingles(statementWords(normalizeStatement(a)), k));
  const sb = new Set(shingles(statementWords(normalizeStatement(b)), k));
  let inter = 0;
  for (const s of sa) if (sb.has(s)) inter++;
  return inter / (sa.size + sb.size - inter);
}

/** Runs the planner over records as the stage does (observe all, finalize, decide each). */
export function plan(records: PipelineRecord[], dedup: Record<string, unknown> = {}): { planner: DedupPlanner; decisions: Decision[] } {
  const planner = new DedupPlanner(DedupConfig.parse(dedup));
  for (const r of records) planner.observe(r);
  planner.finalize();
  return { planner, decisions: records.map((r, i) => planner.decision(i, r)) };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `trajpipe-${prefix}-`));
}

/** Writes canonical JSON lines the ingest stage reads. */
export async function writeInput(dir: string, records: PipelineRecord[]): Promise<string> {
  const inDir = join(dir, 'in');
  await mkdir(inDir, { recursive: true });
  const file = join(inDir, 'runs.jsonl');
  await writeFile(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return inDir;
}

/** Runs the real pipeline as the CLI does (config, --set, runner), quietly. */
export async function runPipelineWith(input: string, out: string, sets: string[] = [], pipeline?: string) {
  return runCommand({ pipeline, input: [input], out, set: sets, force: false, dryRun: false, quiet: true });
}

export async function readJsonl<T = Record<string, unknown>>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}
