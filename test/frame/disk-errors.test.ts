import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/runner/log.js';
import { readManifest, runPipeline } from '../../src/runner/runner.js';
import { systemErrorSentence } from '../../src/runner/errors.js';
import { STAGES } from '../../src/stages/index.js';
import { tempDir } from '../helpers/cli.js';

/** What a write to an open file throws on a full disk: a code and a syscall, but no path. */
function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

describe('file-system errors', () => {
  it('an injected ENOSPC in a stage is one sentence naming the folder and the cause; the stage keeps nothing', async () => {
    const out = await tempDir();
    const { config } = await loadConfig(null, ['name=t']);
    const stages = STAGES.map((s) =>
      s.name === 'dedup'
        ? {
            ...s,
            run: async (ctx: Parameters<typeof s.run>[0]) => {
              await writeFile(join(ctx.dir, 'half-written.bin'), 'x');
              throw enospc();
            },
          }
        : s,
    );
    const err = await runPipeline({ config, stages, outDir: out, inputFiles: ['data/sample/canonical/runs.jsonl'], options: { dryRun: false, quiet: true }, log: silentLogger }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^The dedup stage stopped and kept no output: cannot write ${out}/\\.dedup\\.partial-${process.pid}: no space left on the device \\(ENOSPC\\); free some space \\(or use another --out\\) and rerun the same command to resume at this stage\\.$`,
      ),
    );
    expect((await readdir(out)).sort()).toEqual(['filter', 'ingest']);
    expect(await readManifest(join(out, 'filter'))).not.toBeNull();
  });

  it('an error with a path names it; other codes keep their words', () => {
    const e = Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES', syscall: 'open', path: '/x/y' }) as NodeJS.ErrnoException & { code: string };
    expect(systemErrorSentence(e)).toBe('Cannot write /x/y: permission denied (EACCES).');
    const full = Object.assign(enospc(), { path: '/x/.lock.tmp' }) as NodeJS.ErrnoException & { code: string };
    expect(systemErrorSentence(full)).toBe('Cannot write /x/.lock.tmp: no space left on the device (ENOSPC); free some space (or use another --out) and rerun the same command.');
  });
});
