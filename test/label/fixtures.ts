import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE_ORDER, Trajectory, type Message, type Step, type PipelineRecord, type Reject, type StageManifest } from '../../schemas/index.js';
import { trajectoryId } from '../../src/core/ids.js';
import { loadConfig } from '../../src/config/load.js';
import { runPipeline, type StageOutcome } from '../../src/runner/runner.js';
import { silentLogger, type Logger } from '../../src/runner/log.js';
import type { Stage } from '../../src/runner/stage.js';
import { passThrough } from '../../src/stages/passthrough.js';
import { readLines } from '../../src/io/jsonl.js';
import { labelStage } from '../../src/stages/label/index.js';
import { recordsOf } from '../helpers/records.js';

export interface RunSpec {
  task: string;
  resolved?: boolean | null;
  steps?: number;
  /** Characters of observation per step. */
  observationChars?: number;
  failingTests?: string[] | null;
}

/** Log-like text of a given length (varied, like real output; not one repeated character). */
export function logText(chars: number, seed: number): string {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < chars; i++) {
    const line = `${seed}:${i} INFO worker-${(i * 7919) % 97} processed item ${(i * 104729) % 100003} in ${(i * 31) % 1000}ms`;
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n').slice(0, chars);
}

/** A small, valid canonical run: each step runs a shell command through a bash tool call and gets an answer. */
export function makeRun(spec: RunSpec, n = 0): Trajectory {
  const steps = spec.steps ?? 5;
  const messages: Message[] = [
    { role: 'system', content: 'You are a software engineer.' },
    { role: 'user', content: spec.task },
  ];
  const stepList: Step[] = [];
  for (let i = 0; i < steps; i++) {
    const last = i === steps - 1;
    const command = last ? null : i === 2 ? `sed -i 's/a/b/' src/m${n}.py` : `grep -rn thing${i} src`;
    const callId = `call_${n}_${i}`;
    messages.push({
      role: 'assistant',
      content: `Step ${i} thinking about run ${n}.`,
      tool_calls: [{ id: callId, type: 'function', function: { name: last ? 'submit' : 'bash', arguments: last ? '{}' : JSON.stringify({ command }) } }],
    });
    const obs = spec.observationChars ? logText(spec.observationChars, i) : i === 3 ? '1 failed, 2 passed' : `output ${i}`;
    messages.push({ role: 'tool', content: obs, tool_call_id: callId, name: last ? 'submit' : 'bash' });
    stepList.push({
      index: i,
      message_index: messages.length - 2,
      actions: [{ kind: last ? 'submit' : 'tool_call', name: last ? 'submit' : 'bash', command, arguments: last ? '{}' : JSON.stringify({ command }), tool_call_id: callId }],
      observation_indices: [messages.length - 1],
      flags: { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: last },
    });
  }
  const taskId = `acme__fake-${n}`;
  return Trajectory.parse({
    id: trajectoryId(taskId, 'canonical', messages),
    task_id: taskId,
    task: spec.task,
    source: { harness: 'canonical', format: 'canonical-1', file: 'runs.jsonl', record: n, teacher_model: null },
    messages,
    tools: null,
    steps: stepList,
    outcome: {
      resolved: spec.resolved === undefined ? false : spec.resolved,
      exit_status: 'submitted',
      submitted_patch: null,
      label_source: 'test',
      failing_tests: spec.failingTests ?? null,
    },
    meta: {},
  });
}

export async function tempDir(prefix = 'trajpipe-label-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeRuns(dir: string, runs: Trajectory[]): Promise<string> {
  const file = join(dir, 'runs.jsonl');
  await writeFile(file, runs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

/** Reads canonical JSON lines: the test pipeline's own ingest, so these tests do not depend on the real one. */
const testIngest: Stage = {
  name: 'ingest',
  summary: 'test ingest',
  version: 't',
  configSlice: () => null,
  async run(ctx) {
    for (const file of ctx.inputFiles) {
      for await (const line of readLines(file)) {
        ctx.countIn();
        await ctx.emit(Trajectory.parse(JSON.parse(line.text)));
      }
    }
  },
};
const pass = (name: Stage['name']): Stage => ({ name, summary: name, version: 't', configSlice: () => null, run: passThrough });

/** ingest -> label with the other stages passing records through. */
export const TEST_STAGES: Stage[] = STAGE_ORDER.map((name) => (name === 'ingest' ? testIngest : name === 'label' ? labelStage : pass(name)));

export interface LabelRun {
  outcomes: StageOutcome[];
  labelOutcome: StageOutcome | undefined;
  records: PipelineRecord[];
  rejects: Reject[];
  manifest: StageManifest | null;
}

export async function readJsonl<T>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export async function runLabelPipeline(opts: {
  input: string;
  out: string;
  sets: string[];
  dryRun?: boolean;
  force?: boolean;
  log?: Logger;
}): Promise<LabelRun> {
  const { config } = await loadConfig(null, ['name=t', ...opts.sets]);
  const outcomes = await runPipeline({
    config,
    stages: TEST_STAGES,
    outDir: opts.out,
    inputFiles: [opts.input],
    force: opts.force ?? false,
    options: { dryRun: opts.dryRun ?? false, quiet: true },
    log: opts.log ?? silentLogger,
  });
  const labelDir = join(opts.out, 'label');
  const records = await recordsOf(opts.out, 'label');
  const manifestText = await readFile(join(labelDir, 'manifest.json'), 'utf8').catch(() => null);
  return {
    outcomes,
    labelOutcome: outcomes.find((o) => o.stage === 'label'),
    records,
    rejects: await readJsonl<Reject>(join(labelDir, 'rejects.jsonl')),
    manifest: manifestText ? (JSON.parse(manifestText) as StageManifest) : null,
  };
}

/** Every file under a folder, recursively. */
export async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The environment variable the teacher tests put their (fake) API key in. */
export const TEST_KEY_ENV = 'TRAJPIPE_TEST_TEACHER_KEY';

/** --set values pointing label at a (fake) teacher with fast retries; later `extra` values win. */
export function teacherSets(url: string, cache: string, extra: string[] = [], limits: { timeout_s?: number; concurrency?: number } = {}): string[] {
  return [
    `label.teacher.base_url=${url}`,
    'label.teacher.model=fake',
    `label.cache_dir=${cache}`,
    `label.teacher.api_key_env=${TEST_KEY_ENV}`,
    `label.limits.timeout_s=${limits.timeout_s ?? 1}`,
    'label.limits.backoff_base_s=0.01',
    'label.limits.backoff_max_s=0.05',
    'label.limits.max_retries=3',
    `label.limits.concurrency=${limits.concurrency ?? 4}`,
    ...extra,
  ];
}

/** A temporary folder with the runs of `specs` written as canonical JSON lines, and where cache and output go. */
export async function setUpRuns(specs: RunSpec[]) {
  const dir = await tempDir();
  const runs = specs.map((s, i) => makeRun(s, i));
  const input = await writeRuns(dir, runs);
  return { dir, runs, input, cache: join(dir, 'cache'), out: join(dir, 'out') };
}
