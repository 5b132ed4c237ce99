import { basename, dirname, resolve, sep } from 'node:path';
import type { LabelFormat, ParsedOutcomeFile, Verdict } from './parse.js';

export { parseOutcomeFile, predictionLine, reportIdFromPath, type ParsedOutcomeFile, type Verdict, type LabelFormat } from './parse.js';

/** Folders evaluation tools put outcome files in, below the run folder they describe. */
const OUTCOME_DIRS = new Set(['results', 'logs', 'reports', 'eval', 'evaluation', 'eval_logs', 'run_evaluation']);

/** Most specific first when two files in the same folder speak about one run. */
const FORMAT_RANK: Record<LabelFormat, number> = { 'swebench-report': 0, 'swebench-results': 1, summary: 2 };

export interface LabelHit {
  verdict: Verdict;
  /** The outcome file, as given (display path). */
  file: string;
  format: LabelFormat;
  /** True for files named in the pipeline config, which apply to every run. */
  explicit: boolean;
  /** Another file disagrees about resolved. */
  conflict: boolean;
}

interface Entry {
  verdict: Verdict;
  file: string;
  format: LabelFormat;
  /** Absolute folder whose runs the file describes; null for config-named files (global). */
  scope: string | null;
  order: number;
}

/**
 * The run folder an outcome file describes: its own folder, minus results/ or logs/ levels and the
 * per-instance folder of logs/<iid>/report.json. Runs of two models in sibling folders never share labels.
 */
export function outcomeScope(file: string, idFromDir: boolean): string {
  let dir = dirname(resolve(file));
  if (idFromDir) dir = dirname(dir);
  while (OUTCOME_DIRS.has(basename(dir).toLowerCase()) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function within(scope: string, file: string): boolean {
  const abs = resolve(file);
  return abs.startsWith(scope.endsWith(sep) ? scope : scope + sep);
}

interface PatchEntry {
  patch: string;
  file: string;
  scope: string | null;
  order: number;
}

export interface LabelIndexData {
  labels: [string, Entry[]][];
  patches: [string, PatchEntry[]][];
  order: number;
}

/** Outcome and patch lookup by task id, scoped by folder; config-named files win over found ones. */
export class LabelIndex {
  private readonly labels = new Map<string, Entry[]>();
  private readonly patches = new Map<string, PatchEntry[]>();
  private order = 0;

  get size(): number {
    return this.labels.size + this.patches.size;
  }

  /** Plain data, so a worker thread can rebuild the same index (`LabelIndex.fromData`). */
  toData(): LabelIndexData {
    return { labels: [...this.labels], patches: [...this.patches], order: this.order };
  }

  static fromData(data: LabelIndexData): LabelIndex {
    const index = new LabelIndex();
    for (const [k, v] of data.labels) index.labels.set(k, v);
    for (const [k, v] of data.patches) index.patches.set(k, v);
    index.order = data.order;
    return index;
  }

  add(parsed: ParsedOutcomeFile, file: string, explicit: boolean): number {
    const order = this.order++;
    if (parsed.kind === 'patches') {
      const scope = explicit ? null : outcomeScope(file, false);
      for (const [id, patch] of parsed.patches) push(this.patches, id, { patch, file, scope, order });
      return parsed.patches.size;
    }
    const scope = explicit ? null : outcomeScope(file, parsed.id_from_dir);
    for (const [id, verdict] of parsed.verdicts) push(this.labels, id, { verdict, file, format: parsed.format, scope, order });
    return parsed.verdicts.size;
  }

  /** The verdict for a run read from `trajectoryFile`, or null when no applicable file mentions it. */
  lookup(taskId: string, trajectoryFile: string): LabelHit | null {
    const candidates = (this.labels.get(taskId) ?? []).filter((e) => e.scope === null || within(e.scope, trajectoryFile));
    if (candidates.length === 0) return null;
    candidates.sort(
      (a, b) =>
        Number(a.scope !== null) - Number(b.scope !== null) ||
        (b.scope?.length ?? 0) - (a.scope?.length ?? 0) ||
        FORMAT_RANK[a.format] - FORMAT_RANK[b.format] ||
        a.order - b.order,
    );
    const best = candidates[0]!;
    const conflict = candidates.some((c) => c.verdict.resolved !== null && best.verdict.resolved !== null && c.verdict.resolved !== best.verdict.resolved);
    return { verdict: best.verdict, file: best.file, format: best.format, explicit: best.scope === null, conflict };
  }

  patch(taskId: string, trajectoryFile: string): { patch: string; file: string } | null {
    const c = (this.patches.get(taskId) ?? []).filter((e) => e.scope === null || within(e.scope, trajectoryFile));
    c.sort((a, b) => Number(a.scope !== null) - Number(b.scope !== null) || (b.scope?.length ?? 0) - (a.scope?.length ?? 0) || a.order - b.order);
    return c[0] ? { patch: c[0].patch, file: c[0].file } : null;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
