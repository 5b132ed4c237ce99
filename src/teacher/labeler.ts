import type { StepValues, Trajectory } from '../../schemas/index.js';
import type { TeacherConfig } from '../../schemas/config/label.js';
import { hashValue, sha256 } from '../core/hash.js';
import { countMessageTokens, type TokenCounter } from '../core/tokenizer.js';
import { answerJsonSchema, parseResponseBody, parseVerdictBody, verdictJsonSchema } from './answer.js';
import { CACHE_FORMAT } from './cache.js';
import { TeacherRequestError, type ChatRequestBody } from './client.js';
import {
  BUILTIN_INSTRUCTIONS,
  BUILTIN_INSTRUCTIONS_RESOLVED_OUTCOME,
  BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME,
  BUILTIN_VERDICT_INSTRUCTIONS,
  compactionLadder,
  neutralise,
  promptVersionFor,
  renderPrompt,
  type RequestKind,
} from './prompt.js';
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
  /** The verdict request's messages (same trajectory, same compaction), or null when verdicts are not asked. */
  verdictMessages: ChatRequestBody['messages'] | null;
  /** The verdict request's version for this run's outcome, or null. */
  verdictVersion: string | null;
}

export type VerdictResult = { kind: 'judged'; verdicts: boolean[]; key: string } | Extract<LabelResult, { kind: 'rejected' }>;

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

/** A verdict is one short word. */
export function expectedVerdictTokens(steps: number): number {
  return 16 + steps * 2;
}

/** The outcome-specific instructions of each request (the configured ones for failed runs). */
export interface Instructions {
  failed: string;
  unknown?: string;
  resolved?: string;
  verdicts?: string;
}

/**
 * The rendered messages with a note closing the user message (not a second user message: some chat
 * templates refuse two user turns in a row) saying which attempt this is and what was wrong before.
 */
function withReaskNote(messages: ChatRequestBody['messages'], attempt: number, problem: string, steps: number, kind: RequestKind = 'values'): ChatRequestBody['messages'] {
  const last = messages[messages.length - 1] as { role: string; content: string };
  const expected = kind === 'values' ? `{"values": [...]} with exactly ${steps} numbers in [0, 1]` : `{"verdicts": [...]} with exactly ${steps} booleans`;
  const note = `(Attempt ${attempt + 1}: the previous answer could not be used: ${neutralise(problem).slice(0, 300)}. Return only ${expected}.)`;
  return [...messages.slice(0, -1), { ...last, content: `${last.content}\n\n${note}` }];
}

/** A request that failed for the run's own reasons rejects the run. */
function requestFailed(err: TeacherRequestError, what: string): Extract<LabelResult, { kind: 'rejected' }> {
  return {
    kind: 'rejected',
    reason: 'teacher-request-failed',
    message:
      err.kind === 'rejected'
        ? `The teacher refused this run's ${what} (not retried): ${err.message}. If the endpoint does not support structured output, set label.teacher.response_format to json_object or none.`
        : `The teacher ${what} failed after retries while the teacher answered other runs: ${err.message}.`,
    details: { kind: err.kind, status: err.status },
  };
}

export class TeacherLabeler {
  readonly model: string;

  private readonly unknownOutcomeInstructions: string;
  private readonly resolvedOutcomeInstructions: string;
  private readonly verdictInstructions: string;

  /**
   * `instructions` are for failed runs; unknown-outcome runs (labelled only with segment.unknown_outcome:
   * as-failed) and resolved ones (calibration) get their own wording, by default the built-in ones when
   * `instructions` are built in, else the same instructions (only the <outcome> block differs).
   */
  constructor(
    private readonly cfg: TeacherConfig,
    private readonly instructions: string,
    private readonly counter: TokenCounter,
    more: Omit<Instructions, 'failed'> = {},
  ) {
    if (!cfg.model) throw new Error('TeacherLabeler needs a model');
    this.model = cfg.model;
    const builtIn = instructions === BUILTIN_INSTRUCTIONS;
    this.unknownOutcomeInstructions = more.unknown ?? (builtIn ? BUILTIN_INSTRUCTIONS_UNKNOWN_OUTCOME : instructions);
    this.resolvedOutcomeInstructions = more.resolved ?? (builtIn ? BUILTIN_INSTRUCTIONS_RESOLVED_OUTCOME : instructions);
    this.verdictInstructions = more.verdicts ?? BUILTIN_VERDICT_INSTRUCTIONS;
  }

  private get temperature(): number {
    return this.cfg.temperature ?? (this.cfg.samples > 1 ? 0.7 : 0);
  }

