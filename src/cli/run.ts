import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { StageName } from '../../schemas/index.js';
import { loadConfig } from '../config/load.js';
import { resolveInputs } from '../io/inputs.js';
import { createLogger } from '../runner/log.js';
import { releaseHeldLocksSync } from '../runner/lock.js';
import { RunStatus, runPipeline, type StageOutcome } from '../runner/runner.js';
import { STAGES } from '../stages/index.js';
import { UsageError, UserError } from '../core/errors.js';
import type { PipelineConfig } from '../../schemas/index.js';
import { parseShardArg } from '../shard/scheduler-env.js';
import { runShard } from '../shard/run.js';
import { shardDir } from '../shard/layout.js';

export interface RunArgs {
  pipeline?: string | undefined;
  input?: string[] | undefined;
  out?: string | undefined;
  from?: StageName | undefined;
  only?: StageName | undefined;
  force: boolean;
  set?: string[] | undefined;
  teacherBaseUrl?: string | undefined;
  teacherModel?: string | undefined;
  dryRun: boolean;
  quiet: boolean;
  /** `--shard I/N` or `--shard auto` (docs/cluster.md). */
  shard?: string | undefined;
}

/** Command-line shortcuts are --set assignments under another name, validated the same way. */
function shortcutSets(args: RunArgs): string[] {
  const sets: string[] = [];
  if (args.teacherBaseUrl) sets.push(`label.teacher.base_url=${args.teacherBaseUrl}`);
  if (args.teacherModel) sets.push(`label.teacher.model=${args.teacherModel}`);
  return sets;
}

export interface RunResult {
  outcomes: StageOutcome[];
  outDir: string;
  config: PipelineConfig;
  /** A shard that stopped after its dedup map, waiting for the reduce: the one line to print (exit 0). */
  waiting?: string | null;
  /** A shard's part is written: the run report and "done" belong to the gather. */
  shard?: boolean;
}

export async function runCommand(args: RunArgs): Promise<RunResult> {
  if (args.from && args.only) throw new UsageError('Use either --from or --only, not both.');
  const status = new RunStatus();
  let outDir: string | null = null;
  const removeHandlers = onInterrupt(status, () => interruptedSentence(status, outDir));
  try {
    return await runWithin(args, status, (dir) => (outDir = dir));
  } finally {
    removeHandlers();
  }
}

async function runWithin(args: RunArgs, status: RunStatus, setOutDir: (dir: string) => void): Promise<RunResult> {
  const spec = args.shard === undefined ? null : parseShardArg(args.shard, process.env);
  const { config } = await loadConfig(args.pipeline ?? null, [...(args.set ?? []), ...shortcutSets(args)]);
  const inputs = args.input?.length ? args.input : config.inputs;
  if (inputs.length === 0) throw new UserError('No inputs: give --input PATH or list inputs in the pipeline file.');
  const outDir = resolve(args.out ?? config.out ?? `data/runs/${config.name}`);
  const log = createLogger(args.quiet);
  let excluded = 0;
  const fromFile = !args.input?.length && args.pipeline !== undefined;
  const inputFiles = await resolveInputs(inputs, process.cwd(), {
    exclude: [outDir],
    onExcluded: (folder, n) => (excluded += n) && log.warn(`skipped ${n} file(s) under the output folder ${folder}, which lies inside an input: a run's outputs are never read as its inputs.`),
  }).catch((err: unknown) => {
    // The path shown is the resolved one; say against what, since the user wrote it relative to the file.
    if (!(err instanceof UserError) || !fromFile) throw err;
    throw new UserError(`${err.message.replace(/\.$/, '')} (relative inputs in ${args.pipeline} are resolved against its folder, ${dirname(resolve(args.pipeline!))}).`);
  });
  if (inputFiles.length === 0) throw new UserError(`The inputs (${inputs.join(', ')}) contain no files${excluded ? ` outside the output folder ${outDir}` : ''}.`);
  log.info(`trajpipe: ${config.name}: ${inputFiles.length} input file(s) -> ${outDir}`);
  if (spec) {
    const request = { config, stages: STAGES, inputFiles, from: args.from, only: args.only, force: args.force, options: { dryRun: args.dryRun, quiet: args.quiet }, log, status };
    setOutDir(shardDir(outDir, spec.index, spec.count));
    const r = await runShard(request, outDir, spec);
    return { outcomes: r.outcomes, outDir: r.outDir, config, waiting: r.waiting, shard: true };
  }
  setOutDir(outDir);
  const outcomes = await runPipeline({
    config,
    stages: STAGES,
    outDir,
    inputFiles,
    from: args.from,
    only: args.only,
    force: args.force,
    options: { dryRun: args.dryRun, quiet: args.quiet },
    log,
    status,
  });
  return { outcomes, outDir, config };
}

/** The one sentence an interrupted run leaves: what is complete, and how to go on. */
export function interruptedSentence(status: RunStatus, outDir: string | null): string {
  if (outDir === null) return 'trajpipe: interrupted before any stage started; nothing was written; rerun the same command to start again.';
  const done = status.complete.length ? `${status.complete.join(', ')} ${status.complete.length === 1 ? 'is' : 'are'} complete in ${outDir}` : `no stage is complete in ${outDir} yet`;
  const during = !status.current ? '' : status.partial ? ` during ${status.current} (its partial output is deleted)` : ` while checking whether ${status.current} is up to date`;
  return `trajpipe: interrupted${during}; ${done}; rerun the same command to resume.`;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM: say what is complete and that the same command resumes, release the lock,
 * exit 130. Partial stage folders are never trusted, and the next run deletes them.
 */
function onInterrupt(status: RunStatus, sentence: () => string): () => void {
  const handler = (): void => {
    process.stderr.write(`\n${sentence()}\n`);
    try {
      for (const partial of status.partials) rmSync(partial, { recursive: true, force: true });
    } catch {
      // the next run deletes it
    }
    releaseHeldLocksSync();
    process.exit(130);
  };
  const early = (globalThis as { __trajpipeEarlyInterrupt?: () => void }).__trajpipeEarlyInterrupt;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    if (early) process.off(sig, early);
    process.once(sig, handler);
  }
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * Said after "done" when the label stage used the offline heuristic on real runs: these are baseline
 * labels, not a teacher's, and the sentence says how to get a teacher's.
 */
export function baselineLabelsNotice(outcomes: readonly StageOutcome[]): string | null {
  const label = outcomes.find((o) => o.stage === 'label');
  if (!label || label.status === 'stopped') return null;
  const stats = label.manifest.stats as { labeler?: unknown; runs?: Record<string, number> };
  const labelled = stats.runs?.labelled ?? 0;
  if (stats.labeler !== 'heuristic' || labelled === 0) return null;
  return (
    `trajpipe: the ${labelled} failed run(s) carry baseline labels from the offline heuristic, not teacher labels ` +
    `(docs/label.md: it trains about twice the turns a teacher would); for teacher labels set label.teacher.base_url and ` +
    `label.teacher.model, or pass --teacher-base-url URL --teacher-model NAME.`
  );
}
