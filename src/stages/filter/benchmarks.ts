import { readLines } from '../../io/jsonl.js';
import { UserError } from '../../core/errors.js';

/** What the held-out benchmark files say: instance ids, and statements when the files carry them. */
export interface Benchmarks {
  ids: Set<string>;
  statements: { id: string; text: string }[];
  files: string[];
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

/** Reads id files: one id a line (# comments allowed), or JSON lines with instance_id and problem_statement. */
export async function loadBenchmarks(files: readonly string[]): Promise<Benchmarks> {
  const bench: Benchmarks = { ids: new Set(), statements: [], files: [...files] };
  for (const file of files) {
    try {
      for await (const line of readLines(file)) {
        const text = line.text.trim();
        if (text.startsWith('#')) continue;
        if (!text.startsWith('{')) {
          bench.ids.add(text.toLowerCase());
          continue;
        }
        let row: Record<string, unknown>;
        try {
          row = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new UserError(`filter.decontaminate.ids: line ${line.index + 1} of ${file} is neither an id nor valid JSON (${(err as Error).message}).`);
        }
        const id = row.instance_id ?? row.id ?? row.task_id;
        if (typeof id !== 'string' || id === '') {
          throw new UserError(`filter.decontaminate.ids: line ${line.index + 1} of ${file} has no instance_id.`);
        }
        bench.ids.add(id.toLowerCase());
        const statement = row.problem_statement ?? row.statement;
        if (typeof statement === 'string' && statement.trim()) bench.statements.push({ id, text: statement });
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`filter.decontaminate.ids: cannot read ${file} (${(err as Error).message}).`);
    }
  }
  return bench;
}
