import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test makes its temporary folders under os.tmpdir(); pointing TMPDIR at one folder per test run
 * (inherited by the workers and the CLI processes they start) lets the run remove them all at the end,
 * so repeated runs on one machine do not fill its disk.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'trajpipe-tests-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    if (!process.env['TRAJPIPE_KEEP_TEST_TMP']) rmSync(root, { recursive: true, force: true });
  };
}
