// npm run bench [-- --size 1e9 --out bench/out]
// Generates a synthetic corpus shaped like real runs, runs each stage in its own process and prints,
// per stage, records/s, MB/s and peak RSS, next to a bare read-and-JSON.parse pass as the floor.
// Then runs the stage-specific benchmarks that live beside this file.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { STAGE_ORDER, type StageManifest } from '../schemas/index.js';
import { synthesizeCorpus } from './synth.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MB = 1024 * 1024;

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1e9, describe: 'Corpus size in bytes.' })
  .option('out', { type: 'string', default: 'bench/out', describe: 'Working folder (git-ignored).' })
  .option('seed', { type: 'number', default: 1 })
  .option('stage-benches', { type: 'boolean', default: true, describe: 'Also run bench/dedup.ts, bench/teacher.ts and bench/redact.ts when present.' })
  .strict()
  .parseAsync();

const work = resolve(ROOT, args.out);
const corpusDir = join(work, `corpus-${args.size}-${args.seed}`);
const marker = join(corpusDir, 'COMPLETE.json');

interface Measured {
  seconds: number;
  peakRssMb: number;
  stdout: string;
}

/** Runs a node script in a child under /usr/bin/time, for wall time and peak RSS of that process alone. */
function measure(argv: string[]): Measured {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...argv], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MB });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  return { seconds, peakRssMb: Number(lines[lines.length - 1]) / 1024, stdout: r.stdout };
}

if (!existsSync(marker)) {
  await rm(corpusDir, { recursive: true, force: true });
  process.stderr.write(`generating a ${(args.size / 1e9).toFixed(2)} GB synthetic corpus in ${corpusDir} ...\n`);
  const t = performance.now();
  const made = await synthesizeCorpus({ dir: corpusDir, targetBytes: args.size, seed: args.seed });
  await writeFile(marker, JSON.stringify({ ...made, files: made.files.length }));
  process.stderr.write(`  ${made.records} trajectories, ${(made.bytes / MB).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)}s\n`);
}
const corpus = JSON.parse(await readFile(marker, 'utf8')) as { records: number; bytes: number };

// Floor: bare read + JSON.parse over the same bytes.
const files = (await import('../src/io/inputs.js')).resolveInputs([corpusDir]).then((f) => f.filter((x) => x.endsWith('.jsonl')));
const floor = measure(['--import', 'tsx', 'bench/floor.ts', ...(await files)]);
const floorStats = JSON.parse(floor.stdout) as { records: number; bytes: number; seconds: number };

// The pipeline, one stage per process so each peak RSS is that stage's own.
const runDir = join(work, 'run');
const pipeline = join(work, 'bench.yaml');
await mkdir(work, { recursive: true });
await writeFile(pipeline, `name: bench\ninputs: [${JSON.stringify(corpusDir)}]\n`);
await rm(runDir, { recursive: true, force: true });

interface Row {
  stage: string;
  recordsIn: number;
  recordsOut: number;
  seconds: number;
  mbIn: number;
  peakRssMb: number;
}
const rows: Row[] = [];
let inputBytes = corpus.bytes;
for (const stage of STAGE_ORDER) {
  const m = measure(['bin/trajpipe.js', 'run', pipeline, '--out', runDir, '--only', stage, '--force', '--quiet']);
  const manifest = JSON.parse(await readFile(join(runDir, stage, 'manifest.json'), 'utf8')) as StageManifest;
  rows.push({
    stage,
    recordsIn: manifest.records_in,
    recordsOut: manifest.records_out,
    seconds: manifest.timings.seconds,
    mbIn: inputBytes / MB,
    peakRssMb: m.peakRssMb,
  });
  inputBytes = manifest.outputs.reduce((a, o) => a + o.bytes, 0);
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(10);
const lines = [
  `corpus: ${corpus.records} trajectories, ${(corpus.bytes / MB).toFixed(0)} MB (20-200 turns, observations 100 B-20 KB); node ${process.version}`,
  '',
  `${'stage'.padEnd(14)}${'in'.padStart(10)}${'out'.padStart(10)}${'seconds'.padStart(10)}${'records/s'.padStart(10)}${'MB/s'.padStart(10)}${'peak RSS MB'.padStart(13)}`,
  `${'floor (parse)'.padEnd(14)}${String(floorStats.records).padStart(10)}${''.padStart(10)}${fmt(floorStats.seconds, 2)}${fmt(floorStats.records / floorStats.seconds)}${fmt(floorStats.bytes / MB / floorStats.seconds)}${fmt(floor.peakRssMb, 0).padStart(13)}`,
  ...rows.map(
    (r) =>
      `${r.stage.padEnd(14)}${String(r.recordsIn).padStart(10)}${String(r.recordsOut).padStart(10)}${fmt(r.seconds, 2)}${fmt(r.recordsIn / Math.max(r.seconds, 1e-3))}${fmt(r.mbIn / Math.max(r.seconds, 1e-3))}${fmt(r.peakRssMb, 0).padStart(13)}`,
  ),
  '',
  'seconds: the stage\'s own time from its manifest; MB/s: the stage\'s input bytes / seconds; peak RSS: the whole process (/usr/bin/time).',
];
process.stdout.write(lines.join('\n') + '\n');

if (args['stage-benches']) {
  // The run report of this run folder: generation time, page size, load time in Chromium.
  process.stdout.write(`\n== bench/report.ts ==\n`);
  const rep = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'report.ts'), runDir], { cwd: ROOT, stdio: 'inherit' });
  if (rep.status !== 0) process.stdout.write(`bench/report.ts exited with ${rep.status}\n`);
  for (const name of ['dedup', 'teacher', 'redact', 'tokenize', 'shards', 'reduce']) {
    const file = join(ROOT, 'bench', `${name}.ts`);
    if (!existsSync(file)) continue;
    process.stdout.write(`\n== bench/${name}.ts ==\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) process.stdout.write(`bench/${name}.ts exited with ${r.status}\n`);
  }
}

