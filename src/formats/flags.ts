import type { StepFlags } from '../../schemas/index.js';

// Markers harnesses put in observations. Only the harnesses' own wording is matched, never generic words,
// so that program output which happens to say "timeout" does not flag a step.

const TRUNCATION = [
  /<response clipped>/,
  /<elided_chars>/,
  /<output_head>/,
  /This file is too large to display entirely/,
  /characters were elided/,
  /Observations should not exceeded/,
  /\[\.\.\. Observation truncated due to length \.\.\.\]/,
];

const TIMEOUT = [
  /EXECUTION TIMED OUT/,
  /^The last command <command>[\s\S]*?<\/command> timed out/,
  /^The command timed out/i,
  /\[Command timed out after/i,
  /has no new output after \d+ seconds/,
  /\bcommand timed out\b.*\bkilled\b/i,
  /timed out\. Sending SIGINT to the process/,
];

const FORMAT_ERROR = [
  /^Please always provide EXACTLY ONE action/,
  /^Your output was not formatted correctly/,
  /^Your last output did not use any tool calls/,
  /^Your output contained multiple tool calls/,
  /^Your bash command contained syntax errors/,
  /^Format error/i,
];

// The action itself failed, in the harness's or the shell's own words: the editor tool refusing the edit, or a
// command that does not exist. A non-zero exit status is not enough (grep finding nothing and a failing test
// both exit 1, and both are deliberate), so it is not matched.
const RUNTIME_ERROR = [
  /^(?:ERROR:\s*)?No replacement was performed/m,
  /^(?:ERROR:\s*)?Invalid `path` parameter/m,
  /^[^\n]*: line \d+: [^\s:]+: command not found$/m,
];

function any(patterns: readonly RegExp[], text: string): boolean {
  return patterns.some((p) => p.test(text));
}

/** Flags an observation raises for the step it answers. */
export function observationFlags(text: string): Partial<StepFlags> {
  const head = text.slice(0, 2000);
  const flags: Partial<StepFlags> = {};
  if (any(TRUNCATION, text)) flags.truncated_observation = true;
  if (any(TIMEOUT, head)) flags.timeout = true;
  if (any(FORMAT_ERROR, head.trimStart())) flags.format_error = true;
  if (any(RUNTIME_ERROR, head)) flags.runtime_error = true;
  return flags;
}

export const NO_FLAGS: StepFlags = { format_error: false, timeout: false, truncated_observation: false, harness_error: false, submit: false };

export function mergeFlags(into: StepFlags, add: Partial<StepFlags> | undefined): void {
  if (!add) return;
  for (const k of Object.keys(add) as (keyof StepFlags)[]) if (add[k]) into[k] = true;
}
