import type { PipelineRecord, ReportConfig } from '../../schemas/index.js';

/** One message as the page shows it: shortened, with its training mark. */
export interface ReportMessage {
  role: string;
  /** Content (tool calls appended as `name(arguments)`), shortened to its head and tail. */
  text: string;
  /** Original length in characters, so the page can say how much was left out. */
  chars: number;
  /** true: trained assistant turn; false: untrained assistant turn; null: not an assistant turn. */
  trained: boolean | null;
  /** Agent step of an assistant turn, else null. */
  step: number | null;
  /** Left out of the export (after cut_after). */
  cut: boolean;
}

export interface ReportRun {
  id: string;
  task_id: string;
  harness: string;
  teacher_model: string | null;
  outcome: 'resolved' | 'failed' | 'unknown';
  file: string;
  steps: number;
  labeler: string | null;
  values: number[] | null;
  smoothed: number[] | null;
  shape: string | null;
  peak_step: number | null;
  peak_value: number | null;
  critical_step: number | null;
  critical_drop: number | null;
  trained_steps: number[];
  train_start: number | null;
  train_end: number | null;
  cut_after: number | null;
  note: string | null;
  messages: ReportMessage[] | null;
}

export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil(max * 0.6);
  const tail = max - head;
  return `${text.slice(0, head)}\n[… ${text.length - head - tail} characters left out …]\n${text.slice(text.length - tail)}`;
}

function messageText(m: PipelineRecord['messages'][number]): string {
  const calls = (m.tool_calls ?? []).map((c) => `${c.function.name}(${c.function.arguments})`);
  return [m.content, ...calls].filter((s) => s !== '').join('\n');
}

/** A segment part record reduced to what the page needs; cfg null leaves the messages out. */
export function toReportRun(r: PipelineRecord, cfg: ReportConfig | null): ReportRun {
  const seg = r.segment ?? null;
  const stepOfMessage = new Map(r.steps.map((s) => [s.message_index, s.index]));
  const trained = new Set(seg?.trained_steps ?? []);
  const cutAfter = seg?.cut_after ?? null;
  const messages = cfg
    ? r.messages.map((m, i): ReportMessage => {
        const step = stepOfMessage.get(i) ?? null;
        const full = messageText(m);
        return {
          role: m.role,
          text: shorten(full, cfg.message_chars),
          chars: full.length,
          trained: m.role === 'assistant' ? step !== null && trained.has(step) : null,
          step,
          cut: cutAfter !== null && i > cutAfter,
        };
      })
    : null;
  return {
    id: r.id,
    task_id: r.task_id,
    harness: r.source.harness,
    teacher_model: r.source.teacher_model,
    outcome: r.outcome.resolved === true ? 'resolved' : r.outcome.resolved === false ? 'failed' : 'unknown',
    file: r.source.file,
    steps: r.steps.length,
    labeler: r.values?.labeler ?? null,
    values: r.values?.values ?? null,
    smoothed: seg?.smoothed ?? null,
    shape: seg?.shape ?? null,
    peak_step: seg?.peak_step ?? null,
    peak_value: seg?.peak_value ?? null,
    critical_step: seg?.critical_step ?? null,
    critical_drop: seg?.critical_drop ?? null,
    trained_steps: seg?.trained_steps ?? [],
    train_start: seg?.train_start ?? null,
    train_end: seg?.train_end ?? null,
    cut_after: cutAfter,
    note: seg?.note ?? null,
    messages,
  };
}
