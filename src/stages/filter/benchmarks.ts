import { join } from 'node:path';
import type { BundledBenchmark, DecontaminateConfig } from '../../../schemas/config/filter.js';
import { readLines } from '../../io/jsonl.js';
import { UserError } from '../../core/errors.js';
import { projectPath } from '../../core/paths.js';

/** One held-out list: a bundled benchmark (named) or a file from filter.decontaminate.ids (its path). */
export interface BenchmarkSource {
  name: string;
  file: string;
}

/** What the held-out lists say: instance ids (each with the lists naming it), and statements when the files carry them. */
export interface Benchmarks {
  ids: Map<string, string[]>;
  statements: { id: string; text: string }[];
  /** Ids read per list, in the order the lists were read. */
  counts: Record<string, number>;
}

const BUNDLED_DIR = projectPath('data', 'benchmarks');

/** The shipped id list of a benchmark (data/benchmarks/<name>.ids; where each came from is in that folder's README). */
export function bundledBenchmarkFile(name: BundledBenchmark): string {
  return join(BUNDLED_DIR, `${name}.ids`);
}

/** The lists decontamination checks: the bundled benchmarks first, then the user's own files. */
export function benchmarkSources(cfg: DecontaminateConfig): BenchmarkSource[] {
  return [...cfg.benchmarks.map((name) => ({ name, file: bundledBenchmarkFile(name) })), ...cfg.ids.map((file) => ({ name: file, file }))];
}

/** Says why no run is checked against a held-out benchmark, or null when at least one list is in use. */
export function decontaminationWarning(filter: { enabled: boolean; decontaminate: DecontaminateConfig }): string | null {
  const d = filter.decontaminate;
  const why = !filter.enabled
    ? 'filter.enabled is false'
    : !d.enabled
      ? 'filter.decontaminate.enabled is false'
      : d.benchmarks.length === 0 && d.ids.length === 0 && d.repos.length === 0
        ? 'filter.decontaminate has no list (benchmarks, ids and repos are all empty)'
        : null;
  return why
    ? `${why}: no run is checked against a held-out benchmark, so benchmark tasks (SWE-bench Verified, ...) may be exported for training. ` +
        `The bundled lists are named in filter.decontaminate.benchmarks (docs/filter-dedup.md).`
    : null;
}

/** SWE-bench-style ids are `owner__repo-NNN`; the repository is `owner/repo`. */
const SWE_ID = /^([A-Za-z0-9][\w.-]*?)__([\w.-]+?)-(\d+)(?=$|_)/;

export function repoOf(id: string): string | null {
  const m = SWE_ID.exec(id);
  return m ? `${m[1]}/${m[2]}`.toLowerCase() : null;
}

/**
 * The ids a task may be known by in a benchmark list: itself, without a sampler-added `_<n>`
 * suffix (nebius rows), and the leading SWE-bench id of a longer name (OpenHands file names).
 */
export function idCandidates(taskId: string): string[] {
  const out = new Set([taskId.toLowerCase()]);
  const unsuffixed = taskId.replace(/_\d+$/, '');
  out.add(unsuffixed.toLowerCase());
  const m = SWE_ID.exec(taskId);
  if (m) out.add(`${m[1]}__${m[2]}-${m[3]}`.toLowerCase());
  return [...out];
}

/** Reads id lists: one id a line (# comments allowed), or JSON lines with instance_id and problem_statement. */
export async function loadBenchmarks(sources: readonly BenchmarkSource[]): Promise<Benchmarks> {
  const bench: Benchmarks = { ids: new Map(), statements: [], counts: {} };
  const add = (id: string, source: string) => {
    const key = id.toLowerCase();
    const names = bench.ids.get(key);
    if (!names) bench.ids.set(key, [source]);
    else if (!names.includes(source)) names.push(source);
    else return;
    bench.counts[source] = (bench.counts[source] ?? 0) + 1;
  };
  for (const { name, file } of sources) {
    bench.counts[name] ??= 0;
    const key = name === file ? 'filter.decontaminate.ids' : `filter.decontaminate.benchmarks (${name})`;
    try {
      for await (const line of readLines(file)) {
        const text = line.text.trim();
        if (text.startsWith('#')) continue;
        if (!text.startsWith('{')) {
          add(text, name);
          continue;
        }
        let row: Record<string, unknown>;
        try {
          row = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new UserError(`${key}: line ${line.index + 1} of ${file} is neither an id nor valid JSON (${(err as Error).message}).`);
        }
        const id = row.instance_id ?? row.id ?? row.task_id;
        if (typeof id !== 'string' || id === '') {
          throw new UserError(`${key}: line ${line.index + 1} of ${file} has no instance_id.`);
        }
        add(id, name);
        const statement = row.problem_statement ?? row.statement;
        if (typeof statement === 'string' && statement.trim()) bench.statements.push({ id, text: statement });
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`${key}: cannot read ${file} (${(err as Error).message}).`);
    }
  }
  return bench;
}
