// Redaction bench (npm run bench runs it; alone: npx tsx bench/redact.ts):
// 1. recall on a planted corpus: every secret type in every text field of a run, at the start, middle
//    and end of long observations, JSON-escaped inside tool-call arguments, and wrapped across lines;
// 2. false positives on the real public runs in ../shared/corpus (skipped when absent), each listed
//    with its context so a person can judge it;
// 3. the time redaction adds per MB of run text.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Trajectory } from '../schemas/index.js';
import { Redactor } from '../src/redact/record.js';
import { FIELDS, plantedRun, plantedSecrets } from './secrets.js';

const ROOT = resolve(import.meta.dirname, '..');
const redactor = new Redactor({ emails: false, allow: [] });
async function recall(): Promise<void> {
  const secrets = [...plantedSecrets(101), ...plantedSecrets(102)];
  const byType: Record<string, [number, number]> = {};
  const byField: Record<string, [number, number]> = {};
  let n = 0;
  for (const s of secrets) {
    for (const field of FIELDS) {
      const { value } = await redactor.redactTrajectory(plantedRun(s, field, n++));
      // The wrapped case leaks if any 80-column piece of the secret longer than 12 characters survives.
      const pieces = field === 'wrapped-80-cols' ? s.text.match(/.{1,80}/gs)!.flatMap((line) => (s.secret.includes(line.trim()) || line.includes(s.secret.slice(0, 12)) ? [line.trim()] : [])).filter((p) => p.length > 12) : [s.secret];
      const caught = !pieces.some((p) => JSON.stringify(value).includes(JSON.stringify(p).slice(1, -1)));
      for (const [map, key] of [[byType, s.type], [byField, field]] as const) {
        const c = (map[key] ??= [0, 0]);
        c[1]++;
        if (caught) c[0]++;
      }
    }
  }
  const show = (title: string, m: Record<string, [number, number]>) => {
    process.stdout.write(`\n${title.padEnd(22)}${'caught'.padStart(8)}${'planted'.padStart(9)}${'recall'.padStart(9)}\n`);
    for (const [k, [c, t]] of Object.entries(m)) process.stdout.write(`${k.padEnd(22)}${String(c).padStart(8)}${String(t).padStart(9)}${`${((100 * c) / t).toFixed(0)}%`.padStart(9)}\n`);
  };
  show('secret type', byType);
  show('where', byField);
}

async function falsePositives(): Promise<void> {
  const corpus = resolve(ROOT, '../shared/corpus');
  if (!existsSync(corpus)) {
    process.stdout.write(`\nSKIPPED false positives: ${corpus} not found\n`);
    return;
  }
  // Ingest the real runs with redaction off, then scan them as ingest would: every hit is a false
  // positive unless a person looking at its context says it is a real credential.
  const out = await mkdtemp(join(tmpdir(), 'trajpipe-redact-bench-'));
  const r = spawnSync(process.execPath, ['bin/trajpipe.js', 'run', '--input', corpus, '--out', out, '--only', 'ingest', '--quiet', '--set', 'ingest.redact.enabled=false'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const runs: Trajectory[] = [];
  let bytes = 0;
  for (const f of (await readdir(join(out, 'ingest'))).filter((f) => f.startsWith('part-')).sort()) {
    for (const line of (await readFile(join(out, 'ingest', f), 'utf8')).split('\n')) {
      if (!line) continue;
      bytes += Buffer.byteLength(line);
      runs.push(JSON.parse(line) as Trajectory);
    }
  }
  const started = process.hrtime.bigint();
  const hits: string[] = [];
  const counts: Record<string, number> = {};
  for (const run of runs) {
    const { value, counts: c } = await redactor.redactTrajectory(run);
    for (const [k, v] of Object.entries(c)) counts[k] = (counts[k] ?? 0) + v;
    if (value === run) continue;
    const text = JSON.stringify(value);
    for (const m of text.matchAll(/\[REDACTED:[a-z0-9-]+\]/g)) hits.push(`${run.source.file.replace(corpus, '…')}: ${JSON.stringify(text.slice(Math.max(0, m.index - 50), m.index + m[0].length + 30))}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`\nfalse positives on ../shared/corpus: ${runs.length} runs, ${(bytes / 1e6).toFixed(1)} MB of canonical records, ${hits.length} redaction(s) ${JSON.stringify(counts)}\n`);
  for (const h of hits.slice(0, 40)) process.stdout.write(`  ${h}\n`);
  process.stdout.write(`\nredaction time: ${seconds.toFixed(2)} s for ${(bytes / 1e6).toFixed(1)} MB = ${((1000 * seconds) / (bytes / 1e6)).toFixed(1)} ms per MB (${(bytes / 1e6 / seconds).toFixed(1)} MB/s, one core)\n`);
}

process.stdout.write(`redaction rule set: ${(await import('../src/redact/rules.js')).RULESET_VERSION}\n`);
await recall();
await falsePositives();