  /**
   * Renders the run, compacting until it fits the prompt budget (both requests, when verdicts are asked);
   * `{ tooLong }` when even the most compact form does not. A pure function of the record and the config:
   * the live path and a batch path build the same requests from it (with plan / planVerdicts).
   */
  prepare(record: Pick<Trajectory, 'task' | 'messages' | 'steps' | 'outcome'>, opts: { verdicts?: boolean } = {}): PreparedRun | { tooLong: number } {
    const ladder = compactionLadder({
      observationMaxChars: this.cfg.observation_max_chars,
      observationHeadChars: this.cfg.observation_head_chars,
      observationTailChars: this.cfg.observation_tail_chars,
      minChars: this.cfg.compact_min_chars,
    });
    let tokens = 0;
    const resolved = record.outcome.resolved;
    const instructions = resolved === null ? this.unknownOutcomeInstructions : resolved ? this.resolvedOutcomeInstructions : this.instructions;
    const promptVersion = promptVersionFor(this.cfg.prompt_version, resolved);
    for (let level = 0; level < ladder.length; level++) {
      const rendered = renderPrompt({ instructions, record, clip: ladder[level]! });
      tokens = countMessageTokens(this.counter, rendered.messages);
      const verdict = opts.verdicts ? renderPrompt({ instructions: this.verdictInstructions, record, clip: ladder[level]!, ask: 'verdicts' }) : null;
      if (verdict) tokens = Math.max(tokens, countMessageTokens(this.counter, verdict.messages));
      if (tokens <= this.cfg.max_prompt_tokens) {
        return {
          steps: record.steps.length,
          messages: rendered.messages,
          promptTokens: tokens,
          compaction: level,
          clipped: rendered.clipped,
          promptVersion,
          verdictMessages: verdict?.messages ?? null,
          verdictVersion: verdict ? promptVersionFor(this.cfg.verdict_prompt_version, resolved) : null,
        };
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

  /**
   * The verdict request of one attempt (null when the run asks none): one answer, temperature 0 unless set,
   * the same structured output, re-ask note and cache as the values request, under its own version.
   */
  planVerdicts(run: PreparedRun, attempt: number, problem: string | null = null): RequestPlan | null {
    if (!run.verdictMessages || !run.verdictVersion) return null;
    const messages = attempt > 0 ? withReaskNote(run.verdictMessages, attempt, problem ?? 'unknown problem', run.steps, 'verdicts') : run.verdictMessages;
    const body: ChatRequestBody = { model: this.model, messages, temperature: this.cfg.temperature ?? 0 };
    if (this.cfg.max_tokens !== null) body.max_tokens = this.cfg.max_tokens;
    if (this.cfg.response_format === 'json_schema') {
      body.response_format = { type: 'json_schema', json_schema: { name: 'step_verdicts', strict: true, schema: verdictJsonSchema(run.steps) } };
    } else if (this.cfg.response_format === 'json_object') {
      body.response_format = { type: 'json_object' };
    }
    const key = hashValue({ format: CACHE_FORMAT, prompt_version: run.verdictVersion, request: 'verdicts', body, sample: 0, attempt });
    return { key, body, choices: 1, expectedTokens: run.promptTokens + expectedVerdictTokens(run.steps) };
  }

  /** Every request a run needs when nothing is invalid: the values request(s), then the verdict request. */
  firstPlans(run: PreparedRun): { kind: RequestKind; plan: RequestPlan }[] {
    const verdicts = this.planVerdicts(run, 0);
    return [...this.plan(run, 0, 0).map((plan) => ({ kind: 'values' as const, plan })), ...(verdicts ? [{ kind: 'verdicts' as const, plan: verdicts }] : [])];
  }

  /** Asks for the values and, when the run asks them, the verdicts (at once); a run missing either is rejected. */
  async label(run: PreparedRun, requester: AnswerSource): Promise<LabelResult> {
    const [values, verdicts] = await Promise.all([this.labelValues(run, requester), run.verdictMessages ? this.judgeSteps(run, requester) : null]);
    if (values.kind === 'rejected' || verdicts === null) return values;
    if (verdicts.kind === 'rejected') return verdicts;
    return { kind: 'labelled', values: { ...values.values, verdicts: verdicts.verdicts, verdict_prompt_version: run.verdictVersion } };
  }

  /** Asks for one valid verdict answer, re-asking at most max_invalid_retries times. */
  async judgeSteps(run: PreparedRun, requester: AnswerSource): Promise<VerdictResult> {
    const problems: string[] = [];
    for (let attempt = 0; attempt <= this.cfg.max_invalid_retries; attempt++) {
      const plan = this.planVerdicts(run, attempt, problems[problems.length - 1] ?? null)!;
      let answer;
      try {
        answer = await requester.get(plan.key, plan.body, plan.expectedTokens);
      } catch (err) {
        if (!(err instanceof TeacherRequestError)) throw err;
        return requestFailed(err, 'verdict request');
      }
      const choice = parseVerdictBody(answer.raw, run.steps)[0]!;
      if (choice.ok) return { kind: 'judged', verdicts: choice.verdicts, key: plan.key };
      problems.push(choice.error);
    }
    return {
      kind: 'rejected',
      reason: 'teacher-invalid-verdicts',
      message: `The teacher gave no valid per-step verdicts after ${this.cfg.max_invalid_retries + 1} attempt(s); last problem: ${problems[problems.length - 1] ?? 'none'}.`,
      details: { problems: problems.slice(-5), steps: run.steps },
    };
  }

  /** Asks until K valid answers are in, re-asking at most max_invalid_retries times. */
  async labelValues(run: PreparedRun, requester: AnswerSource): Promise<LabelResult> {
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
        return requestFailed(err, 'request');
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
