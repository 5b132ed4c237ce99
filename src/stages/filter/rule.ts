import type { ApplyTo } from '../../../schemas/config/filter.js';
import type { PipelineRecord, Step } from '../../../schemas/index.js';

export const RULE_NAMES = ['decontaminate', 'infrastructure', 'malformed', 'unfinished', 'length', 'loops'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Why a rule drops a record: a kebab-case reason, and a sentence for rejects.jsonl. */
export interface Verdict {
  reason: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface FilterRule {
  readonly name: RuleName;
  readonly applyTo: ApplyTo;
  /** null keeps the record. */
  check(record: PipelineRecord): Verdict | null;
}

/** "Failed" means not known to be resolved: an unlabelled run gets no benefit of the doubt. */
export function isFailed(record: PipelineRecord): boolean {
  return record.outcome.resolved !== true;
}

/** One case-insensitive regex out of a list of patterns; null when the list is empty. */
export function anyOf(patterns: readonly string[]): RegExp | null {
  return patterns.length ? new RegExp(patterns.map((p) => `(?:${p})`).join('|'), 'i') : null;
}

/** The observation texts answering a step, joined (a step may have several). */
export function observationText(record: PipelineRecord, step: Step): string {
  return step.observation_indices.map((i) => record.messages[i]?.content ?? '').join('\n');
}

/** A short quote for messages: first line, at most n characters. */
export function quote(text: string, n = 80): string {
  const line = text.trim().split('\n')[0] ?? '';
  return JSON.stringify(line.length > n ? line.slice(0, n) + '…' : line);
}
