import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { STAGE_ORDER, type StageName } from '../../schemas/index.js';
import { UserError, StageStopped, UsageError } from '../core/errors.js';
import { isSystemError, systemErrorSentence } from '../runner/errors.js';
import { STAGES } from '../stages/index.js';
import { validateExport } from '../validate/export.js';
import { DEFAULT_ROW_CHECKS } from '../validate/checks.js';
import { baselineLabelsNotice, runCommand } from './run.js';
import { scrubUrlsInText } from '../core/endpoint.js';
import { writeReport } from '../report/write.js';
import { inspectRun } from '../report/inspect.js';
import { printRecords } from './records.js';
import { runNightly } from '../nightly/nightly.js';
import { shardCommandSetup } from '../shard/cli.js';
import { reduceShards } from '../shard/reduce.js';
import { gatherShards } from '../shard/gather.js';

/**
 * Exit codes: 0 done (or a dry run that printed its estimate), 1 failed (one sentence on stderr), 2 usage,
 * 3 stopped cleanly before the end (resumable), 4 a nightly guard tripped, 130 interrupted by SIGINT or SIGTERM (resumable).
 */
async function main(argv: string[]): Promise<number> {
  let code = 0;
  await yargs(argv)
    .scriptName('trajpipe')
    .usage('$0 <command> [options]\n\nTurn coding-agent trajectories into credit-assignment SFT data:\ningest -> filter -> dedup -> label -> segment -> export.')
    .command(
      'run [pipeline]',
      'Run a pipeline: every stage whose inputs or config changed, skipping the rest.',
      (y) =>
        y
          .positional('pipeline', { type: 'string', describe: 'Pipeline file, e.g. pipelines/sample.yaml (default: built-in defaults).' })
          .option('input', { alias: 'i', type: 'string', array: true, describe: 'Input file, folder or glob; repeatable; replaces the pipeline\'s inputs.' })
          .option('out', { alias: 'o', type: 'string', describe: 'Output folder (default: the pipeline\'s out, or data/runs/<name>).' })
          .option('from', { choices: STAGE_ORDER, describe: 'Rerun this stage and every stage after it.' })
          .option('only', { choices: STAGE_ORDER, describe: 'Run just this stage (skipped if up to date, unless --force).' })
          .conflicts('from', 'only')
          .option('force', { type: 'boolean', default: false, describe: 'Rerun selected stages even when up to date.' })
          .option('set', { type: 'string', array: true, describe: 'KEY=VALUE override of the pipeline config (dotted key, YAML value); repeatable.' })
          .option('teacher-base-url', { type: 'string', describe: 'OpenAI-compatible teacher endpoint (same as --set label.teacher.base_url=URL).' })
          .option('teacher-model', { type: 'string', describe: 'Teacher model name (same as --set label.teacher.model=NAME).' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'Stop before the first teacher request and print what labelling would cost.' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors.' })
          .option('shard', { type: 'string', describe: 'Run one shard, I/N (0-based), or auto (from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); docs/cluster.md.' })
          .example('$0 run pipelines/sample.yaml', 'Run the sample build offline.')
          .example('$0 run pipelines/nightly.yaml --set dedup.minhash.threshold=0.9', 'Rerun dedup and what follows with one value changed.')
          .example('$0 run --input traj/ --out data/runs/try1', 'Ingest a folder of mixed harness files with default settings.'),
      async (a) => {
        const { outcomes, outDir, config, waiting, shard } = await runCommand({
          shard: a.shard,
          pipeline: a.pipeline,
          input: a.input,
          out: a.out,
          from: a.from as StageName | undefined,
          only: a.only as StageName | undefined,
          force: a.force,
          set: a.set,
          teacherBaseUrl: a['teacher-base-url'],
          teacherModel: a['teacher-model'],
          dryRun: a['dry-run'],
          quiet: a.quiet,
        });
        const stopped = outcomes.find((o) => o.status === 'stopped');
        if (stopped && stopped.status === 'stopped') {
          if (a['dry-run']) {
            // A dry run that printed its estimate did what was asked: exit 0 (README, exit codes).
            process.stderr.write(`${dryRunSentence(stopped.stage, stopped.reason, outcomes.filter((o) => o.status !== 'stopped').map((o) => o.stage))}\n`);
            return;
          }
          process.stderr.write(`trajpipe: stopped at ${stopped.stage}: ${scrubUrlsInText(stopped.reason)}. Rerun the same command to resume.\n`);
          code = 3;
          return;
        }
        if (waiting) {
          process.stderr.write(`${waiting}\n`);
          return;
        }
        if (shard) {
          if (!a.quiet) process.stderr.write(`trajpipe: shard done; its part of the export is in ${outDir}/export; \`trajpipe gather\` writes the dataset once every shard is done.\n`);
          return;
        }
        if (a['dry-run'] && !a.quiet) {
          process.stderr.write(`trajpipe: dry run: no teacher request was needed (label was up to date or had nothing to send), so the run went to the end; outputs in ${outDir}\n`);
          return;
        }
        if (config.report.enabled) {
          const report = await writeReport(outDir, { name: config.name, config: config.report, unlessUnchanged: outcomes.every((o) => o.status === 'skipped') });
          if (!a.quiet) process.stderr.write(`trajpipe: report in ${report}\n`);
        }
        if (!a.quiet) process.stderr.write(`trajpipe: done; outputs in ${outDir}\n`);
        const notice = baselineLabelsNotice(outcomes);
        if (notice && !a.quiet) process.stderr.write(`${notice}\n`);
      },
    )
    .command(
      'report <dir>',
      'Write a self-contained HTML report of a run folder (funnel, rejects, curves, runs) and print its path.',
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'A run folder (the --out of trajpipe run).' })
          .option('name', { type: 'string', describe: 'Title of the report (default: the folder name).' }),
      async (a) => {
        process.stdout.write(`${await writeReport(a.dir, { name: a.name })}\n`);
      },
    )
    .command(
      'records <dir> <stage>',
      'Print a stage\'s records as JSON lines (reference lines resolved), whole or only --fields.',
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'A run folder.' })
          .positional('stage', { choices: STAGE_ORDER, demandOption: true, describe: 'A stage that passes records on (ingest to segment).' })
          .option('fields', { type: 'string', describe: 'Comma-separated top-level fields, e.g. id,task_id,values (the rest of each record is not read).' })
          .example('$0 records data/runs/sample segment | jq -c \'{id, peak: .segment.peak_step}\'', 'What segment kept, with jq.'),
      async (a) => {
        // `| head` closes the pipe early: that is the reader's choice, not a failure.
        process.stdout.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'EPIPE') process.exit(0);
        });
        await printRecords(a.dir, a.stage as StageName, a.fields ? a.fields.split(',').map((f) => f.trim()).filter(Boolean) : undefined);
      },
    )
    .command(
      'inspect <dir> <id>',
      'Print one run: its messages with trained turns marked, its curve as a text chart, the cut and why.',
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'A run folder.' })
          .positional('id', { type: 'string', demandOption: true, describe: 'Run id (or its first characters).' })
          .option('chars', { type: 'number', default: 600, describe: 'Characters shown per message.' }),
      async (a) => {
        process.stdout.write(await inspectRun(a.dir, a.id, { messageChars: a.chars }));
      },
    )
    .command(
      'nightly <pipeline>',
      'One night of a nightly build: run into <root>/<date>/, validate, compare with the previous night, report, then switch <root>/latest. Exit 4 when a guard trips.',
      (y) =>
        y
          .positional('pipeline', { type: 'string', demandOption: true, describe: 'Pipeline file, e.g. pipelines/nightly.yaml.' })
          .option('root', { type: 'string', describe: 'Folder of the dated runs and latest (default: nightly.root, else the pipeline\'s out).' })
          .option('date', { type: 'string', describe: 'Name of the night (default: today, UTC), e.g. 2026-12-02.' })
          .option('input', { alias: 'i', type: 'string', array: true, describe: 'Input file, folder or glob; replaces the pipeline\'s inputs.' })
          .option('set', { type: 'string', array: true, describe: 'KEY=VALUE override of the pipeline config; repeatable.' })
          .option('teacher-base-url', { type: 'string', describe: 'OpenAI-compatible teacher endpoint.' })
          .option('teacher-model', { type: 'string', describe: 'Teacher model name.' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors and tripped guards.' }),
      async (a) => {
        const r = await runNightly({
          pipeline: a.pipeline,
          root: a.root,
          date: a.date,
          input: a.input,
          set: a.set,
          teacherBaseUrl: a['teacher-base-url'],
          teacherModel: a['teacher-model'],
          quiet: a.quiet,
        });
        if (r.status === 'stopped') {
          process.stderr.write(`trajpipe: night ${r.night} stopped at ${r.reason}; latest was not switched. Rerun the same command to resume.\n`);
          code = 3;
          return;
        }
        const c = r.comparison;
        if (!a.quiet) {
          process.stderr.write(
            `trajpipe: night ${r.night}${c.previous ? ` against ${c.previous}` : ''}: ${c.new_runs_count} new run(s), ${c.gone_runs_count} gone, ` +
              `${c.exported.tonight} row(s) exported, ${c.cost.requests} teacher request(s) (${c.cost.cache_hits} cached), ~$${c.cost.estimated_cost.toFixed(4)}\n` +
              `trajpipe: report in ${r.report}; latest -> ${r.night}\n`,
          );
        }
        if (c.guards.length) {
          for (const g of c.guards) process.stderr.write(`trajpipe: guard tripped: ${g}\n`);
          code = 4;
        }
      },
    )
    .command(
      'validate <dir>',
      'Check exported shards: manifest hashes, Parquet schema, every row against the SFT schema and its invariants.',
      (y) => y.positional('dir', { type: 'string', demandOption: true, describe: 'An export folder, or a run folder holding export/.' }),
      async (a) => {
        const r = await validateExport(a.dir, DEFAULT_ROW_CHECKS);
        if (!r.found) throw new UserError(r.errors[0]!);
        const outcomes = Object.entries(r.byOutcome).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
        process.stdout.write(`${r.dir}: ${r.shards} shard(s), ${r.rows} row(s) (${outcomes}), ${r.trainedTurns} trained turn(s)\n`);
        for (const v of r.variants) process.stdout.write(`  ${v.folder} (policy ${v.policy}): ${v.shards} shard(s), ${v.rows} row(s), ${v.trainedTurns} trained turn(s)\n`);
        if (r.errors.length) {
          for (const e of r.errors) process.stdout.write(`  error: ${e}\n`);
          throw new UserError(`${r.errors.length} problem(s) found in ${r.dir}.`);
        }
        process.stdout.write('valid\n');
      },
    )
    .command(
      'reduce [pipeline]',
      'Sharded run, phase 2: read every shard\'s dedup signatures and write the global dedup decision into <out>/dedup-reduce/.',
      (y) =>
        y
          .positional('pipeline', { type: 'string', describe: 'The pipeline file the shards ran.' })
          .option('out', { alias: 'o', type: 'string', describe: 'The run folder the shards ran with --out.' })
          .option('shards', { type: 'number', demandOption: true, describe: 'How many shards the run has (N of --shard I/N).' })
          .option('set', { type: 'string', array: true, describe: 'KEY=VALUE override, as given to the shards.' })
          .option('input', { alias: 'i', type: 'string', array: true, describe: 'Accepted and unused (the shards read the inputs), so one argument list serves every phase.' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false }),
      async (a) => {
        const { config, runDir, log } = await shardCommandSetup(a.pipeline, a.out, a.set, a.shards, a.quiet);
        await reduceShards(config, runDir, a.shards, log);
      },
    )
    .command(
      'gather [pipeline]',
      'Sharded run, phase 4: the shards\' exports as one dataset in <out>/export/ (files numbered over the whole, one manifest, one card), then tokenize and formats.',
      (y) =>
        y
          .positional('pipeline', { type: 'string', describe: 'The pipeline file the shards ran.' })
          .option('out', { alias: 'o', type: 'string', describe: 'The run folder the shards ran with --out.' })
          .option('shards', { type: 'number', demandOption: true, describe: 'How many shards the run has.' })
          .option('set', { type: 'string', array: true, describe: 'KEY=VALUE override, as given to the shards.' })
          .option('input', { alias: 'i', type: 'string', array: true, describe: 'Accepted and unused (the shards read the inputs), so one argument list serves every phase.' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false }),
      async (a) => {
        const { config, runDir, log } = await shardCommandSetup(a.pipeline, a.out, a.set, a.shards, a.quiet);
        const { outcomes } = await gatherShards(config, runDir, a.shards, { dryRun: false, quiet: a.quiet }, log);
        const stopped = outcomes.find((o) => o.status === 'stopped');
        if (stopped && stopped.status === 'stopped') {
          process.stderr.write(`trajpipe: gather stopped at ${stopped.stage}: ${scrubUrlsInText(stopped.reason)}. Rerun the same command to resume.\n`);
          code = 3;
          return;
        }
        if (!a.quiet) process.stderr.write(`trajpipe: gathered; the dataset is in ${runDir}/export (pool and the run report are not run over a sharded run: docs/cluster.md)\n`);
      },
    )
    .command('stages', 'List the stages in order and what each does.', {}, () => {
      for (const s of STAGES) process.stdout.write(`${s.name.padEnd(8)} ${s.summary}\n`);
    })
    .demandCommand(1, 'Name a command: run, validate or stages.')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`trajpipe: ${msg}\nRun "trajpipe --help" for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
  return code;
}

/** What a dry run showed, and what it did not do, in one sentence. */
function dryRunSentence(stage: string, reason: string, before: string[]): string {
  const shown = scrubUrlsInText(reason).replace(/^dry run: /, '');
  const ran = before.length ? `; the stages before it (${before.join(', ')}) are complete as usual` : '';
  return `trajpipe: dry run of ${stage}: ${shown}; nothing was sent to the teacher and nothing of ${stage} or the stages after it was written${ran}. Run it again without --dry-run to go ahead.`;
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`trajpipe: ${err.message}\nRun "trajpipe --help" for usage.\n`);
      process.exit(2);
    }
    if (err instanceof UserError || err instanceof StageStopped) {
      process.stderr.write(`trajpipe: ${scrubUrlsInText(err.message)}\n`);
    } else if (isSystemError(err)) {
      process.stderr.write(`trajpipe: ${systemErrorSentence(err)}\n`);
    } else {
      process.stderr.write(`trajpipe: internal error: ${scrubUrlsInText((err as Error)?.stack ?? String(err))}\n`);
    }
    process.exit(1);
  },
);
