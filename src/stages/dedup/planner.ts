import type { DedupConfig } from '../../../schemas/config/dedup.js';
import type { PipelineRecord } from '../../../schemas/index.js';
import { LshIndex } from './lsh.js';
import { similarity } from './minhash.js';
import { UnionFind } from './union-find.js';
import { selectDiverse } from './cap.js';
import { Signer, decodeU32, type RunSignature, type TaskSignature } from './signature.js';

export type DropReason = 'duplicate-task' | 'near-duplicate-task' | 'semantic-duplicate-task' | 'duplicate-trajectory' | 'per-task-cap';

/** What the first pass keeps of a task: no statement text, only hashes and a signature. */
interface TaskInfo {
  taskId: string;
  exactKey: string;
  sig: Uint32Array | null;
  runs: number;
  resolvedRuns: number;
  /** Set when the task is dropped in favour of another. */
  why: DropReason | null;
  keptAs: number;
  similarity: number | null;
}

/** What the first pass keeps of a run. */
interface RunInfo {
  id: string;
  task: number;
  resolved: boolean | null;
  actions: string;
  actionSig: Uint32Array | null;
  why: DropReason | null;
  /** Position of the kept run it duplicates (for run-level reasons). */
  keptRun: number;
  similarity: number | null;
}

export interface Decision {
  keep: boolean;
  reason: DropReason | null;
  /** The kept representative: a task id for task-level reasons, a run id for run-level ones. */
  representative: string | null;
  representativeTask: string | null;
  similarity: number | null;
  clusterId: string | null;
}

export interface ClusterLine {
  cluster_id: string;
  level: 'task' | 'trajectory' | 'per-task-cap';
  task_id: string;
  representative: string;
  members: Record<string, unknown>[];
}


/**
 * Finds duplicates from small per-record summaries, then answers, for each record position of a
 * second pass, whether to keep it and why not. Memory grows with tasks and runs, never with bytes.
 */
export class DedupPlanner {
  private readonly tasks: TaskInfo[] = [];
  private readonly taskIndex = new Map<string, number>();
  private readonly runs: RunInfo[] = [];
  private readonly exactIndex = new Map<string, number>();
  private readonly sets = new UnionFind();
  private readonly signer: Signer;
  private readonly lsh: LshIndex;
  private finalized = false;
  readonly clusters: ClusterLine[] = [];

  constructor(private readonly cfg: DedupConfig) {
    const m = cfg.minhash;
    this.signer = new Signer(cfg);
    this.lsh = new LshIndex(m.bands, m.rows, m.threshold, (t) => this.tasks[t]!.sig, this.sets);
  }

  get taskCount(): number {
    return this.tasks.length;
  }
  get runCount(): number {
    return this.runs.length;
  }
  get comparisons(): number {
    return this.lsh.comparisons;
  }

  /** First pass: one record at a time, in stream order (the map and reduce of one process, in memory). */
  observe(record: PipelineRecord): void {
    if (!this.taskIndex.has(record.task_id)) this.observeTask(this.signer.task(record));
    this.observeRun(this.signer.run(record, [0, '', 0]));
  }

  hasTask(taskId: string): boolean {
    return this.taskIndex.has(taskId);
  }

  /** A task's signature from the map, before its first run (a task seen again is ignored: the first wins). */
  observeTask(ts: TaskSignature): void {
    if (this.taskIndex.has(ts.task_id)) return;
    const t = this.sets.add();
    const sig = ts.minhash === null ? null : decodeU32(ts.minhash);
    this.tasks.push({ taskId: ts.task_id, exactKey: ts.exact, sig, runs: 0, resolvedRuns: 0, why: null, keptAs: t, similarity: null });
    this.taskIndex.set(ts.task_id, t);
    if (this.cfg.exact.tasks && !ts.empty) {
      const same = this.exactIndex.get(ts.exact);
      if (same === undefined) this.exactIndex.set(ts.exact, t);
      else this.sets.union(same, t);
    }
    if (sig) this.lsh.add(t, sig);
  }

  /** A run's signature from the map, in global order; its task's signature came first. */
  observeRun(rs: RunSignature): void {
    const t = this.taskIndex.get(rs.task_id);
    if (t === undefined) throw new Error(`dedup: run ${rs.id} of task ${rs.task_id} came before its task's signature`);
    const task = this.tasks[t]!;
    task.runs++;
    if (rs.resolved === true) task.resolvedRuns++;
    this.runs.push({
      id: rs.id,
      task: t,
      resolved: rs.resolved,
      actions: rs.actions,
      actionSig: rs.action_sig === null ? null : decodeU32(rs.action_sig),
      why: null,
      keptRun: -1,
      similarity: null,
    });
  }

  /** Which task of a cluster to keep: most resolved runs, then most runs, then the smallest id. */
  private better(a: number, b: number): boolean {
    const ta = this.tasks[a]!;
    const tb = this.tasks[b]!;
    if (ta.resolvedRuns !== tb.resolvedRuns) return ta.resolvedRuns > tb.resolvedRuns;
    if (ta.runs !== tb.runs) return ta.runs > tb.runs;
    return ta.taskId < tb.taskId;
  }

