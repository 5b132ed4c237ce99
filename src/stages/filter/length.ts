import { Buffer } from 'node:buffer';
import type { LengthConfig } from '../../../schemas/config/filter.js';
import type { Message, PipelineRecord } from '../../../schemas/index.js';
import { countMessageTokens, PER_MESSAGE_OVERHEAD, type TokenCounter } from '../../core/tokenizer.js';
import { trainingMessageCount } from '../../core/training-text.js';
import { observationText, type FilterRule, type Verdict } from './rule.js';

/**
 * A token never covers less than one byte of text (plus one for a tokenizer's dummy prefix), so a
 * text whose UTF-8 size is within a limit is within it in tokens too: the tokenizer then need not run.
 * This is a bound, not an estimate: anything that might exceed a limit is counted for real.
 */
function tokenBound(text: string): number {
  return Buffer.byteLength(text, 'utf8') + 1;
}

/** The texts of one message that count, in countMessageTokens' order. */
function messageTexts(m: Message): string[] {
  const texts = [m.content];
  if (m.reasoning_content) texts.push(m.reasoning_content);
  for (const c of m.tool_calls ?? []) texts.push(c.function.name, c.function.arguments);
  return texts;
}

function conversationBound(messages: readonly Message[]): number {
  let n = 0;
  for (const m of messages) {
    n += PER_MESSAGE_OVERHEAD;
    for (const t of messageTexts(m)) n += tokenBound(t);
  }
  return n;
}

/**
 * countMessageTokens, message by message, stopping as soon as the limit is passed: tokenizing a
 * long run costs real time, and the exact excess does not change the verdict.
 */
export function countUntil(counter: TokenCounter, messages: readonly Message[], limit: number): number {
  let n = 0;
  for (const m of messages) {
    n += countMessageTokens(counter, [m]);
    if (n > limit) break;
  }
  return n;
}

/**
 * What the rule must count for one record, as plain strings: the observations that the byte bound
 * cannot clear, and the conversation's texts when its bound is over the limit. Built in the main thread
 * (cheap); counted where the pool says (the costly part), so a worker receives strings, not the record.
 */
export interface LengthQuestion {
  maxObservationTokens: number | null;
  observations: { step: number; text: string }[];
  maxTokens: number | null;
  /** Per message, its texts; null when the conversation's bound is within max_tokens. */
  conversation: string[][] | null;
}

export type LengthAnswer =
  | { kind: 'observation'; step: number; tokens: number }
  | { kind: 'conversation'; tokens: number }
  | null;

/** The max_steps verdict, or the question for the token limits (null: nothing needs counting). */
export function lengthQuestion(cfg: LengthConfig, record: PipelineRecord): { verdict: Verdict } | { question: LengthQuestion | null } {
  // Only training text counts: what follows the final submit (a diff echoed back, a `git diff` the
  // harness printed) is never exported, so it cannot make a run too long to train on.
  const upTo = trainingMessageCount(record);
  if (cfg.max_steps !== null && record.steps.length > cfg.max_steps) {
    return {
      verdict: {
        reason: 'too-many-steps',
        message: `it has ${record.steps.length} assistant turns, more than the limit of ${cfg.max_steps}`,
        details: { steps: record.steps.length, limit: cfg.max_steps },
      },
    };
  }
  const observations: LengthQuestion['observations'] = [];
  if (cfg.max_observation_tokens !== null) {
    for (const step of record.steps) {
      if (step.observation_indices.every((i) => i >= upTo)) continue; // the submit's answer, or no observation
      const text = observationText(record, step);
      if (tokenBound(text) > cfg.max_observation_tokens) observations.push({ step: step.index, text });
    }
  }
  const messages = record.messages.slice(0, upTo);
  const conversation = cfg.max_tokens !== null && conversationBound(messages) > cfg.max_tokens ? messages.map(messageTexts) : null;
  if (observations.length === 0 && conversation === null) return { question: null };
  return { question: { maxObservationTokens: cfg.max_observation_tokens, observations, maxTokens: cfg.max_tokens, conversation } };
}

/**
 * What counting found, kept across runs (ctx.measurements): the tokens of each observation counted, and of
 * each message counted, in order (`complete`: every message was). None of it depends on the limits, so a
 * rerun with other limits decides from it whenever it covers the question.
 */
/** Bump when what is counted changes (texts, overhead, key): older counts are then not used. */
// 2: keyed by record id alone, the training text's message count kept in the entry (n).
export const LENGTH_COUNTS_VERSION = '2';

