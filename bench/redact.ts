// Redaction bench (npm run bench runs it; alone: npx tsx bench/redact.ts):
// 1. recall on a planted corpus: every secret type in every text field of a run, at the start, middle
//    and end of long observations, JSON-escaped inside tool-call arguments, and wrapped across lines;
// 2. false positives on the real public runs in ../shared/corpus (skipped when absent), each listed
//    with its context so a person can judge it;
// 3. the time redaction adds per MB of run text, on those runs and on the synthetic bench corpus
//    (TRAJPIPE_BENCH_CORPUS, default bench/out/corpus-300000000-1; skipped when absent), each record once
//    as ingest does it, with the prefilter and with the full scan it must equal (--reference also times
//    the full scan on the bench corpus). The machine's load average is printed with every figure.
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Trajectory } from '../schemas/index.js';
import { Redactor } from '../src/redact/record.js';
import { FIELDS, plantedRun, plantedSecrets } from './secrets.js';

const ROOT = resolve(import.meta.dirname, '..');
const redactor = new Redactor({ emails: false, allow: [] });
const fullScan = new Redactor({ emails: false, allow: [], prefilter: false });
const load = () => `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

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
  process.stdout.write(`\nredaction time: ${seconds.toFixed(2)} s for ${(bytes / 1e6).toFixed(1)} MB = ${((1000 * seconds) / (bytes / 1e6)).toFixed(1)} ms per MB (${(bytes / 1e6 / seconds).toFixed(1)} MB/s, one core; ${load()})\n`);
  // Each run once is what ingest does, but 0.03 s of work on a shared machine is noisy and holds one-off costs
  // (regexes compiled for two-byte strings, JIT): more passes, the two modes taking turns, and their medians.
  const passes = Number(process.env['TRAJPIPE_REDACT_PASSES'] ?? 7);
  const ms: Record<'prefilter' | 'full', number[]> = { prefilter: [], full: [] };
  for (let i = 0; i < passes; i++) {
    for (const [mode, r] of [['full', fullScan], ['prefilter', redactor]] as const) {
      const t0 = process.hrtime.bigint();
      for (const run of runs) await r.redactTrajectory(run);
      ms[mode].push(Number(process.hrtime.bigint() - t0) / 1e6 / (bytes / 1e6));
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  const show = (v: number[]) => `first ${v[0]!.toFixed(1)}, median of the other ${v.length - 1} ${median(v.slice(1)).toFixed(1)} ms per MB`;
  process.stdout.write(`  full scan (prefilter off), ${passes} passes: ${show(ms.full)}\n  prefilter on, ${passes} passes:              ${show(ms.prefilter)} (${load()})\n`);
}

async function benchCorpus(): Promise<void> {
  const dir = resolve(ROOT, process.env['TRAJPIPE_BENCH_CORPUS'] ?? 'bench/out/corpus-300000000-1');
  if (!existsSync(dir)) {
    process.stdout.write(`\nSKIPPED bench corpus: ${dir} not found (TRAJPIPE_BENCH_CORPUS names another)\n`);
    return;
  }
  const modes: [string, Redactor][] = [['prefilter on', redactor], ...(process.argv.includes('--reference') ? [['full scan (prefilter off)', fullScan] as [string, Redactor]] : [])];
  for (const [name, r] of modes) {
    let bytes = 0;
    let parse = 0n;
    let redact = 0n;
    let records = 0;
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
      for await (const line of createInterface({ input: createReadStream(join(dir, f)), crlfDelay: Infinity })) {
        if (!line) continue;
        bytes += Buffer.byteLength(line);
        const t0 = process.hrtime.bigint();
        const run = JSON.parse(line) as Trajectory;
        const t1 = process.hrtime.bigint();
        await r.redactTrajectory(run);
        redact += process.hrtime.bigint() - t1;
        parse += t1 - t0;
        records++;
      }
    }
    const mb = bytes / 1e6;
    const ms = (ns: bigint) => Number(ns) / 1e6;
    process.stdout.write(
      `\nbench corpus ${dir.replace(ROOT + '/', '')}, ${name}: ${records} records, ${mb.toFixed(0)} MB; redaction ${(ms(redact) / 1000).toFixed(2)} s = ${(ms(redact) / mb).toFixed(2)} ms per MB (JSON.parse ${(ms(parse) / mb).toFixed(2)} ms per MB); ${load()}\n`,
    );
  }
}

process.stdout.write(`redaction rule set: ${(await import('../src/redact/rules.js')).RULESET_VERSION}\n`);
await recall();
await falsePositives();
await benchCorpus();
