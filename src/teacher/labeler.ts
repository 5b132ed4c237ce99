import type { StepValues, Trajectory } from '../../schemas/index.js';
import type { TeacherConfig } from '../../schemas/config/label.js';
import { hashValue, sha256 } from '../core/hash.js';
import { countMessageTokens, type TokenCounter } from '../core/tokenizer.js';
import { answerJsonSchema, parseResponseBody } from './answer.js';
import { CACHE_FORMAT } from './cache.js';
import { TeacherRequestError, type ChatRequestBody } from './client.js';
import { BUILTIN_INSTRUCTIONS, BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME, compactionLadder, neutralise, promptVersionFor, renderPrompt } from './prompt.js';
import type { AnswerSource } from './requester.js';
import { summariseSamples } from './samples.js';

export type LabelResult =
  | { kind: 'labelled'; values: StepValues }
  | { kind: 'rejected'; reason: string; message: string; details?: Record<string, unknown> };

/** A run rendered and sized, ready to be asked about. */
export interface PreparedRun {
  steps: number;
  messages: ChatRequestBody['messages'];
  promptTokens: number;
  /** 0: configured head/tail only; higher: further compaction was needed. */
  compaction: number;
  clipped: number;
  /** The prompt version for this run's outcome (part of its cache keys and of its row). */
  promptVersion: string;
}

export interface RequestPlan {
  key: string;
  body: ChatRequestBody;
  expectedTokens: number;
  /** Answers this request should bring (n). */
  choices: number;
}

/** A rough completion size: a value is a few tokens, plus the JSON around them. */
export function expectedCompletionTokens(steps: number): number {
  return 16 + steps * 5;
}

/**
 * The rendered messages with a note closing the user message (not a second user message: some chat
 * templates refuse two user turns in a row) saying which attempt this is and what was wrong before.
 */
function withReaskNote(messages: ChatRequestBody['messages'], attempt: number, problem: string, steps: number): ChatRequestBody['messages'] {
  const last = messages[messages.length - 1] as { role: string; content: string };
  const note = `(Attempt ${attempt + 1}: the previous answer could not be used: ${neutralise(problem).slice(0, 300)}. Return only {"values": [...]} with exactly ${steps} numbers in [0, 1].)`;
  return [...messages.slice(0, -1), { ...last, content: `${last.content}\n\n${note}` }];
}

export class TeacherLabeler {
  readonly model: string;

  /**
   * `instructions` are for failed runs; unknown-outcome runs (labelled only with segment.unknown_outcome:
   * as-failed) get `unknownOutcomeInstructions`, by default the built-in ones when `instructions` are built in.
   */
  constructor(
    private readonly cfg: TeacherConfig,
    private readonly instructions: string,
    private readonly counter: TokenCounter,
    private readonly unknownOutcomeInstructions = instructions === BUILTIN_INSTRUCTIONS ? BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME : instructions,
  ) {
    if (!cfg.model) throw new Error('TeacherLabeler needs a model');
    this.model = cfg.model;
  }

  private get temperature(): number {
    return this.cfg.temperature ?? (this.cfg.samples > 1 ? 0.7 : 0);
  }

  /** Renders the run, compacting until it fits the prompt budget; null when even the most compact form does not. */
  prepare(record: Pick<Trajectory, 'task' | 'messages' | 'steps' | 'outcome'>): PreparedRun | { tooLong: number } {
    const ladder = compactionLadder({
      observationMaxChars: this.cfg.observation_max_chars,
      observationHeadChars: this.cfg.observation_head_chars,
      observationTailChars: this.cfg.observation_tail_chars,
      minChars: this.cfg.compact_min_chars,
    });
    let tokens = 0;
    const unknown = record.outcome.resolved === null;
    const instructions = unknown ? this.unknownOutcomeInstructions : this.instructions;
    const promptVersion = promptVersionFor(this.cfg.prompt_version, record.outcome.resolved);
    for (let level = 0; level < ladder.length; level++) {
      const rendered = renderPrompt({ instructions, record, clip: ladder[level]! });
      tokens = countMessageTokens(this.counter, rendered.messages);
      if (tokens <= this.cfg.max_prompt_tokens) {
        return { steps: record.steps.length, messages: rendered.messages, promptTokens: tokens, compaction: level, clipped: rendered.clipped, promptVersion };
      }
    }
    return { tooLong: tokens };
  }