  private byPriority = (a: number, b: number): number => (a === b ? 0 : this.better(a, b) ? -1 : 1);

  /** Tasks kept after exact and near-duplicate clustering, best first: the order greedy semantic dedup walks. */
  representatives(): number[] {
    this.pickRepresentatives();
    return this.tasks.map((_, i) => i).filter((i) => this.tasks[i]!.why === null).sort(this.byPriority);
  }

  private picked = false;
  private pickRepresentatives(): void {
    if (this.picked) return;
    this.picked = true;
    const best = new Map<number, number>();
    for (let t = 0; t < this.tasks.length; t++) {
      const root = this.sets.find(t);
      const cur = best.get(root);
      if (cur === undefined || this.better(t, cur)) best.set(root, t);
    }
    for (let t = 0; t < this.tasks.length; t++) {
      const rep = best.get(this.sets.find(t))!;
      if (rep === t) continue;
      const task = this.tasks[t]!;
      const r = this.tasks[rep]!;
      task.keptAs = rep;
      if (task.exactKey === r.exactKey) {
        task.why = 'duplicate-task';
        task.similarity = 1;
      } else {
        task.why = 'near-duplicate-task';
        task.similarity = task.sig && r.sig ? similarity(task.sig, r.sig) : null;
      }
    }
  }

  runIdAt(position: number): string {
    return this.runs[position]!.id;
  }

  taskIdOf(t: number): string {
    return this.tasks[t]!.taskId;
  }

  /**
   * Greedy semantic dedup over the representatives, best first: a task whose cosine similarity to
   * an already kept task exceeds the threshold is dropped in favour of the most similar kept task.
   * Vectors must be unit length. Quadratic in the number of distinct tasks.
   */
  applySemantic(order: readonly number[], vectors: ReadonlyMap<number, Float32Array>, threshold: number): void {
    const kept: number[] = [];
    for (const t of order) {
      const v = vectors.get(t);
      if (!v) continue;
      let best = -Infinity;
      let bestTask = -1;
      for (const k of kept) {
        const w = vectors.get(k)!;
        if (w.length !== v.length) throw new Error(`dedup.semantic: embeddings of different sizes (${w.length} and ${v.length}); was dedup.semantic.dimensions changed mid-run?`);
        let dot = 0;
        for (let i = 0; i < v.length; i++) dot += v[i]! * w[i]!;
        if (dot > best) {
          best = dot;
          bestTask = k;
        }
      }
      if (bestTask >= 0 && best > threshold) {
        const task = this.tasks[t]!;
        task.why = 'semantic-duplicate-task';
        task.keptAs = bestTask;
        task.similarity = Number(best.toFixed(6));
      } else kept.push(t);
    }
    // Tasks clustered under a task that is now dropped follow it to its kept task.
    for (const task of this.tasks) {
      const rep = this.tasks[task.keptAs]!;
      if (rep.why === 'semantic-duplicate-task') task.keptAs = rep.keptAs;
    }
  }

