import { dirname, resolve } from 'node:path';
import { parseOutcomeFile, type ParsedOutcomeFile } from '../../formats/labels/index.js';
import { ancestors, fileKind, outcomeCandidates, readJsonFile } from './files.js';

/** Outcome files found beside the runs are read whole; anything bigger than this is not one. */
const MAX_BESIDE_BYTES = 64 * 1024 * 1024;

/**
 * The outcome files find_labels joins: JSON files in each run file's folder and two levels up (and their
 * results/, logs/, reports/), that are not inputs themselves and that parse as an outcome file. The
 * fingerprint (extraInputFiles) and the reader both call this, so only the files actually used are
 * fingerprinted: an unrelated .json in logs/ changes nothing.
 */
export async function besideOutcomeFiles(inputFiles: readonly string[]): Promise<{ file: string; parsed: ParsedOutcomeFile }[]> {
  const inputs = new Set(inputFiles.map((f) => resolve(f)));
  const dirs = new Set<string>();
  for (const f of inputFiles) {
    const { kind } = fileKind(f);
    if (kind === 'json' || kind === 'jsonl' || kind === 'parquet') for (const d of ancestors(dirname(f), 2)) dirs.add(d);
  }
  const seen = new Set<string>();
  const out: { file: string; parsed: ParsedOutcomeFile }[] = [];
  for (const dir of [...dirs].sort()) {
    for (const cand of await outcomeCandidates(dir)) {
      const abs = resolve(cand);
      if (inputs.has(abs) || seen.has(abs)) continue;
      seen.add(abs);
      const r = await readJsonFile(abs, MAX_BESIDE_BYTES).catch(() => null);
      const parsed = r?.ok ? parseOutcomeFile(r.value, abs) : null;
      if (parsed) out.push({ file: abs, parsed });
    }
  }
  return out;
}
