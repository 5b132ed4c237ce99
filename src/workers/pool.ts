import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Tinypool from 'tinypool';
import { projectPath } from '../core/paths.js';
import type { TaskInput, TaskName, TaskOutput } from './tasks.js';

/**
 * Per-record CPU work (token counting, Parquet page encoding and zstd, MinHash) spread over worker
 * threads, or run in the calling thread when there is one thread to use. The same task functions run
 * either way (src/workers/tasks.ts), so the output never depends on the thread count: that is why
 * `runner.workers` is no part of any stage's fingerprint.
 */
export interface TaskPool {
  /** Worker threads; 0 means every task runs inline, in this thread. */
  readonly threads: number;
  /** Tasks worth keeping in flight so every thread stays busy (a bound for orderedMap's window). */
  readonly window: number;
  run<N extends TaskName>(name: N, input: TaskInput<N>, transfer?: Transferable[]): Promise<TaskOutput<N>>;
  close(): Promise<void>;
}

/** `runner.workers` when unset: one thread per core the process may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

function inlinePool(): TaskPool {
  // The task registry imports the stages' per-record functions, and stages import this module: loaded on
  // first use, so the import graph has no cycle.
  return { threads: 0, window: 1, run: (name, input) => import('./tasks.js').then(({ runTask }) => runTask({ name, input }) as never), close: async () => {} };
}

/**
 * The worker threads' entry module. When the CLI runs from the start-up bundle, bin/trajpipe.js sets
 * `globalThis.__trajpipeWorkerEntry` to the bundle's worker.mjs (tasks.ts's runTask, built from the same
 * sources as the main thread); a global rather than an environment variable, so no child process inherits
 * it. Otherwise (tsx, vitest, or a bundle folder pruned since start-up) entry.mjs, which loads the sources
 * through tsx.
 */
export function workerEntry(): string {
  const bundled = (globalThis as { __trajpipeWorkerEntry?: unknown }).__trajpipeWorkerEntry;
  if (typeof bundled === 'string' && existsSync(fileURLToPath(bundled))) return bundled;
  return pathToFileURL(projectPath('src', 'workers', 'entry.mjs')).href;
}

function threadPool(threads: number): TaskPool {
  // tinypool rather than piscina: the same API, no dependencies, and less CPU per task on filter's
  // token counting here (docs/bench.md, "Worker pool").
  const tinypool = new Tinypool({
    filename: workerEntry(),
    minThreads: threads,
    maxThreads: threads,
    // entry.mjs registers tsx itself; inheriting `--import tsx` (or vitest's flags) would load it twice.
    execArgv: process.env.TRAJPIPE_WORKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TRAJPIPE_WORKER_CPU_PROF}`] : [],
  });
  let closed = false;
  return {
    threads,
    window: threads * 4,
    run: (name, input, transfer) => {
      if (closed) return Promise.reject(new Error(`worker pool is closed (task ${name})`));
      return tinypool.run({ name, input }, transfer ? { transferList: transfer as never } : undefined) as Promise<TaskOutput<typeof name>>;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await tinypool.destroy();
    },
  };
}

/** A pool of `workers` threads; 0 or 1 runs inline (a single worker would only add copying). */
export function createPool(workers: number): TaskPool {
  return workers >= 2 ? threadPool(Math.floor(workers)) : inlinePool();
}

const shared = new Map<number, TaskPool>();

/** The process's pool for this many workers: created on first use, closed by closeSharedPools(). */
export function sharedPool(workers: number | null | undefined): TaskPool {
  const n = workers ?? defaultWorkers();
  const key = n >= 2 ? Math.floor(n) : 0;
  let pool = shared.get(key);
  if (!pool) {
    pool = createPool(key);
    shared.set(key, pool);
  }
  return pool;
}

/** Ends every shared pool's threads (at the end of a run, and on failure, so no process hangs on them). */
export async function closeSharedPools(): Promise<void> {
  const pools = [...shared.values()];
  shared.clear();
  await Promise.all(pools.map((p) => p.close()));
}