export interface LengthCounts {
  o: [step: number, tokens: number][];
  m: number[];
  complete: boolean;
}

/** What the store keeps per record id: the counts, for the training text of n messages. */
export interface StoredCounts extends LengthCounts {
  n: number;
}

/** Counts what the question asks, in the rule's order, stopping at the first limit passed. Runs in a worker or inline. */
export function answerLength(counter: TokenCounter, q: LengthQuestion): LengthAnswer {
  return countLength(counter, q).answer;
}

/** answerLength, with the counts it made. */
export function countLength(counter: TokenCounter, q: LengthQuestion): { answer: LengthAnswer; counts: LengthCounts } {
  const counts: LengthCounts = { o: [], m: [], complete: false };
  for (const { step, text } of q.observations) {
    const tokens = counter.count(text);
    counts.o.push([step, tokens]);
    if (tokens > q.maxObservationTokens!) return { answer: { kind: 'observation', step, tokens }, counts };
  }
  if (q.conversation && q.maxTokens !== null) {
    let n = 0;
    for (const texts of q.conversation) {
      let m = PER_MESSAGE_OVERHEAD;
      for (const t of texts) m += counter.count(t);
      counts.m.push(m);
      n += m;
      if (n > q.maxTokens) return { answer: { kind: 'conversation', tokens: n }, counts };
    }
    counts.complete = true;
  }
  return { answer: null, counts };
}

/** The answer from earlier counts when they cover the question (the same answer counting gives), else undefined. */
export function answerFromCounts(q: LengthQuestion, c: LengthCounts): LengthAnswer | undefined {
  const seen = new Map(c.o);
  for (const { step } of q.observations) {
    const tokens = seen.get(step);
    if (tokens === undefined) return undefined;
    if (tokens > q.maxObservationTokens!) return { kind: 'observation', step, tokens };
  }
  if (q.conversation && q.maxTokens !== null) {
    if (c.m.length > q.conversation.length) return undefined;
    let n = 0;
    for (const m of c.m) {
      n += m;
      if (n > q.maxTokens) return { kind: 'conversation', tokens: n };
    }
    if (!c.complete || c.m.length !== q.conversation.length) return undefined;
  }
  return null;
}

/** Earlier counts and these, as one entry (observations by step; the longer run of message counts). */
function mergeCounts(old: LengthCounts | undefined, add: LengthCounts): LengthCounts {
  if (!old) return add;
  const o = new Map(old.o);
  for (const [step, t] of add.o) o.set(step, t);
  const m = add.complete || add.m.length > old.m.length ? add : old;
  return { o: [...o].sort((a, b) => a[0] - b[0]), m: m.m, complete: m.complete };
}

/** Where the rule keeps its counts between runs (the frame's MeasurementStore, or anything alike). */
export interface CountStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

function verdictOf(cfg: LengthConfig, counterName: string, a: LengthAnswer): Verdict | null {
  if (!a) return null;
  if (a.kind === 'observation') {
    const limit = cfg.max_observation_tokens!;
    return {
      reason: 'observation-too-long',
      message: `the observation of step ${a.step} is ${a.tokens} tokens (${counterName}), more than the limit of ${limit}`,
      details: { step: a.step, tokens: a.tokens, limit, tokenizer: counterName },
    };
  }
  return {
    reason: 'too-many-tokens',
    message: `its conversation is over ${a.tokens} tokens (${counterName}), more than the limit of ${cfg.max_tokens}`,
    details: { tokens_at_least: a.tokens, limit: cfg.max_tokens, tokenizer: counterName },
  };
}

/** The length rule; with a store, counts made before for the same record (and training text) are used instead of counting. */
export function lengthRule(cfg: LengthConfig, counter: TokenCounter, store?: CountStore): FilterRule {
  return {
    name: 'length',
    applyTo: cfg.apply_to,
    check(record) {
      const asked = lengthQuestion(cfg, record);
      if ('verdict' in asked) return asked.verdict;
      if (!asked.question) return null;
      const q = asked.question;
      if (!store) return verdictOf(cfg, counter.name, answerLength(counter, q));
      const n = trainingMessageCount(record);
      const stored = store.get(record.id) as StoredCounts | undefined;
      const old = stored && stored.n === n ? stored : undefined;
      const known = old ? answerFromCounts(q, old) : undefined;
      if (known !== undefined) return verdictOf(cfg, counter.name, known);
      const { answer, counts } = countLength(counter, q);
      store.set(record.id, { ...mergeCounts(old, counts), n });
      return verdictOf(cfg, counter.name, answer);
    },
  };
}
