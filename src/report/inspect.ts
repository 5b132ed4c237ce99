import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { STAGE_ORDER, type PipelineRecord, type Reject } from '../../schemas/index.js';
import { UserError } from '../core/errors.js';
import { readLines } from '../io/jsonl.js';
import { outcomeOf, readManifests } from './collect.js';
import { stageRecords } from '../runner/records.js';
import { shorten } from './runs.js';

export interface InspectOptions {
  /** Characters of each message shown; observations over fold are shown as one line. */
  messageChars: number;
  foldChars: number;
}

const DEFAULTS: InspectOptions = { messageChars: 600, foldChars: 400 };

/** A run's curve as rows of text: P marks the peak, X the critical mistake, T the trained steps, ^ the cut. */
export function textChart(r: PipelineRecord, height = 8): string {
  const values = r.values?.values;
  if (!values || values.length === 0) return '(no curve: ' + (outcomeOf(r) === 'resolved' ? 'resolved runs are trained whole)' : 'not labelled)');
  const seg = r.segment;
  const col = 4;
  const rowOf = (v: number) => Math.round((1 - v) * (height - 1));
  const lines: string[] = [];
  for (let row = 0; row < height; row++) {
    const label = row % 2 === 0 ? (1 - row / (height - 1)).toFixed(1) : '   ';
    let line = `${label} |`;
    values.forEach((v, i) => {
      const mark = i === seg?.peak_step ? 'P' : i === seg?.critical_step ? 'X' : '*';
      line += (rowOf(v) === row ? mark : ' ').padStart(col);
    });
    lines.push(line.trimEnd());
  }
  lines.push('    +' + '-'.repeat(values.length * col + 2));
  lines.push('step ' + values.map((_, i) => String(i).padStart(col)).join(''));
  const trained = new Set(seg?.trained_steps ?? []);
  lines.push('loss ' + values.map((_, i) => (trained.has(i) ? 'T' : '-').padStart(col)).join(''));
  if (seg && trained.size > 0 && seg.cut_after != null) {
    const last = Math.max(...trained);
    lines.push(' '.repeat(5 + (last + 1) * col + 1) + `^ cut: messages after #${seg.cut_after} are not exported`);
  }
  return lines.join('\n');
}

/** The cut and why, in sentences, from segment's fields. */
export function describeCut(r: PipelineRecord): string {
  const seg = r.segment;
  if (!seg) return 'Not segmented (the run did not reach the segment stage).';
  const outcome = outcomeOf(r);
  if (outcome === 'resolved') return `Resolved: every agent turn is trained (messages ${seg.train_start}–${seg.train_end}).`;
  const parts: string[] = [];
  if (seg.peak_step != null) parts.push(`peak at step ${seg.peak_step} (${seg.peak_value?.toFixed(3)})`);
  if (seg.critical_step != null) parts.push(`critical mistake at step ${seg.critical_step} (the value falls ${seg.critical_drop?.toFixed(3)})`);
  const steps = seg.trained_steps;
  parts.push(steps.length ? `trained steps ${Math.min(...steps)}–${Math.max(...steps)} (messages ${seg.train_start}–${seg.train_end})` : 'no step trained');
  parts.push(seg.cut_after != null ? `messages after #${seg.cut_after} are not exported` : 'every message is exported (later turns masked)');
  const shape = seg.shape ? `Curve shape ${seg.shape}: ` : '';
  return `${shape}${parts.join('; ')}.${seg.note ? ` Note: ${seg.note}` : ''}`;
}

export function formatRun(r: PipelineRecord, opts: Partial<InspectOptions> = {}): string {
  const o = { ...DEFAULTS, ...opts };
  const seg = r.segment;
  const trainedSteps = new Set(seg?.trained_steps ?? []);
  const stepOf = new Map(r.steps.map((s) => [s.message_index, s.index]));
  const out: string[] = [];
  out.push(`run ${r.id}  task ${r.task_id}  ${r.source.harness} (${r.source.format})  outcome ${outcomeOf(r)}`);
  out.push(`file ${r.source.file} record ${r.source.record}  teacher ${r.source.teacher_model ?? '-'}  labeler ${r.values?.labeler ?? '-'}${r.values?.model ? ` (${r.values.model})` : ''}`);
  out.push('', textChart(r), '', describeCut(r), '', `messages (${r.messages.length}; [T] trained, [ ] not trained, x not exported):`);
  r.messages.forEach((m, i) => {
    const step = stepOf.get(i);
    const mark = m.role === 'assistant' ? (step !== undefined && trainedSteps.has(step) ? '[T]' : '[ ]') : '   ';
    const cut = seg?.cut_after != null && i > seg.cut_after ? 'x' : ' ';
    const calls = (m.tool_calls ?? []).map((c) => `${c.function.name}(${c.function.arguments})`);
    const text = [m.content, ...calls].filter(Boolean).join('\n');
    const head = `${cut}${mark} #${i} ${m.role}${step !== undefined ? ` step ${step}` : ''}`;
    const folded = (m.role === 'tool' || m.role === 'user') && text.length > o.foldChars;
    const body = folded ? `${text.split('\n')[0]!.slice(0, 100)} … (${text.length} chars, folded)` : shorten(text, o.messageChars);
    out.push(head + ': ' + body.replace(/\n/g, '\n        '));
  });
  return out.join('\n') + '\n';
}

/** Finds a run by id (or an unambiguous id prefix) in the last stage holding it; null when absent. */
export async function findRun(runDir: string, id: string): Promise<{ record: PipelineRecord; stage: string } | null> {
  const manifests = await readManifests(runDir);
  for (const stage of [...STAGE_ORDER].reverse()) {
    const m = manifests.get(stage);
    if (!m || stage === 'export') continue;
    const hits: PipelineRecord[] = [];
    // Ids are picked from each line; only a match is parsed whole.
    for await (const l of stageRecords({ manifest: m, dir: join(runDir, stage) }, { fields: ['id'] })) {
      if (l.ok && l.record.id.startsWith(id)) hits.push(await l.whole());
    }
    if (hits.length > 1) throw new UserError(`${id} matches ${hits.length} runs at ${stage}; give more of the id.`);
    if (hits.length === 1) return { record: hits[0]!, stage };
  }
  return null;
}

/** Where a run was dropped, from the rejects of every stage: the sentences naming it. */
export async function findRejects(runDir: string, id: string): Promise<Reject[]> {
  const out: Reject[] = [];
  for (const stage of STAGE_ORDER) {
    const files = await readdir(join(runDir, stage)).catch(() => [] as string[]);
    if (!files.includes('rejects.jsonl')) continue;
    for await (const line of readLines(join(runDir, stage, 'rejects.jsonl'))) {
      const r = JSON.parse(line.text) as Reject;
      if (r.id?.startsWith(id)) out.push(r);
    }
  }
  return out;
}

export async function inspectRun(runDir: string, id: string, opts: Partial<InspectOptions> = {}): Promise<string> {
  if (!/^[0-9a-f]{4,24}$/.test(id)) throw new UserError(`${id} is not a run id (24 hex digits, or at least the first 4).`);
  const found = await findRun(runDir, id);
  const rejects = await findRejects(runDir, id);
  if (!found && rejects.length === 0) throw new UserError(`No run ${id} in ${runDir}.`);
  let text = found ? formatRun(found.record, opts) : '';
  if (found && found.stage !== 'segment') text = `(last seen at ${found.stage})\n` + text;
  for (const r of rejects) text += `dropped at ${r.stage} (${r.reason}): ${r.message}\n`;
  return text;
}