  /**
   * The requests of one attempt. The key hashes the exact body (model, messages, parameters, schema) with
   * the prompt version; the sample and attempt numbers keep K separate requests and re-asks apart. A re-ask
   * tells the teacher what was wrong with the last answer, so its body differs: a deterministic server
   * would otherwise repeat the same invalid answer to the same bytes.
   */
  plan(run: PreparedRun, attempt: number, have: number, problem: string | null = null): RequestPlan[] {
    const need = this.cfg.samples - have;
    const perRequest = this.cfg.samples_mode === 'n' ? [need] : Array.from({ length: need }, () => 1);
    const messages = attempt > 0 ? withReaskNote(run.messages, attempt, problem ?? 'unknown problem', run.steps) : run.messages;
    return perRequest.map((n, j) => {
      const body: ChatRequestBody = { model: this.model, messages, temperature: this.temperature };
      if (n > 1) body.n = n;
      if (this.cfg.max_tokens !== null) body.max_tokens = this.cfg.max_tokens;
      if (this.cfg.response_format === 'json_schema') {
        body.response_format = { type: 'json_schema', json_schema: { name: 'step_values', strict: true, schema: answerJsonSchema(run.steps) } };
      } else if (this.cfg.response_format === 'json_object') {
        body.response_format = { type: 'json_object' };
      }
      const sample = this.cfg.samples_mode === 'n' ? have : have + j;
      const key = hashValue({ format: CACHE_FORMAT, prompt_version: run.promptVersion, body, sample, attempt });
      return { key, body, choices: n, expectedTokens: run.promptTokens + n * expectedCompletionTokens(run.steps) };
    });
  }

  /** Asks until K valid answers are in, re-asking at most max_invalid_retries times. */
  async label(run: PreparedRun, requester: AnswerSource): Promise<LabelResult> {
    const samples: number[][] = [];
    const keys: string[] = [];
    const problems: string[] = [];
    const K = this.cfg.samples;
    for (let attempt = 0; attempt <= this.cfg.max_invalid_retries && samples.length < K; attempt++) {
      const plans = this.plan(run, attempt, samples.length, problems[problems.length - 1] ?? null);
      let answers;
      try {
        answers = await Promise.all(plans.map((p) => requester.get(p.key, p.body, p.expectedTokens)));
      } catch (err) {
        if (!(err instanceof TeacherRequestError)) throw err;
        return {
          kind: 'rejected',
          reason: 'teacher-request-failed',
          message:
            err.kind === 'rejected'
              ? `The teacher refused this run's request (not retried): ${err.message}. If the endpoint does not support structured output, set label.teacher.response_format to json_object or none.`
              : `The teacher request failed after retries while the teacher answered other runs: ${err.message}.`,
          details: { kind: err.kind, status: err.status },
        };
      }
      answers.forEach((answer, i) => {
        const parsed = parseResponseBody(answer.raw, run.steps);
        const usable = parsed.choices.slice(0, plans[i]!.choices);
        if (parsed.choices.length < plans[i]!.choices) problems.push(`asked for ${plans[i]!.choices} answers, got ${parsed.choices.length}`);
        for (const choice of usable) {
          if (choice.ok && samples.length < K) {
            samples.push(choice.values);
            if (!keys.includes(plans[i]!.key)) keys.push(plans[i]!.key);
          } else if (!choice.ok) {
            problems.push(choice.error);
          }
        }
      });
    }
    if (samples.length < K) {
      return {
        kind: 'rejected',
        reason: 'teacher-invalid-answer',
        message: `The teacher gave ${samples.length} valid answer(s) of ${K} after ${this.cfg.max_invalid_retries + 1} attempt(s); last problem: ${problems[problems.length - 1] ?? 'none'}.`,
        details: { problems: problems.slice(-5), steps: run.steps },
      };
    }
    const summary = summariseSamples(samples);
    const flags: string[] = [];
    if (run.clipped > 0) flags.push('observations-shortened');
    if (run.compaction > 0) flags.push('compacted');
    const disagree = summary.peakDisagreement !== null && summary.peakDisagreement > this.cfg.peak_disagreement_steps;
    if (disagree) flags.push('samples-disagree');
    const values: StepValues = {
      labeler: 'teacher',
      model: this.model,
      prompt_version: run.promptVersion,
      values: summary.values,
      samples: K > 1 ? samples : null,
      spread: summary.spread,
      peak_disagreement: summary.peakDisagreement,
      flags,
      request_hash: keys.length === 1 ? keys[0]! : sha256(keys.join('\n')),
    };
    if (disagree && this.cfg.on_disagreement === 'drop') {
      return {
        kind: 'rejected',
        reason: 'samples-disagree',
        message: `The teacher's ${K} samples put the peak up to ${summary.peakDisagreement} steps apart (more than ${this.cfg.peak_disagreement_steps}).`,
        details: { peak_disagreement: summary.peakDisagreement, request_hash: values.request_hash },
      };
    }
    return { kind: 'labelled', values };
  }
}
