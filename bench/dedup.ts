// Filter + dedup logic at scale: synthesizes N trajectories (100K by default) on the fly, streams them
// through the real filter rules (with the real tokenizer) and the dedup planner in two passes, as the
// stages do, and prints records/s and peak RSS. Records are regenerated for the second pass, never
// held: what stays in memory is what the stages keep (per-task and per-run summaries).
//
//   npx tsx bench/dedup.ts [--records 100000] [--tasks 25000]
import { pathToFileURL } from 'node:url';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineConfig, type Message, type PipelineRecord, type Step } from '../schemas/index.js';
import { sha256 } from '../src/core/hash.js';
import { applyRules, buildRules, emptyRuleStats } from '../src/stages/filter/index.js';
import { DedupPlanner } from '../src/stages/dedup/planner.js';
import { mulberry32 } from './synth.js';

export interface DedupBenchOptions {
  records?: number;
  /** Distinct task ids (several runs per task). */
  tasks?: number;
  seed?: number;
  perTaskCap?: number | null;
  log?: (line: string) => void;
}

export interface DedupBenchResult {
  records: number;
  tasks: number;
  seconds: number;
  /** Without the time spent synthesizing records. */
  logicSeconds: number;
  recordsPerSecond: number;
  peakRssMb: number;
  bytesMb: number;
  filterDropped: Record<string, number>;
  dedupDropped: Record<string, number>;
  kept: number;
}

const SYLLABLES = 'ka lo mi nu pe ra si to vu xe ba de fi go hu ja ke li mo na po qu re su ti va we yo za'.split(' ');
/** 3,000 made-up words: unrelated statements share few shingles, as real issues do. */
const VOCAB = (() => {
  const rnd = mulberry32(7);
  const words = new Set<string>();
  while (words.size < 3000) {
    const n = 2 + Math.floor(rnd() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
})();

function sentence(rnd: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(VOCAB[Math.floor(rnd() * VOCAB.length)]!);
  return out.join(' ');
}

/** Observation and reasoning text are slices of one pre-made 4 MB text: synthesis must not dominate the bench. */
const POOL = sentence(mulberry32(11), 600_000);
function slice(rnd: () => number, bytes: number): string {
  const start = Math.floor(rnd() * (POOL.length - bytes - 1));
  return POOL.slice(start, start + bytes);
}

/**
 * The statement of task t. About 10% of tasks are near-copies of an earlier task (a few words
 * changed), 5% exact copies in other case and layout, the rest unrelated.
 */
function statementOf(t: number, seed: number): string {
  const rnd = mulberry32(seed * 1_000_003 + t);
  const kind = rnd();
  if (t > 10 && kind < 0.05) return statementOf(Math.floor(rnd() * t), seed).toUpperCase().replace(/ /g, '  ');
  if (t > 10 && kind < 0.15) {
    const words = statementOf(Math.floor(rnd() * t), seed).toLowerCase().split(/\s+/);
    words[Math.floor(rnd() * words.length)] = VOCAB[Math.floor(rnd() * VOCAB.length)]!;
    return words.join(' ');
  }
  return sentence(rnd, 60 + Math.floor(rnd() * 200));
}

let lastLong = false;

/** Record i, rebuilt identically on every call (the second pass regenerates instead of storing). */
function makeRecord(i: number, tasks: number, seed: number): PipelineRecord {
  const rnd = mulberry32(seed * 7919 + i);
  const t = Math.floor(rnd() * tasks);
  const taskId = `bench${t % 97}__repo${t % 13}-${t}`;
  const task = statementOf(t, seed);
  const resolved = rnd() < 0.3;
  const nSteps = 8 + Math.floor(rnd() * 30);
  const messages: Message[] = [
    { role: 'system', content: 'You are a software engineer in a sandbox.' },
    { role: 'user', content: task },
  ];
  const steps: Step[] = [];
  // 2% of runs loop; 3% are exact replays of another run of the same task (same commands).
  const loops = rnd() < 0.02;
  const replay = rnd() < 0.03;
  const cmdRnd = replay ? mulberry32(t) : rnd;
  const longObs = rnd() < 0.002;
  for (let s = 0; s < nSteps; s++) {
    const command = loops && s > 2 && s < 9 ? 'python -m pytest -x' : `${['grep -rn', 'sed -n', 'python', 'cat'][Math.floor(cmdRnd() * 4)]} ${VOCAB[Math.floor(cmdRnd() * VOCAB.length)]}`;
    const callId = `c${s}`;
    messages.push({ role: 'assistant', content: slice(rnd, 30 + Math.floor(rnd() * 200)), tool_calls: [{ id: callId, type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command }) } }] });
    // One run in 500 has a 40 KB observation: over the byte bound, so the real tokenizer counts it.
    const obsBytes = longObs && s === 1 ? 40_000 : 50 + Math.floor(Math.exp(rnd() * Math.log(3000)));
    messages.push({ role: 'tool', content: slice(rnd, obsBytes), tool_call_id: callId, name: 'bash' });
    steps.push({
      index: s,
      message_index: messages.length - 2,
      actions: [{ kind: 'tool_call', name: 'bash', command, arguments: JSON.stringify({ command }), tool_call_id: callId }],
      observation_indices: [messages.length - 1],
      flags: { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: false },
    });
  }
  const exit = rnd();
  lastLong = longObs;
  return {
    // Ingest computes real ids from content (trajectoryId); hashing every message here would only time the bench itself.
    id: sha256(`bench:${seed}:${i}`).slice(0, 24),
    task_id: taskId,
    task,
    source: { harness: 'canonical', format: 'bench', file: 'bench', record: i, teacher_model: null },
    messages,
    tools: [{ type: 'function', function: { name: 'bash' } }],
    steps,
    outcome: {
      resolved,
      exit_status: exit < 0.05 ? 'exit_cost' : exit < 0.07 ? 'RetryError' : 'submitted',
      submitted_patch: 'diff --git a/x b/x',
      label_source: 'bench',
      failing_tests: null,
    },
    meta: {},
  };
}

