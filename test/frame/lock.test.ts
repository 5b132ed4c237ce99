import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, currentHolder, processStartTime } from '../../src/runner/lock.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A real process that takes the lock of dir and holds it until killed; resolves once it holds it. */
async function holdLockInChild(dir: string): Promise<ChildProcess> {
  const code = `const { acquireLock } = await import('./src/runner/lock.ts'); await acquireLock(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('exit', (c) => reject(new Error(`lock holder exited with ${c}`)));
  });
  return child;
}

/** A live process that is not trajpipe: its pid is what a stale lock may name after pid reuse. */
function unrelatedProcess(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

describe('output folder lock', () => {
  it('is written whole: the lock file names the holder by pid, start time, host and a random token', async () => {
    const dir = await tempDir();
    const release = await acquireLock(dir);
    const lock = JSON.parse(await readFile(join(dir, '.lock'), 'utf8'));
    expect(lock).toEqual({ pid: process.pid, start_time: processStartTime(process.pid), host: hostname(), token: currentHolder().token });
    expect(lock.token).toMatch(/^[0-9a-f]{16}$/);
    expect((await readdir(dir)).filter((e) => e !== '.lock')).toEqual([]); // no temporary file left
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('two attempts at the same moment: exactly one gets it', async () => {
    const dir = await tempDir();
    const results = await Promise.allSettled([acquireLock(dir), acquireLock(dir), acquireLock(dir)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/Another trajpipe run \(pid \d+ on .*\) is writing to/);
  });

  it('a lock being created by an older trajpipe (empty, just now) is not taken as stale', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.lock'), '');
    await expect(acquireLock(dir)).rejects.toThrow(/Another trajpipe run is writing to/);
  });

  it('an empty lock that stayed empty is stale and taken over', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.lock'), '');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, '.lock'), old, old);
    const release = await acquireLock(dir);
    await release();
  });

  it('a stale lock naming a live unrelated process (pid reused) is taken over, in the new and the old format', async () => {
    const other = unrelatedProcess();
    const pid = other.pid!;
    const dir = await tempDir();
    // New format: same pid, but another start time than the process that now has it.
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid, start_time: '1', host: hostname(), token: 'deadbeefdeadbeef' }));
    await (await acquireLock(dir))();
    // Old format: a bare pid, now running `sleep`, not trajpipe.
    await writeFile(join(dir, '.lock'), String(pid));
    await (await acquireLock(dir))();
  });

  it('a lock of another host is not taken over, and the message says how to clear it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: 1, start_time: '1', host: 'elsewhere.example', token: 'deadbeefdeadbeef' }));
    await expect(acquireLock(dir)).rejects.toThrow(/locked by a trajpipe run on host elsewhere\.example .* delete .*\.lock/);
  });

  it('two real processes on one output folder: the second run refuses with one sentence and exit 1, and runs once the first is gone', async () => {
    const out = await tempDir();
    const holder = await holdLockInChild(out);
    const second = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet']);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(
      `trajpipe: Another trajpipe run (pid ${holder.pid} on ${hostname()}) is writing to ${out}; wait for it to finish or use another --out.`,
    );
    expect((await readdir(out)).sort()).toEqual(['.lock']); // nothing written by the refused run
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const third = await runCli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet']);
    expect(third.code).toBe(0);
    expect(await readdir(out)).not.toContain('.lock');
  });
});
