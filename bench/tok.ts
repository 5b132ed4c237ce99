/**
 * Token-counting throughput, reference counter vs fast counter, each from a cold memo.
 *
 *   npx tsx bench/tok.ts [--encoding o200k_base] [--reps 3] [--synth DIR] [--real DIR] [--only ref|fast]
 *
 * synth: canonical JSONL records (message content and tool-call arguments), default
 * bench/out/corpus-300000000-1. real: every distinct string of 64+ chars in the JSON/.traj/.jsonl files
 * under DIR, default ../shared/corpus. Counts of the two counters must agree; MB is UTF-16 chars / 1e6.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { referenceTiktokenCount, tiktokenCount } from '../src/core/tokenizer.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const encoding = opt('encoding', 'o200k_base') as 'o200k_base' | 'cl100k_base';
const reps = Number(opt('reps', '3'));
const only = opt('only', '');

function files(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out.sort();
}

function synthTexts(dir: string): string[] {
  const texts: string[] = [];
  for (const f of files(dir, (p) => p.endsWith('.jsonl'))) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as { messages: { content: string; tool_calls?: { function: { arguments: string } }[] }[] };
      for (const m of r.messages) {
        texts.push(m.content);
        for (const c of m.tool_calls ?? []) texts.push(c.function.arguments);
      }
    }
  }
  return texts;
}

function realTexts(dir: string): string[] {
  const seen = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= 64) seen.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const f of files(dir, (p) => /\.(json|traj|jsonl)$/.test(p))) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.jsonl')) text.split('\n').filter(Boolean).forEach((l) => walk(JSON.parse(l)));
    else walk(JSON.parse(text));
  }
  return [...seen];
}

function bench(label: string, texts: string[]): void {
  const chars = texts.reduce((a, t) => a + t.length, 0);
  console.log(`${label}: ${texts.length} texts, ${(chars / 1e6).toFixed(1)} M chars, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const kinds = { ref: referenceTiktokenCount, fast: tiktokenCount };
  const totals = new Map<string, number>();
  const times = new Map<string, number[]>();
  const cpus = new Map<string, number[]>(); // CPU time of the process: less sensitive than wall time to other load
  for (let r = 0; r < reps; r++) {
    for (const [name, make] of Object.entries(kinds)) {
      if (only && only !== name) continue;
      const count = make(encoding); // a cold memo every repetition
      count('warm up');
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let n = 0;
      for (const t of texts) n += count(t);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      (cpus.get(name) ?? cpus.set(name, []).get(name)!).push((cpu.user + cpu.system) / 1000);
      if (totals.has(name) && totals.get(name) !== n) throw new Error(`${name}: ${n} tokens, earlier ${totals.get(name)}`);
      totals.set(name, n);
      (times.get(name) ?? times.set(name, []).get(name)!).push(ms);
    }
  }
  for (const [name, ms] of times) {
    const best = Math.min(...ms);
    const cpu = cpus.get(name)!;
    console.log(
      `  ${name.padEnd(4)} ${totals.get(name)} tokens  wall ${ms.map((m) => m.toFixed(0)).join(' / ')} ms, best ${(chars / 1e3 / best).toFixed(1)} MB/s;` +
        `  cpu ${cpu.map((m) => m.toFixed(0)).join(' / ')} ms, best ${(chars / 1e3 / Math.min(...cpu)).toFixed(1)} MB/s`,
    );
  }
  if (times.size === 2) {
    const ratio = (m: Map<string, number[]>): string => (Math.min(...m.get('ref')!) / Math.min(...m.get('fast')!)).toFixed(2);
    console.log(`  speed-up (best of each): wall ${ratio(times)}x, cpu ${ratio(cpus)}x`);
  }
  if (totals.size === 2 && totals.get('ref') !== totals.get('fast')) throw new Error('the fast count differs from the reference');
  console.log(`  load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

referenceTiktokenCount(encoding)('load the vocabulary');
const synth = opt('synth', 'bench/out/corpus-300000000-1');
const real = opt('real', '../shared/corpus');
if (existsSync(real)) bench(`real ${real} (${encoding})`, realTexts(real));
else console.log(`SKIPPED real corpus (${real} not found)`);
if (synth !== 'none' && existsSync(synth)) bench(`synth ${synth} (${encoding})`, synthTexts(synth));
else console.log(`SKIPPED synthetic corpus (${synth} not found)`);
