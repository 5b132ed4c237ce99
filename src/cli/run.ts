import { resolve } from 'node:path';
import type { StageName } from '../../schemas/index.js';
import { loadConfig } from '../config/load.js';
import { resolveInputs } from '../io/inputs.js';
import { createLogger } from '../runner/log.js';
import { runPipeline, type StageOutcome } from '../runner/runner.js';
import { STAGES } from '../stages/index.js';
import { UserError } from '../core/errors.js';
import type { PipelineConfig } from '../../schemas/index.js';

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
}

/** Command-line shortcuts are --set assignments under another name, validated the same way. */
function shortcutSets(args: RunArgs): string[] {
  const sets: string[] = [];
  if (args.teacherBaseUrl) sets.push(`label.teacher.base_url=${args.teacherBaseUrl}`);
  if (args.teacherModel) sets.push(`label.teacher.model=${args.teacherModel}`);
  return sets;
}

export async function runCommand(args: RunArgs): Promise<{ outcomes: StageOutcome[]; outDir: string; config: PipelineConfig }> {
  if (args.from && args.only) throw new UserError('Use either --from or --only, not both.');
  const { config } = await loadConfig(args.pipeline ?? null, [...(args.set ?? []), ...shortcutSets(args)]);
  const inputs = args.input?.length ? args.input : config.inputs;
  if (inputs.length === 0) throw new UserError('No inputs: give --input PATH or list inputs in the pipeline file.');
  const inputFiles = await resolveInputs(inputs);
  if (inputFiles.length === 0) throw new UserError(`The inputs (${inputs.join(', ')}) contain no files.`);
  const outDir = resolve(args.out ?? config.out ?? `data/runs/${config.name}`);
  const log = createLogger(args.quiet);
  log.info(`trajpipe: ${config.name}: ${inputFiles.length} input file(s) -> ${outDir}`);
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
  });
  return { outcomes, outDir, config };
}