export async function runDedupBench(opts: DedupBenchOptions = {}): Promise<DedupBenchResult> {
  const n = opts.records ?? 100_000;
  const tasks = opts.tasks ?? Math.max(1, Math.floor(n / 4));
  const seed = opts.seed ?? 1;
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));

  // A held-out list: 500 ids, 1% of the bench tasks among them.
  const dir = await mkdtemp(join(tmpdir(), 'trajpipe-bench-dedup-'));
  const ids = join(dir, 'held-out.ids');
  await writeFile(ids, Array.from({ length: 500 }, (_, k) => (k < 250 ? `bench${k % 97}__repo${k % 13}-${k * 100}` : `other__repo-${k}`)).join('\n') + '\n');
  const config = PipelineConfig.parse({ name: 'bench', filter: { decontaminate: { ids: [ids] } }, dedup: { per_task_cap: opts.perTaskCap === undefined ? 4 : opts.perTaskCap } });
  // Each rule's check is timed, so the report shows where filter time goes (the tokenizer, mostly).
  const ruleMs: Record<string, number> = {};
  const rules = (await buildRules(config)).map((rule) => ({
    ...rule,
    check: (r: PipelineRecord) => {
      const t0 = performance.now();
      const v = rule.check(r);
      ruleMs[rule.name] = (ruleMs[rule.name] ?? 0) + performance.now() - t0;
      return v;
    },
  }));
  let tokenized = 0;
  let dedupMs = 0;
  const ruleStats = emptyRuleStats(config);
  const planner = new DedupPlanner(config.dedup);
  const filterKept = new Uint8Array(n);
  const filterDropped: Record<string, number> = {};
  const dedupDropped: Record<string, number> = {};

  let peakRss = process.memoryUsage().rss;
  const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let bytes = 0;
  let synthMs = 0;
  const synth = (i: number) => {
    const t0 = performance.now();
    const r = makeRecord(i, tasks, seed);
    synthMs += performance.now() - t0;
    return r;
  };

  // Pass 1: filter, and the dedup signatures of what the filter keeps.
  for (let i = 0; i < n; i++) {
    const r = synth(i);
    if (lastLong) tokenized++;
    for (const m of r.messages) bytes += m.content.length;
    const hit = applyRules(rules, r, ruleStats);
    if (hit) filterDropped[hit.verdict.reason] = (filterDropped[hit.verdict.reason] ?? 0) + 1;
    else {
      filterKept[i] = 1;
      const t0 = performance.now();
      planner.observe(r);
      dedupMs += performance.now() - t0;
    }
    if (i % 5000 === 0) sample();
  }
  const pass1 = (performance.now() - started) / 1000;
  const t0 = performance.now();
  planner.finalize();
  dedupMs += performance.now() - t0;
  sample();

  // Pass 2: decisions for the records the filter kept, regenerated in the same order.
  let position = 0;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (!filterKept[i]) continue;
    const r = synth(i);
    const t1 = performance.now();
    const d = planner.decision(position++, r);
    dedupMs += performance.now() - t1;
    if (d.keep) kept++;
    else dedupDropped[d.reason!] = (dedupDropped[d.reason!] ?? 0) + 1;
    if (i % 5000 === 0) sample();
  }
  const seconds = (performance.now() - started) / 1000;
  const logicSeconds = seconds - synthMs / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await rm(dir, { recursive: true, force: true });
  // maxRSS (KiB) covers peaks between samples too.
  const peakRssMb = Math.max(peakRss / 2 ** 20, process.resourceUsage().maxRSS / 1024);

  const result: DedupBenchResult = {
    records: n,
    tasks: planner.taskCount,
    seconds,
    logicSeconds,
    recordsPerSecond: n / logicSeconds,
    peakRssMb,
    bytesMb: bytes / 2 ** 20,
    filterDropped,
    dedupDropped,
    kept,
  };
  log(`filter+dedup logic: ${n} synthetic trajectories (${result.bytesMb.toFixed(0)} MB of message text, ${planner.taskCount} distinct tasks), node ${process.version}`);
  log(`  wall ${seconds.toFixed(1)} s (pass 1 ${pass1.toFixed(1)} s; process CPU ${cpuSeconds.toFixed(1)} s), of which synthesizing records ${(synthMs / 1000).toFixed(1)} s`);
  log(`  time per filter rule (s): ${Object.entries(ruleMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')}; dedup planner ${(dedupMs / 1000).toFixed(1)} s`);
  log(`  filter + dedup logic: ${logicSeconds.toFixed(1)} s for 2 passes = ${result.recordsPerSecond.toFixed(0)} records/s; peak RSS ${peakRssMb.toFixed(0)} MB (limit: well under 2048 MB)`);
  log(`  filter dropped: ${JSON.stringify(filterDropped)}; runs with a 40 KB observation the tokenizer had to count: ${tokenized}`);
  log(`  dedup dropped: ${JSON.stringify(dedupDropped)}; kept ${kept}; LSH comparisons ${planner.comparisons}`);
  log(`  (records are generated in memory: JSON parsing and part-file writing are measured by npm run bench per stage)`);
  return result;
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDedupBench({ records: argValue('records'), tasks: argValue('tasks') }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
