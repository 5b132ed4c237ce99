// How far the offline heuristic labeler is from a teacher, on the failed runs of ../shared/corpus.
//
//   npx tsx bench/heuristic-vs-teacher.ts prompts [--out DIR]   # write the exact teacher prompt of each failed run
//   npx tsx bench/heuristic-vs-teacher.ts compare [--labels FILE] # heuristic vs the teacher's answers, per run
//
// Both commands run the real pipeline (ingest -> label, heuristic labeler) on the corpus with the
// bundled benchmark lists off (filter.decontaminate.benchmarks=[]): which runs are benchmark tasks says
// nothing about how well a labeler judges them, and most failed runs of the corpus are Verified tasks.
// `prompts` renders each failed run exactly as the label stage would send it (TeacherLabeler.prepare,
// prompt version hindsight-1, default limits); someone (a person, or a model acting as the teacher)
// answers each prompt in its answer format, one JSON line per run in the labels file:
//   {"run_id": "...", "task_id": "...", "steps": N, "values": [...], ...}
// `compare` then segments both curves with the default segment config and prints the figures of
// docs/label.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PipelineConfig, type PipelineRecord } from '../schemas/index.js';
import { runCommand } from '../src/cli/run.js';
import { loadTokenCounter } from '../src/core/tokenizer.js';
import { TeacherLabeler } from '../src/teacher/labeler.js';
import { BUILTIN_INSTRUCTIONS, BUILTIN_PROMPT_VERSION } from '../src/teacher/prompt.js';
import { decideSegment } from '../src/stages/segment/decide.js';
import { findPeak } from '../src/stages/segment/curve.js';
import { recordsOf } from '../test/helpers/records.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CORPUS = join(ROOT, '..', 'shared', 'corpus');
const DEFAULT_LABELS = join(ROOT, 'bench', 'teacher-labels', `corpus-${BUILTIN_PROMPT_VERSION}.jsonl`);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** The failed runs as the label stage sees them, with the heuristic's values, in pipeline order. */
async function failedRuns(): Promise<PipelineRecord[]> {
  if (!existsSync(CORPUS)) throw new Error(`${CORPUS} not found: this comparison needs the shared corpus.`);
  const out = join(tmpdir(), `trajpipe-heuristic-vs-teacher-${process.pid}`);
  await runCommand({ input: [CORPUS], out, set: ['filter.decontaminate.benchmarks=[]'], force: true, only: undefined, dryRun: false, quiet: true });
  // The label stage writes reference lines: read its records whole through the frame's reader.
  return (await recordsOf(out, 'label')).filter((r) => r.outcome.resolved === false && r.values !== null);
}

async function writePrompts(): Promise<void> {
  const dir = arg('--out', join(tmpdir(), 'trajpipe-teacher-prompts'));
  await mkdir(dir, { recursive: true });
  const config = PipelineConfig.parse({ name: 'compare', label: { teacher: { base_url: 'http://127.0.0.1:1/v1', model: 'teacher' } } });
  const labeler = new TeacherLabeler(config.label.teacher, BUILTIN_INSTRUCTIONS, await loadTokenCounter(config.tokenizer));
  const runs = await failedRuns();
  const index: string[] = [];
  for (const [n, r] of runs.entries()) {
    const p = labeler.prepare(r);
    if ('tooLong' in p) {
      console.log(`${r.id} ${r.task_id}: too long for the teacher (${p.tooLong} tokens), skipped`);
      continue;
    }
    const file = join(dir, `${String(n).padStart(2, '0')}-${r.id}.txt`);
    await writeFile(file, (p.messages as { role: string; content: string }[]).map((m) => `=== ${m.role} ===\n${m.content}`).join('\n\n') + '\n');
    index.push(`${file}\t${r.id}\t${r.task_id}\t${r.source.format}\t${p.steps} steps\t${p.promptTokens} tokens`);
  }
  await writeFile(join(dir, 'index.tsv'), index.join('\n') + '\n');
  console.log(index.join('\n'));
  console.log(`${index.length} prompts in ${dir}`);
}

