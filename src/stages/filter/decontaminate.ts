import type { DecontaminateConfig } from '../../../schemas/config/filter.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { idCandidates, repoOf, type Benchmarks } from './benchmarks.js';
import { sha256 } from '../../core/hash.js';
import { ngrams } from './text.js';
import type { FilterRule, Verdict } from './rule.js';

/** Finds the benchmark statement a task statement overlaps most, by shared word n-grams. */
export class StatementIndex {
  private readonly postings = new Map<string, number[]>();
  private readonly sizes: number[] = [];
  private readonly ids: string[] = [];

  constructor(
    statements: readonly { id: string; text: string }[],
    private readonly n: number,
  ) {
    for (const s of statements) {
      const grams = ngrams(s.text, n);
      if (grams.size === 0) continue;
      const idx = this.ids.length;
      this.ids.push(s.id);
      this.sizes.push(grams.size);
      for (const g of grams) {
        const list = this.postings.get(g);
        if (list) list.push(idx);
        else this.postings.set(g, [idx]);
      }
    }
  }

  get size(): number {
    return this.ids.length;
  }

  /** The best match: overlap = shared n-grams / n-grams of the shorter of the two statements. */
  best(text: string): { id: string; overlap: number; shared: number } | null {
    if (this.ids.length === 0) return null;
    const grams = ngrams(text, this.n);
    if (grams.size === 0) return null;
    const shared = new Map<number, number>();
    for (const g of grams) for (const idx of this.postings.get(g) ?? []) shared.set(idx, (shared.get(idx) ?? 0) + 1);
    let best: { id: string; overlap: number; shared: number } | null = null;
    for (const [idx, count] of shared) {
      const overlap = count / Math.min(grams.size, this.sizes[idx]!);
      // Ties go to the benchmark listed first, so the reported match is stable.
      if (!best || overlap > best.overlap || (overlap === best.overlap && count > best.shared)) best = { id: this.ids[idx]!, overlap, shared: count };
    }
    return best;
  }
}

export function decontaminateRule(cfg: DecontaminateConfig, bench: Benchmarks): FilterRule {
  const repos = new Set(cfg.repos.map((r) => r.toLowerCase().replace('__', '/')));
  if (cfg.repos_from_ids) for (const id of bench.ids.keys()) {
    const repo = repoOf(id);
    if (repo) repos.add(repo);
  }
  const index = new StatementIndex(bench.statements, cfg.ngram.size);
  // Runs of one task share a statement: decide each statement once.
  const byStatement = new Map<string, Verdict | null>();

  const statementVerdict = (record: PipelineRecord): Verdict | null => {
    if (index.size === 0) return null;
    // Keyed by a hash so that memory grows with the number of tasks, not with statement bytes.
    const key = sha256(`${record.task_id}\u0000${record.task}`).slice(0, 32);
    let v = byStatement.get(key);
    if (v !== undefined) return v;
    v = null;
    const m = index.best(record.task);
    if (m && m.overlap >= cfg.ngram.threshold && m.shared >= cfg.ngram.min_shared) {
      v = {
        reason: 'decontaminated-statement',
        message: `its task statement shares ${m.shared} ${cfg.ngram.size}-grams (${(m.overlap * 100).toFixed(0)}% overlap) with benchmark instance ${m.id}`,
        details: { benchmark_id: m.id, overlap: Number(m.overlap.toFixed(4)), shared_ngrams: m.shared },
      };
    }
    byStatement.set(key, v);
    return v;
  };

  return {
    name: 'decontaminate',
    applyTo: cfg.apply_to,
    check(record) {
      for (const id of idCandidates(record.task_id)) {
        const lists = bench.ids.get(id);
        if (lists) {
          return {
            reason: 'decontaminated-id',
            message: `task ${record.task_id} is held-out benchmark instance ${id} (${lists.join(', ')})`,
            details: { benchmark_id: id, benchmarks: lists },
          };
        }
      }
      const metaRepo = typeof record.meta.repo === 'string' ? record.meta.repo.toLowerCase() : null;
      const repo = metaRepo ?? repoOf(record.task_id);
      if (repo && repos.has(repo)) {
        return { reason: 'decontaminated-repo', message: `task ${record.task_id} comes from held-out repository ${repo}`, details: { repo } };
      }
      return statementVerdict(record);
    },
  };
}
