import type { PoolConfig } from '../../../schemas/index.js';
import type { PipelineRecord } from '../../../schemas/index.js';

// Per-task aggregation of every ingested attempt: what an RL rollout sampler needs to pick tasks.

export type Band = 'never-solved' | 'intermediate' | 'always-solved' | 'unknown';
export const BANDS: readonly Band[] = ['never-solved', 'intermediate', 'always-solved', 'unknown'];

export interface TaskRow {
  task_id: string;
  attempts: number;
  resolved_attempts: number;
  failed_attempts: number;
  /** Attempts with no outcome label: they never count towards the pass rate. */
  unknown_attempts: number;
  /** resolved / (resolved + failed); null without enough known attempts. */
  pass_rate: number | null;
  band: Band;
  in_pool: boolean;
  harnesses: string[];
  teacher_models: string[];
  statement: string;
  /** Rollout fields: from the run's meta when the harness records them, else from a SWE-bench-style id. */
  instance_id: string | null;
  repo: string | null;
  base_commit: string | null;
  environment_image: string | null;
}

interface Acc {
  attempts: number;
  resolved: number;
  failed: number;
  unknown: number;
  harnesses: Set<string>;
  models: Set<string>;
  statement: string;
  repo: string | null;
  commit: string | null;
  image: string | null;
}

/** SWE-bench ids are `owner__repo-NNN`, SWE-smith ids `owner__repo.<commit>.<mutation>`. */
const SWE_BENCH_ID = /^([A-Za-z0-9][\w.-]*?)__([\w.-]+?)-(\d+)(?=$|_)/;
const SWE_SMITH_ID = /^([A-Za-z0-9][\w-]*)__([\w-]+)\.([0-9a-f]{7,40})\./;

export function idFields(taskId: string): { instance_id: string | null; repo: string | null; base_commit: string | null } {
  const smith = SWE_SMITH_ID.exec(taskId);
  if (smith) return { instance_id: taskId, repo: `${smith[1]}/${smith[2]}`, base_commit: smith[3]! };
  const bench = SWE_BENCH_ID.exec(taskId);
  if (bench) return { instance_id: `${bench[1]}__${bench[2]}-${bench[3]}`, repo: `${bench[1]}/${bench[2]}`, base_commit: null };
  return { instance_id: null, repo: null, base_commit: null };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
/** A meta key at the top level or under `extra` (where chat-dataset adapters keep unmapped columns). */
function metaField(meta: Record<string, unknown>, keys: readonly string[]): string | null {
  const extra = meta.extra && typeof meta.extra === 'object' ? (meta.extra as Record<string, unknown>) : {};
  for (const k of keys) {
    const v = str(meta[k]) ?? str(extra[k]);
    if (v) return v;
  }
  return null;
}

export class TaskTable {
  private readonly tasks = new Map<string, Acc>();

  add(record: Pick<PipelineRecord, 'task_id' | 'task' | 'source' | 'outcome' | 'meta'>): void {
    let a = this.tasks.get(record.task_id);
    if (!a) {
      a = { attempts: 0, resolved: 0, failed: 0, unknown: 0, harnesses: new Set(), models: new Set(), statement: '', repo: null, commit: null, image: null };
      this.tasks.set(record.task_id, a);
    }
    a.attempts++;
    if (record.outcome.resolved === true) a.resolved++;
    else if (record.outcome.resolved === false) a.failed++;
    else a.unknown++;
    a.harnesses.add(record.source.harness);
    if (record.source.teacher_model) a.models.add(record.source.teacher_model);
    // The first attempt in input order that has a value wins, so the table is deterministic.
    if (!a.statement && record.task.trim()) a.statement = record.task;
    a.repo ??= metaField(record.meta, ['repo', 'repository', 'repo_name']);
    a.commit ??= metaField(record.meta, ['base_commit', 'commit', 'environment_setup_commit']);
    a.image ??= metaField(record.meta, ['environment_image', 'image', 'docker_image', 'image_name']);
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Every task, sorted by id. */
  rows(cfg: PoolConfig): TaskRow[] {
    return [...this.tasks.entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([task_id, a]) => {
        const known = a.resolved + a.failed;
        const pass_rate = known >= cfg.min_known_attempts ? a.resolved / known : null;
        const ids = idFields(task_id);
        return {
          task_id,
          attempts: a.attempts,
          resolved_attempts: a.resolved,
          failed_attempts: a.failed,
          unknown_attempts: a.unknown,
          pass_rate,
          band: bandOf(pass_rate),
          in_pool: inBand(pass_rate, cfg.band),
          harnesses: [...a.harnesses].sort(),
          teacher_models: [...a.models].sort(),
          statement: a.statement,
          instance_id: ids.instance_id,
          repo: a.repo ?? ids.repo,
          base_commit: a.commit ?? ids.base_commit,
          environment_image: a.image,
        };
      });
  }
}

export function bandOf(rate: number | null): Band {
  if (rate === null) return 'unknown';
  return rate === 0 ? 'never-solved' : rate === 1 ? 'always-solved' : 'intermediate';
}

export function inBand(rate: number | null, b: PoolConfig['band']): boolean {
  if (rate === null) return false;
  const aboveMin = b.include_min ? rate >= b.min : rate > b.min;
  const belowMax = b.include_max ? rate <= b.max : rate < b.max;
  return aboveMin && belowMax;
}