/** Spearman's rho: Pearson correlation of the ranks (ties get their mean rank). */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  const rank = (xs: readonly number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? null : num / Math.sqrt(da * db);
}

interface TeacherLine {
  run_id: string;
  task_id: string;
  steps: number;
  values: number[];
}

async function compare(): Promise<void> {
  const file = arg('--labels', DEFAULT_LABELS);
  const lines = (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TeacherLine);
  const teacher = new Map(lines.map((l) => [l.run_id, l]));
  const config = PipelineConfig.parse({ name: 'compare' });
  const all = await failedRuns();
  const runs = all.filter((r) => teacher.has(r.id));
  const trained = (r: PipelineRecord, values: number[]) => {
    const d = decideSegment({ ...r, values: { ...r.values!, values } }, config.segment);
    return d.kind === 'train' ? d.segment.trained_steps : [];
  };
  const rows: string[][] = [];
  let steps = 0;
  let hTrained = 0;
  let tTrained = 0;
  let spanDiffers = 0;
  const distances: number[] = [];
  const rhos: number[] = [];
  for (const r of runs) {
    const t = teacher.get(r.id)!;
    if (t.values.length !== r.steps.length) throw new Error(`${r.id}: ${t.values.length} teacher values for ${r.steps.length} steps`);
    const h = r.values!.values;
    const hp = findPeak(h).step;
    const tp = findPeak(t.values).step;
    const hs = trained(r, h);
    const ts = trained(r, t.values);
    const rho = spearman(h, t.values);
    steps += r.steps.length;
    hTrained += hs.length;
    tTrained += ts.length;
    if (hs.join() !== ts.join()) spanDiffers++;
    distances.push(Math.abs(hp - tp));
    if (rho !== null) rhos.push(rho);
    rows.push([r.task_id.slice(0, 44), r.source.format, String(r.steps.length), String(hp), String(tp), String(Math.abs(hp - tp)), rho === null ? '-' : rho.toFixed(2), String(hs.length), String(ts.length)]);
  }
  const head = ['task', 'format', 'steps', 'h peak', 't peak', '|Δ|', 'rho', 'h trained', 't trained'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const pct = (x: number) => `${((100 * x) / steps).toFixed(0)}%`;
  console.log('');
  console.log(`runs compared: ${runs.length} (of ${lines.length} teacher lines), agent turns: ${steps}`);
  console.log(`peak distance (steps): mean ${(distances.reduce((a, b) => a + b, 0) / distances.length).toFixed(1)}, median ${median(distances)}, max ${Math.max(...distances)}`);
  console.log(`Spearman rho of the curves: mean ${(rhos.reduce((a, b) => a + b, 0) / rhos.length).toFixed(2)}, median ${median(rhos).toFixed(2)} (${rhos.length} runs)`);
  console.log(`failed-run turns trained: heuristic ${hTrained} (${pct(hTrained)}), teacher ${tTrained} (${pct(tTrained)})`);
  console.log(`runs whose trained span differs: ${spanDiffers} of ${runs.length}`);
  const allSteps = all.reduce((a, r) => a + r.steps.length, 0);
  const allTrained = all.reduce((a, r) => a + trained(r, r.values!.values).length, 0);
  console.log(`heuristic on all ${all.length} failed runs: ${allTrained} of ${allSteps} turns trained (${((100 * allTrained) / allSteps).toFixed(0)}%)`);
}

// Run as a script only (the tests import spearman).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = process.argv[2];
  if (cmd === 'prompts') await writePrompts();
  else if (cmd === 'compare') await compare();
  else {
    console.error('usage: npx tsx bench/heuristic-vs-teacher.ts prompts [--out DIR] | compare [--labels FILE]');
    process.exit(2);
  }
}
