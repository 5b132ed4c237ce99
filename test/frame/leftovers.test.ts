import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { currentHolder } from '../../src/core/holder.js';
import { tempPathFor } from '../../src/io/atomic.js';
import { silentLogger, type Logger } from '../../src/runner/log.js';
import { runPipeline } from '../../src/runner/runner.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

const DEAD_PID = 99_999_999; // above any pid_max: no such process

describe('leftovers of killed runs', () => {
  it('are removed at the next run even when every stage is up to date; live writers\' temporary files are kept', async () => {
    const out = await tempDir();
    const cache = await tempDir();
    const { config } = await loadConfig(null, ['name=t', `label.cache_dir=${cache}`]);
    const run = (log: Logger = silentLogger) =>
      runPipeline({ config, stages: STAGES, outDir: out, inputFiles: ['data/sample/canonical/runs.jsonl'], options: { dryRun: false, quiet: true }, log });
    await run();

    // What SIGKILLed runs leave: stage folders mid-write or mid-swap, a lock attempt, cache temporaries.
    for (const d of ['.filter.partial-4242', '.export.old-4242']) {
      await mkdir(join(out, d));
      await writeFile(join(out, d, 'part-00000.jsonl'), '{}\n');
    }
    await writeFile(join(out, `.lock.tmp-${DEAD_PID}-0123456789abcdef-00000000`), '');
    await mkdir(join(cache, 'ab'));
    const me = currentHolder();
    const dead = `.abcd.json.tmp-${DEAD_PID}-12345-0`;
    const reused = `.abce.json.tmp-${me.pid}-1-0`; // this pid, but another process's start time: dead
    const legacy = `.abcf.json.tmp-${DEAD_PID}-3`;
    const live = tempPathFor(join(cache, 'ab', 'abcg.json')).split('/').pop()!;
    for (const f of [dead, reused, legacy, live]) await writeFile(join(cache, 'ab', f), 'x');

    const lines: string[] = [];
    const log: Logger = { ...silentLogger, info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const outcomes = await run(log);
    expect(outcomes.map((o) => o.status)).toEqual(Array(STAGES.length).fill('skipped'));
    expect((await readdir(out)).filter((e) => e.startsWith('.')).sort()).toEqual([]);
    expect(await readdir(join(cache, 'ab'))).toEqual([live]);
    expect(lines.join('\n')).toMatch(/removed 3 leftover\(s\) of an interrupted run/);
    expect(lines.join('\n')).toMatch(/label +removed 3 temporary file\(s\)/);
  });
});