  /** Decides run-level duplicates and the per-task cap, and builds the clusters artifact. */
  finalize(): void {
    this.pickRepresentatives();
    if (this.finalized) return;
    this.finalized = true;

    const runsOfTask = new Map<number, number[]>();
    for (let p = 0; p < this.runs.length; p++) {
      const t = this.runs[p]!.task;
      if (this.tasks[t]!.why !== null) continue;
      const list = runsOfTask.get(t);
      if (list) list.push(p);
      else runsOfTask.set(t, [p]);
    }

    const runOrder = (a: number, b: number): number => {
      const ra = this.runs[a]!;
      const rb = this.runs[b]!;
      const rank = (r: RunInfo) => (r.resolved === true ? 0 : 1);
      return rank(ra) - rank(rb) || (ra.id < rb.id ? -1 : ra.id > rb.id ? 1 : a - b);
    };

    const taskClusters = new Map<number, number[]>();
    for (let t = 0; t < this.tasks.length; t++) {
      const rep = this.tasks[t]!.keptAs;
      if (rep === t && this.tasks[t]!.why === null) continue;
      const list = taskClusters.get(rep);
      if (list) list.push(t);
      else taskClusters.set(rep, [t]);
    }
    const taskLines: ClusterLine[] = [];
    for (const [rep, members] of taskClusters) {
      const r = this.tasks[rep]!;
      taskLines.push({
        cluster_id: `task:${r.taskId}`,
        level: 'task',
        task_id: r.taskId,
        representative: r.taskId,
        members: [
          { task_id: r.taskId, runs: r.runs, resolved_runs: r.resolvedRuns, kept: true, why: 'representative' },
          ...members
            .sort((a, b) => (this.tasks[a]!.taskId < this.tasks[b]!.taskId ? -1 : 1))
            .map((m) => {
              const t = this.tasks[m]!;
              return { task_id: t.taskId, runs: t.runs, resolved_runs: t.resolvedRuns, kept: false, why: t.why, similarity: t.similarity };
            }),
        ],
      });
    }

    const runLines: ClusterLine[] = [];
    const capLines: ClusterLine[] = [];
    for (const [t, positions] of runsOfTask) {
      const taskId = this.tasks[t]!.taskId;
      positions.sort(runOrder);
      let survivors = positions;
      if (this.cfg.exact.trajectories) {
        const firstByActions = new Map<string, number>();
        survivors = [];
        const groups = new Map<number, number[]>();
        for (const p of positions) {
          const run = this.runs[p]!;
          const first = firstByActions.get(run.actions);
          if (first === undefined) {
            firstByActions.set(run.actions, p);
            survivors.push(p);
            continue;
          }
          run.why = 'duplicate-trajectory';
          run.keptRun = first;
          run.similarity = 1;
          const g = groups.get(first);
          if (g) g.push(p);
          else groups.set(first, [p]);
        }
        for (const [first, dups] of groups) {
          const keep = this.runs[first]!;
          runLines.push({
            cluster_id: `run:${keep.id}`,
            level: 'trajectory',
            task_id: taskId,
            representative: keep.id,
            members: [
              { id: keep.id, resolved: keep.resolved, kept: true, why: 'representative' },
              ...dups.map((p) => ({ id: this.runs[p]!.id, resolved: this.runs[p]!.resolved, kept: false, why: 'duplicate-trajectory' })),
            ],
          });
        }
      }
      const cap = this.cfg.per_task_cap;
      if (cap !== null && survivors.length > cap) {
        const choice = selectDiverse(
          survivors.map((p) => ({ key: p, preferred: this.runs[p]!.resolved === true, sig: this.runs[p]!.actionSig })),
          cap,
        );
        const keptSet = new Set(choice.kept);
        for (const d of choice.dropped) {
          const run = this.runs[d.key]!;
          run.why = 'per-task-cap';
          run.keptRun = d.nearest;
          run.similarity = Number((1 - d.distance).toFixed(4));
        }
        capLines.push({
          cluster_id: `cap:${taskId}`,
          level: 'per-task-cap',
          task_id: taskId,
          representative: this.runs[choice.kept[0]!]!.id,
          members: survivors.map((p) => {
            const run = this.runs[p]!;
            return keptSet.has(p)
              ? { id: run.id, resolved: run.resolved, kept: true, why: 'within-cap' }
              : { id: run.id, resolved: run.resolved, kept: false, why: 'per-task-cap', nearest_kept: this.runs[run.keptRun]!.id, similarity: run.similarity };
          }),
        });
      }
    }
    const byId = (a: ClusterLine, b: ClusterLine) => (a.cluster_id < b.cluster_id ? -1 : a.cluster_id > b.cluster_id ? 1 : 0);
    this.clusters.push(...taskLines.sort(byId), ...runLines.sort(byId), ...capLines.sort(byId));
  }

  /** Second pass: the verdict for the record at this position (the record is checked to be the same). */
  decision(position: number, record: PipelineRecord): Decision {
    const run = this.runs[position];
    if (!run || run.id !== record.id) {
      throw new Error(`dedup: record ${position} changed between the two passes (expected ${run?.id ?? 'none'}, got ${record.id}); was the upstream output modified?`);
    }
    return this.decisionAt(position);
  }

  /** The verdict for the run observed at this position. */
  decisionAt(position: number): Decision {
    if (!this.finalized) throw new Error('DedupPlanner.decision() before finalize()');
    const run = this.runs[position]!;
    const task = this.tasks[run.task]!;
    if (task.why !== null) {
      const rep = this.tasks[task.keptAs]!.taskId;
      return { keep: false, reason: task.why, representative: rep, representativeTask: rep, similarity: task.similarity, clusterId: `task:${rep}` };
    }
    if (run.why !== null) {
      const keptRun = this.runs[run.keptRun]!;
      return {
        keep: false,
        reason: run.why,
        representative: keptRun.id,
        representativeTask: task.taskId,
        similarity: run.similarity,
        clusterId: run.why === 'per-task-cap' ? `cap:${task.taskId}` : `run:${keptRun.id}`,
      };
    }
    return { keep: true, reason: null, representative: null, representativeTask: null, similarity: null, clusterId: null };
  }

  /** Counts for the manifest. */
  summary(): Record<string, unknown> {
    const tasksDropped: Record<string, number> = {};
    for (const t of this.tasks) if (t.why) tasksDropped[t.why] = (tasksDropped[t.why] ?? 0) + 1;
    return {
      tasks_in: this.tasks.length,
      tasks_kept: this.tasks.filter((t) => t.why === null).length,
      tasks_dropped: tasksDropped,
      runs_in: this.runs.length,
      clusters: {
        task: this.clusters.filter((c) => c.level === 'task').length,
        trajectory: this.clusters.filter((c) => c.level === 'trajectory').length,
        per_task_cap: this.clusters.filter((c) => c.level === 'per-task-cap').length,
      },
      lsh_comparisons: this.lsh.comparisons,
    };
  }
}
