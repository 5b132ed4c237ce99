// Deterministic synthetic corpus shaped like real agent runs: 20-200 turns, observations from
// 100 bytes to 20 KB (log-uniform), tool calls, a mix of resolved and failed runs, distinct tasks.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Message, Step, Trajectory } from '../schemas/index.js';
import { trajectoryId } from '../src/core/ids.js';

export interface SynthOptions {
  dir: string;
  targetBytes: number;
  seed?: number;
  minTurns?: number;
  maxTurns?: number;
  minObsBytes?: number;
  maxObsBytes?: number;
  /** Records per JSONL file. */
  perFile?: number;
}

export interface SynthResult {
  files: string[];
  records: number;
  bytes: number;
}

/** Small, fast, seedable PRNG: the benches and tests need the same corpus on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the a parser config value error test file function return module import class field index cache request response buffer stream token path option default null list map key string number array object schema record batch retry timeout limit offset page size order filter merge split join format encode decode read write open close flush sync lock queue worker thread process signal socket server client handler route query table column row commit branch patch diff assert expect raise except'.split(
    ' ',
  );

/** A pool of pseudo-text to slice observations from, so generating a GB stays fast. */
function textPool(rand: () => number, bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = WORDS[Math.floor(rand() * WORDS.length)]!;
    const sep = rand() < 0.08 ? '\n' : ' ';
    parts.push(w, sep);
    n += w.length + 1;
  }
  return parts.join('');
}

export function makeTrajectory(rand: () => number, pool: string, i: number, file: string, record: number, opts: Required<Omit<SynthOptions, 'dir' | 'targetBytes' | 'seed' | 'perFile'>>): Trajectory {
  const taskId = `synth__repo${i % 97}-${i}`;
  const words = Array.from({ length: 40 + Math.floor(rand() * 60) }, () => WORDS[Math.floor(rand() * WORDS.length)]!);
  const task = `Issue ${i}: ${words.join(' ')}.`;
  const turns = opts.minTurns + Math.floor(rand() * (opts.maxTurns - opts.minTurns + 1));
  const messages: Message[] = [
    { role: 'system', content: 'You are a software engineering agent. Use the tools to fix the issue, then submit.' },
    { role: 'user', content: task },
  ];
  const steps: Step[] = [];
  const logMin = Math.log(opts.minObsBytes);
  const logMax = Math.log(opts.maxObsBytes);
  for (let t = 0; t < turns; t++) {
    const last = t === turns - 1;
    const callId = `call_${i}_${t}`;
    const name = last ? 'submit' : 'bash';
    const command = last ? null : `grep -rn "${WORDS[Math.floor(rand() * WORDS.length)]}" src | head -${1 + Math.floor(rand() * 50)}`;
    const args = command === null ? '{}' : JSON.stringify({ command });
    const think = pool.slice(Math.floor(rand() * 1000), Math.floor(rand() * 1000) + 80 + Math.floor(rand() * 400));
    messages.push({ role: 'assistant', content: think, tool_calls: [{ id: callId, type: 'function', function: { name, arguments: args } }] });
    const obsLen = Math.floor(Math.exp(logMin + rand() * (logMax - logMin)));
    const start = Math.floor(rand() * (pool.length - obsLen - 1));
    messages.push({ role: 'tool', content: pool.slice(start, start + obsLen), tool_call_id: callId, name });
    steps.push({
      index: t,
      message_index: messages.length - 2,
      actions: [{ kind: last ? 'submit' : 'tool_call', name, command, arguments: args, tool_call_id: callId }],
      observation_indices: [messages.length - 1],
      flags: { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: last },
    });
  }
  const resolved = rand() < 0.7;
  return {
    id: trajectoryId(taskId, 'canonical', messages),
    task_id: taskId,
    task,
    source: { harness: 'canonical', format: 'canonical-1', file, record, teacher_model: 'synthetic-teacher' },
    messages,
    tools: null,
    steps,
    outcome: { resolved, exit_status: 'submitted', submitted_patch: `diff --git a/src/m${i}.py b/src/m${i}.py\n`, label_source: 'synthetic', failing_tests: resolved ? null : ['tests/test_synth.py::test_case'] },
    meta: { synthetic: true },
  };
}

/** Writes canonical JSONL files until targetBytes is reached. */
export async function synthesizeCorpus(options: SynthOptions): Promise<SynthResult> {
  const opts = { minTurns: 20, maxTurns: 200, minObsBytes: 100, maxObsBytes: 20_000, ...options };
  const rand = mulberry32(options.seed ?? 1);
  const pool = textPool(rand, Math.max(opts.maxObsBytes * 4, 1 << 20));
  await mkdir(opts.dir, { recursive: true });
  const perFile = opts.perFile ?? 500;
  const files: string[] = [];
  let bytes = 0;
  let records = 0;
  let out: ReturnType<typeof createWriteStream> | null = null;
  while (bytes < opts.targetBytes) {
    if (records % perFile === 0) {
      if (out) {
        out.end();
        await once(out, 'close');
      }
      const file = join(opts.dir, `synth-${String(files.length).padStart(4, '0')}.jsonl`);
      files.push(file);
      out = createWriteStream(file);
    }
    const line = JSON.stringify(makeTrajectory(rand, pool, records, files[files.length - 1]!, records % perFile, opts)) + '\n';
    bytes += Buffer.byteLength(line);
    records++;
    if (!out!.write(line)) await once(out!, 'drain');
  }
  if (out) {
    out.end();
    await once(out, 'close');
  }
  return { files, records, bytes };
}
