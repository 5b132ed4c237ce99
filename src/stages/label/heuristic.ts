import type { Action, Step, StepValues, Trajectory } from '../../../schemas/index.js';
import { promptVersionFor } from '../../teacher/prompt.js';

/** Bump when the curve this produces changes: it is written into every row as prompt_version. */
export const HEURISTIC_VERSION = 'heuristic-3';

export type StepKind = 'explore' | 'run' | 'test' | 'edit' | 'revert' | 'submit' | 'invalid' | 'exit';

export interface TestResult {
  passed: number;
  failed: number;
}

export interface StepEvidence {
  kind: StepKind;
  /** The action as text, whitespace-normalised: equal signatures mean a repeated action. */
  signature: string;
  tests: TestResult | null;
  error: boolean;
  timeout: boolean;
  harnessError: boolean;
}

const TEST_CMD = /\b(pytest|py\.test|unittest|nosetests|tox|runtests|manage\.py test|(npm|yarn|pnpm)( run)? test|go test|cargo test|mvn test|gradle test|make (test|check)|jest|mocha|rspec|phpunit)\b/;
const REVERT_CMD = /\bgit (checkout|restore|stash|reset --hard)\b|\bundo_edit\b/;
const EDIT_CMD = /\bsed\b[^|;&]*\s-i|\bperl\s+-\w*i|\btee\b|\bpatch\b|\bgit apply\b|\.write\(|\bcat\s*>|(^|[^0-9>&<=-])>>?\s*(?!\/dev\/null|\/tmp\/|&|=)[\w./]|\b(mv|cp|rm|touch)\s/;
const EXPLORE_CMD = /^\s*(cd\s+\S+\s*&&\s*)?(grep|rg|ag|find|ls|cat|head|tail|sed -n|less|more|tree|wc|nl|file|awk|git (log|diff|show|status|grep|blame))\b/;
const EDIT_TOOL = /edit|write|create|replace|insert|apply_patch/i;
const EXPLORE_TOOL = /view|open|read|search|find|goto|scroll|list/i;
// Only tested for a match anywhere, so `\b\w*Error: ` (a word ending in Error) is the same as `Error: `: the
// word's start is always a boundary. The shorter form has no per-boundary backtracking (it was ~13 % of
// the main thread's time behind dedup on the bench corpus).
const ERROR_TEXT = /Traceback \(most recent call last\)|Error: |command not found|No such file or directory|error: /;

function actionText(a: Action): string {
  return (a.command ?? [a.name, a.arguments].filter(Boolean).join(' ')).replace(/\s+/g, ' ').trim();
}

function classifyAction(a: Action): StepKind {
  if (a.kind === 'submit') return 'submit';
  if (a.kind === 'exit') return 'exit';
  if (a.kind === 'none') return 'invalid';
  const text = actionText(a);
  if (REVERT_CMD.test(text)) return 'revert';
  if (a.command !== null) {
    if (TEST_CMD.test(text)) return 'test';
    if (EXPLORE_CMD.test(text) && !EDIT_CMD.test(text)) return 'explore';
    if (EDIT_CMD.test(text)) return 'edit';
    return 'run';
  }
  // Editor tools: their sub-command (view vs str_replace) says whether they change anything.
  const sub = /"command"\s*:\s*"(\w+)"/.exec(a.arguments ?? '')?.[1] ?? '';
  if (sub === 'view' || EXPLORE_TOOL.test(a.name ?? '')) return EDIT_TOOL.test(sub) ? 'edit' : 'explore';
  if (EDIT_TOOL.test(a.name ?? '') || EDIT_TOOL.test(sub)) return 'edit';
  return 'run';
}

/** The most consequential action of a step decides its kind. */
const WEIGHT: Record<StepKind, number> = { submit: 7, exit: 6, edit: 5, revert: 4, test: 3, run: 2, explore: 1, invalid: 0 };

/** Reads a test summary (pytest, unittest) from an observation; null when there is none. */
export function readTestResult(text: string): TestResult | null {
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const passed = num(/(\d+) passed/);
  const failed = num(/(\d+) failed/) + num(/(\d+) errors?\b/);
  if (passed || failed) return { passed, failed };
  const unittest = /Ran (\d+) tests?[\s\S]*?\n(OK|FAILED \(([^)]*)\))/.exec(text);
  if (unittest) {
    const total = Number(unittest[1]);
    const bad = unittest[3] ? [...unittest[3].matchAll(/=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0) : 0;
    return { passed: total - bad, failed: bad };
  }
  return null;
}

export function stepEvidence(record: Pick<Trajectory, 'messages'>, step: Step): StepEvidence {
  const actions = step.actions.length ? step.actions : [];
  let kind: StepKind = step.flags.format_error || actions.length === 0 ? 'invalid' : 'explore';
  if (actions.length) kind = actions.map(classifyAction).reduce((a, b) => (WEIGHT[b] > WEIGHT[a] ? b : a));
  if (step.flags.submit) kind = 'submit';
  const observation = step.observation_indices.map((i) => record.messages[i]?.content ?? '').join('\n');
  return {
    kind,
    signature: `${kind}:${actions.map(actionText).join(' ; ')}`,
    tests: kind === 'test' ? readTestResult(observation) : null,
    error: ERROR_TEXT.test(observation),
    timeout: step.flags.timeout || /\btimed out\b/i.test(observation),
    harnessError: step.flags.harness_error,
  };
}

/**
 * Hindsight blame: which edits caused the failure. An edit is blamed when the next test run after it is
 * red and no better than the previous one; and, when the run is known to have failed, its last edit is
 * blamed when no green test run came after it (with an unknown outcome that would be guessing).
 */
export function blamedEdits(evidence: readonly StepEvidence[], knownFailed = true): Set<number> {
  const blamed = new Set<number>();
  let editsSinceTest: number[] = [];
  let previous: TestResult | null = null;
  let lastEdit: number | null = null;
  let verifiedAfterLastEdit = false;
  evidence.forEach((e, i) => {
    if (e.kind === 'edit') {
      editsSinceTest.push(i);
      lastEdit = i;
      verifiedAfterLastEdit = false;
    }
    if (e.kind === 'revert') editsSinceTest = [];
    if (e.kind !== 'test' || !e.tests) return;
    const red = e.tests.failed > 0;
    const improved = previous !== null && e.tests.failed < previous.failed;
    if (red && !improved && editsSinceTest.length) blamed.add(editsSinceTest[editsSinceTest.length - 1]!);
    if (!red) verifiedAfterLastEdit = true;
    previous = e.tests;
    editsSinceTest = [];
  });
  if (knownFailed && lastEdit !== null && !verifiedAfterLastEdit) blamed.add(lastEdit);
  return blamed;
}

const PRIOR = 0.3;
/** Progress approaches this, never passes it: a failed run never looked certain to succeed. */
const TOP = 0.85;
const FLOOR = 0.02;
/** A failed run's last value: in hindsight the outcome is known. */
const FINAL = 0.05;
/** What every step costs: a long run that keeps going without resolving drifts down. */
const EFFORT = 0.005;

const clamp = (v: number) => Math.min(TOP, Math.max(FLOOR, v));
const round = (v: number) => Math.round(v * 10_000) / 10_000;

/**
 * Estimates a failed run's value curve from what the environment said, without a model: progress
 * (exploring, reproducing, edits, green tests) moves it part of the way toward TOP, with diminishing
 * returns for exploring; the blamed edit cuts it sharply; wasted steps (repeats, timeouts, format errors)
 * lower it a little; the last step of a failed run ends low. The usual result is an inverted U peaking
 * before the mistake. A run of unknown outcome (segment.unknown_outcome: as-failed) gets the same curve
 * without the two rules that use the failure in hindsight: its last edit is not blamed for lack of a green
 * test, and its last step is not pulled down. Deterministic.
 */
export function heuristicCurve(record: Pick<Trajectory, 'messages' | 'steps'>, knownFailed = true): number[] {
  const evidence = record.steps.map((s) => stepEvidence(record, s));
  const blamed = blamedEdits(evidence, knownFailed);
  const values: number[] = [];
  let v = PRIOR;
  let explored = 0;
  let edited = false;
  let beforeBlame: number | null = null;
  let seen = new Set<string>();
  const toward = (rate: number) => (v += (TOP - v) * rate);
  const exploring = () => toward(0.2 / (1 + 0.3 * explored++));
  evidence.forEach((e, i) => {
    const repeated = seen.has(e.signature);
    seen.add(e.signature);
    switch (e.kind) {
      case 'explore':
        if (repeated) v -= 0.05;
        else exploring();
        break;
      case 'run':
        // Before any edit, running code (even into an error) reproduces the problem; after, a new error is a regression.
        if (repeated) v -= 0.05;
        else if (!edited || !e.error) exploring();
        else v -= 0.05;
        break;
      case 'edit':
        edited = true;
        seen = new Set();
        if (blamed.has(i)) {
          beforeBlame ??= v;
          v *= 0.4;
        } else {
          toward(0.15);
        }
        break;
      case 'revert':
        seen = new Set();
        // Undoing a harmful edit recovers part of what it cost; undoing good work costs a little.
        v = beforeBlame !== null ? v + (beforeBlame - v) * 0.5 : v - 0.03;
        beforeBlame = null;
        break;
      case 'test':
        if (repeated) v -= 0.05;
        if (e.tests && e.tests.failed > 0) v -= 0.03;
        else if (e.tests) toward(0.2);
        break;
      case 'invalid':
        v -= 0.06;
        break;
      case 'exit':
        v -= 0.1;
        break;
      case 'submit':
        break;
    }
    if (e.timeout) v -= 0.06;
    if (e.harnessError) v -= 0.03;
    v = clamp(v - EFFORT);
    values.push(round(knownFailed && i === evidence.length - 1 ? Math.min(v, FINAL) : v));
  });
  return values;
}

/** Bump when the heuristic verdicts change. */
export const HEURISTIC_VERDICT_VERSION = 'heuristic-verdicts-1';

/** A fall smaller than this is the per-step effort drift, not a mistake. */
const VERDICT_FALL = 0.01;

/**
 * Heuristic verdicts for step-rejection, from the heuristic curve: a step is incorrect when the curve falls
 * there by more than the effort drift (a blamed edit, a repeat, a timeout, a malformed action, a red test, the
 * final submission of a failed run), correct otherwise. Step 0 is compared with the prior.
 */
export function heuristicVerdicts(values: readonly number[]): boolean[] {
  return values.map((v, i) => v >= (i === 0 ? PRIOR : values[i - 1]!) - VERDICT_FALL);
}

/**
 * The heuristic's curve for a failed run, for one of unknown outcome, or for a resolved one labelled to
 * calibrate (the version then says which); with `verdicts`, the heuristic verdicts too.
 */
export function heuristicValues(
  record: Pick<Trajectory, 'messages' | 'steps'> & { outcome?: Pick<Trajectory['outcome'], 'resolved'> },
  opts: { verdicts?: boolean } = {},
): StepValues {
  const resolved = record.outcome ? record.outcome.resolved : false;
  const values = heuristicCurve(record, resolved === false);
  return {
    labeler: 'heuristic',
    model: null,
    prompt_version: promptVersionFor(HEURISTIC_VERSION, resolved),
    values,
    samples: null,
    spread: null,
    peak_disagreement: null,
    flags: [],
    request_hash: null,
    ...(opts.verdicts ? { verdicts: heuristicVerdicts(values), verdict_prompt_version: promptVersionFor(HEURISTIC_VERDICT_VERSION, resolved) } : {}),
  };
}
