import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

// README: "a log line every 10 s otherwise" (not a terminal). Ingest reads its own inputs, so the line
// must come from the clock, not from record counts: here ingest spends its time skipping one big line
// (no record counted yet) and still logs. The interval is shortened through TRAJPIPE_PROGRESS_INTERVAL_MS.

describe('ingest progress on a non-terminal', () => {
  it('logs while one big file is being read, before any record is counted', async () => {
    const dir = await tempDir('trajpipe-progress-');
    await cp('data/sample/native/hf/swe-smith-style.jsonl', join(dir, 'b-good.jsonl'));
    const fh = await open(join(dir, 'a-big.jsonl'), 'w');
    const block = Buffer.alloc(8 << 20, 'x');
    for (let i = 0; i < 24; i++) await fh.write(block); // 192 MB, one line
    await fh.write('\n');
    await fh.close();
    const out = await tempDir('trajpipe-progress-out-');
    const r = await runCli(['run', '--input', dir, '--out', out, '--only', 'ingest', '--set', 'ingest.max_line_bytes=1048576'], {
      TRAJPIPE_PROGRESS_INTERVAL_MS: '5',
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('[ingest] '));
    expect(lines.length, r.stderr).toBeGreaterThan(1);
    expect(lines[0]).toMatch(/^\[ingest\] 0 in, 0 out, 0 dropped, [\d.]+ records\/s$/);
    expect(r.stderr).toMatch(/^ingest +3 in -> 2 out, 1 dropped \(line-too-large: 1\)/m);
  }, 120_000);
});
