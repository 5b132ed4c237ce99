import type { Action, Harness, Message, StepFlags } from '../../schemas/index.js';

/** Why a record could not be read: a kebab-case reason for rejects.jsonl and a sentence for people. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What an adapter knows about one message beyond its chat form. Assistant turns carry their parsed
 * actions; observation turns carry what the harness told the model (timeouts, clipping, format errors).
 */
export interface MessageNote {
  /** Part of a demonstration: kept as context, never a step. */
  demo?: boolean;
  /** Not the answer to any step (e.g. an error whose model turn the log lost). */
  detached?: boolean;
  actions?: Action[];
  flags?: Partial<StepFlags>;
}

/** A label carried inside the record itself (dataset flags, evaluation results in the run file). */
export interface InlineLabel {
  resolved: boolean | null;
  source: string;
  failing_tests?: string[] | null;
}

/** What an adapter produces: everything of a Trajectory except the id and the joined outcome. */
export interface Draft {
  harness: Harness;
  format: string;
  /** null when the record does not say; the stage then falls back to the file name. */
  task_id: string | null;
  task: string;
  teacher_model: string | null;
  messages: Message[];
  /** notes[i] describes messages[i]. */
  notes: MessageNote[];
  tools: Record<string, unknown>[] | null;
  exit_status: string | null;
  submitted_patch: string | null;
  inline_label: InlineLabel | null;
  meta: Record<string, unknown>;
}

export interface AdapterContext {
  /** Path of the input file, as recorded. */
  file: string;
  /** 0-based record number inside the file. */
  record: number;
  /** Column names for chat datasets (null = try the usual names). */
  dataset: { messages_column: string | null; resolved_column: string | null; task_id_column: string | null };
}

export interface FormatAdapter {
  /** Matches the ingest.format config value that forces this adapter. */
  readonly name: 'swe-agent' | 'mini-swe-agent' | 'openhands-completions' | 'openhands-events' | 'chat-dataset';
  /** Cheap shape test on a parsed value. */
  detect(value: unknown, ctx: AdapterContext): boolean;
  /** Throws FormatError for a malformed record. */
  convert(value: unknown, ctx: AdapterContext): Draft;
}

export type Json = Record<string, unknown>;

/**
 * A message the reader cannot place (not an object, or a role no chat template knows). It is not
 * skipped: the conversation would then differ from what the model saw, and a tool result could lose its
 * call. `where` names the record and the message ("Record 0 of f.json, history[7]").
 */
export function unplaceableMessage(where: string, m: unknown): FormatError {
  const what = isObject(m) ? `has role ${JSON.stringify(m.role ?? m.from) ?? 'undefined'}, which is not system, user, assistant or tool` : `is ${JSON.stringify(m) ?? String(m)}, not a message`;
  return new FormatError('malformed-message', `${where} ${what}; the record is rejected rather than read without it.`);
}

/** "Record 3 of f.json, messages[7]": where a message is, for reject messages. */
export function messageAt(ctx: AdapterContext, list: string, i: number): string {
  return `Record ${ctx.record} of ${ctx.file}, ${list}[${i}]`;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
