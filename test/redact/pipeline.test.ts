import { afterEach, describe, expect, it } from 'vitest';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reject, StageManifest } from '../../schemas/index.js';
import { plantedSecrets, type PlantedSecret } from '../../bench/secrets.js';
import { openShard } from '../../src/io/parquet/read.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startFakeTeacher, type FakeTeacher } from '../label/fake-teacher.js';
import { makeRun } from '../label/fixtures.js';

// Plants every kind of secret into every text field of failed and resolved runs, runs the whole
// pipeline against a fake teacher, and looks for the secrets everywhere they could leak: the teacher's
// requests, every file of the run folder (Parquet shards decompressed), the cache and stderr.

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

function plantedRuns(secrets: PlantedSecret[]): string {
  const lines: string[] = [];
  secrets.forEach((s, n) => {
    const run = makeRun({ task: `Fix the deploy script of service ${n}; it fails with exit code ${n + 1}.`, steps: 6, resolved: n % 3 === 0 }, n);
    const where = n % 5; // task, observation (start, middle, end), tool-call arguments and meta in turn
    const long = (i: number) => `${'ok '.repeat(2000)}${i}`;
    const messages = run.messages.map((m, i) => {
      if (m.role === 'tool' && i === 3) {
        const obs = where === 1 ? `${s.text}\n${long(i)}` : where === 2 ? `${long(i)}\n${s.text}\n${long(i + 1)}` : where === 3 ? `${long(i)}\n${s.text}` : m.content;
        return { ...m, content: obs };
      }
      if (m.role === 'assistant' && i === 4 && where === 4) {
        return { ...m, reasoning_content: `Set it with ${s.text}`, tool_calls: [{ ...m.tool_calls![0]!, function: { name: 'bash', arguments: JSON.stringify({ command: s.text }) } }] };
      }
      return m;
    });
    lines.push(JSON.stringify({ ...run, task: where === 0 ? `${run.task}\nEnvironment: ${s.text}` : run.task, messages, meta: { shell_env: s.text } }));
  });
  return lines.join('\n') + '\n';
}

async function everyText(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    if (p.endsWith('.parquet')) {
      const rows: unknown[] = [];
      for await (const r of (await openShard(p)).rows()) rows.push(r);
      out.push({ file: p, text: JSON.stringify(rows) });
    } else out.push({ file: p, text: await readFile(p, 'utf8') });
  }
  return out;
}

describe('secrets planted in runs', () => {
  it('reach neither the teacher nor any file of the run, and are counted per type', async () => {
    fake = await startFakeTeacher();
    const dir = await tempDir();
    const secrets = [...plantedSecrets(21), ...plantedSecrets(22)];
    const input = join(dir, 'runs.jsonl');
    await writeFile(input, plantedRuns(secrets));
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const r = await runCli([
      'run', '--input', input, '--out', out, '--quiet',
      '--set', `label.cache_dir=${cache}`, '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false',
      '--teacher-base-url', fake.url, '--teacher-model', 'fake',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    const bodies = fake.requests.map((q) => JSON.stringify(q.body));
    const files = [...(await everyText(out)), ...(await everyText(cache)), { file: 'stderr', text: r.stderr + r.stdout }];
    for (const s of secrets) {
      if (bodies.some((b) => b.includes(s.secret))) leaks.push(`${s.type} in a teacher request`);
      for (const f of files) if (f.text.includes(s.secret)) leaks.push(`${s.type} in ${f.file}`);
    }
    expect(leaks).toEqual([]);
    expect(bodies.some((b) => b.includes('[REDACTED:'))).toBe(true);

    const ingest = JSON.parse(await readFile(join(out, 'ingest/manifest.json'), 'utf8')) as StageManifest;
    const counts = ingest.stats.redactions as Record<string, number>;
    for (const type of new Set(secrets.map((s) => s.type))) expect(counts[type], type).toBeGreaterThanOrEqual(2);
    expect(ingest.stats.runs_redacted).toBe(secrets.length);
    const card = await readFile(join(out, 'export/README.md'), 'utf8');
    expect(card).toContain('aws-secret-key');
  });

  it('in reject mode drop the run with a reason that names the types, never the values', async () => {
    const dir = await tempDir();
    const secrets = plantedSecrets(31).slice(0, 4);
    const input = join(dir, 'runs.jsonl');
    await writeFile(input, plantedRuns(secrets) + JSON.stringify(makeRun({ task: 'A clean run with nothing to hide.' }, 99)) + '\n');
    const out = join(dir, 'out');
    const r = await runCli(['run', '--input', input, '--out', out, '--quiet', '--only', 'ingest', '--set', 'ingest.redact.mode=reject']);
    expect(r.code, r.stderr).toBe(0);
    const ingest = JSON.parse(await readFile(join(out, 'ingest/manifest.json'), 'utf8')) as StageManifest;
    expect(ingest.records_out).toBe(1);
    expect(ingest.dropped).toEqual({ 'contains-secret': 4 });
    const rejects = (await readFile(join(out, 'ingest/rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Reject);
    expect(rejects[0]!.message).toMatch(/holds 2 secret\(s\) \(aws-access-key\)/);
    const all = (await everyText(out)).map((f) => f.text).join('\n');
    for (const s of secrets) expect(all).not.toContain(s.secret);
  });

  it('a change of the redaction config reruns ingest', async () => {
    const dir = await tempDir();
    const input = join(dir, 'runs.jsonl');
    await writeFile(input, plantedRuns(plantedSecrets(41).slice(0, 2)));
    const out = join(dir, 'out');
    const base = ['run', '--input', input, '--out', out, '--only', 'ingest'];
    expect((await runCli(base)).code).toBe(0);
    const again = await runCli(base);
    expect(again.stderr).toMatch(/ingest\s+up to date/);
    const changed = await runCli([...base, '--set', `ingest.redact.allow=['${plantedSecrets(41)[0]!.secret}']`]);
    expect(changed.stderr).not.toMatch(/ingest\s+up to date/);
    const part = await readFile(join(out, 'ingest/part-00000.jsonl'), 'utf8');
    expect(part).toContain(plantedSecrets(41)[0]!.secret);
  });
});
