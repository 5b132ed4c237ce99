import { Buffer } from 'node:buffer';
import type { LengthConfig } from '../../../schemas/config/filter.js';
import type { Message } from '../../../schemas/index.js';
import { countMessageTokens, PER_MESSAGE_OVERHEAD, type TokenCounter } from '../../core/tokenizer.js';
import { trainingMessageCount } from '../../core/training-text.js';
import { observationText, type FilterRule } from './rule.js';

/**
 * A token never covers less than one byte of text (plus one for a tokenizer's dummy prefix), so a
 * text whose UTF-8 size is within a limit is within it in tokens too: the tokenizer then need not run.
 * This is a bound, not an estimate: anything that might exceed a limit is counted for real.
 */
function tokenBound(text: string): number {
  return Buffer.byteLength(text, 'utf8') + 1;
}

function conversationBound(messages: readonly Message[]): number {
  let n = 0;
  for (const m of messages) {
    n += PER_MESSAGE_OVERHEAD + tokenBound(m.content);
    if (m.reasoning_content) n += tokenBound(m.reasoning_content);
    for (const c of m.tool_calls ?? []) n += tokenBound(c.function.name) + tokenBound(c.function.arguments);
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

export function lengthRule(cfg: LengthConfig, counter: TokenCounter): FilterRule {
  return {
    name: 'length',
    applyTo: cfg.apply_to,
    check(record) {
      // Only training text counts: what follows the final submit (a diff echoed back, a `git diff` the
      // harness printed) is never exported, so it cannot make a run too long to train on.
      const upTo = trainingMessageCount(record);
      const messages = record.messages.slice(0, upTo);
      if (cfg.max_steps !== null && record.steps.length > cfg.max_steps) {
        return {
          reason: 'too-many-steps',
          message: `it has ${record.steps.length} assistant turns, more than the limit of ${cfg.max_steps}`,
          details: { steps: record.steps.length, limit: cfg.max_steps },
        };
      }
      if (cfg.max_observation_tokens !== null) {
        const limit = cfg.max_observation_tokens;
        for (const step of record.steps) {
          if (step.observation_indices.every((i) => i >= upTo)) continue; // the submit's answer, or no observation
          const text = observationText(record, step);
          if (tokenBound(text) <= limit) continue;
          const tokens = counter.count(text);
          if (tokens > limit) {
            return {
              reason: 'observation-too-long',
              message: `the observation of step ${step.index} is ${tokens} tokens (${counter.name}), more than the limit of ${limit}`,
              details: { step: step.index, tokens, limit, tokenizer: counter.name },
            };
          }
        }
      }
      if (cfg.max_tokens !== null && conversationBound(messages) > cfg.max_tokens) {
        const tokens = countUntil(counter, messages, cfg.max_tokens);
        if (tokens > cfg.max_tokens) {
          return {
            reason: 'too-many-tokens',
            message: `its conversation is over ${tokens} tokens (${counter.name}), more than the limit of ${cfg.max_tokens}`,
            details: { tokens_at_least: tokens, limit: cfg.max_tokens, tokenizer: counter.name },
          };
        }
      }
      return null;
    },
  };
}
