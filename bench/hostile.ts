// npx tsx bench/hostile.ts [--line-mb 300] [--depth 100000] [--out bench/out/hostile]
// Peak RSS of `trajpipe run --only ingest` on hostile inputs, each beside one good JSON-lines file, with
// the default config: one JSON-lines record of --line-mb MB (over ingest.max_line_bytes, so skipped to
// its newline unread) and a single-run JSON file nested --depth levels deep (over ingest.max_depth).
// Each case runs in its own process under /usr/bin/time; the good file alone is the baseline. A line is
// buffered up to the cap before it is known to be too long, so the long-line case is run at two caps.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MB = 1024 * 1024;
const args = await yargs(hideBin(process.argv))
  .option('line-mb', { type: 'number', default: 300 })
  .option('depth', { type: 'number', default: 100_000 })
  .option('out', { type: 'string', default: 'bench/out/hostile' })
  .strict()
  .parseAsync();

const work = resolve(ROOT, args.out);
await rm(work, { recursive: true, force: true });
const good = join(ROOT, 'data/sample/native/hf/swe-smith-style.jsonl');

async function caseDir(name: string, write: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(work, name, 'in');
  await mkdir(dir, { recursive: true });
  await copyFile(good, join(dir, 'good.jsonl'));
  await write(dir);
  return dir;
}

const cases: [string, string, string[]][] = [
  ['good file alone (baseline)', await caseDir('baseline', async () => {}), []],
  [
    `one ${args['line-mb']} MB JSON-lines record`,
    await caseDir('long-line', async (dir) => {
      const fh = await open(join(dir, 'long.jsonl'), 'w');
      await fh.write('{"instance_id":"acme__long-1","messages":[{"role":"user","content":"');
      const block = Buffer.alloc(MB, 'x');
      for (let i = 0; i < args['line-mb']; i++) await fh.write(block);
      await fh.write('"}]}\n');
      await fh.close();
    }),
    [],
  ],
  [
    `JSON nested ${args.depth} levels deep`,
    await caseDir('deep', async (dir) => {
      await writeFile(join(dir, 'deep.json'), `{"trajectory_format":"mini-swe-agent-1","instance_id":"acme__deep-1","messages":${'['.repeat(args.depth)}${']'.repeat(args.depth)}}`);
    }),
    [],
  ],
];
// The same long line under a lower cap: memory follows the cap (the longest line ever buffered), not the line.
cases.push([`${cases[1]![0]}, ingest.max_line_bytes = 8 MiB`, cases[1]![1], ['--set', `ingest.max_line_bytes=${8 * MB}`]]);

console.log('| input (beside one good file) | exit | records in / out | rejects | wall s | peak RSS MB |');
console.log('|---|---|---|---|---|---|');
for (const [i, [what, dir, extra]] of cases.entries()) {
  const out = join(dir, '..', `out-${i}`);
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/trajpipe.js', 'run', '--input', dir, '--out', out, '--only', 'ingest', '--quiet', ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  const rssKb = Number(r.stderr.trim().split('\n').pop());
  const m = JSON.parse(await readFile(join(out, 'ingest/manifest.json'), 'utf8').catch(() => '{}')) as { records_in?: number; records_out?: number; dropped?: Record<string, number> };
  const dropped = Object.entries(m.dropped ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  console.log(`| ${what} | ${r.status} | ${m.records_in} / ${m.records_out} | ${dropped} | ${seconds.toFixed(1)} | ${(rssKb / 1024).toFixed(0)} |`);
}
await rm(work, { recursive: true, force: true });
