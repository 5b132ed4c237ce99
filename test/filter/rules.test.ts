import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PipelineConfig, type PipelineRecord } from '../../schemas/index.js';
import { applyRules, buildRules, emptyRuleStats } from '../../src/stages/filter/index.js';
import { idCandidates, repoOf } from '../../src/stages/filter/benchmarks.js';
import { countMessageTokens, loadTokenCounter } from '../../src/core/tokenizer.js';
import { countUntil } from '../../src/stages/filter/length.js';
import { makeRecord } from './factory.js';

/** Runs the configured rules over one record: the reason it is dropped for, or null when kept. */
async function verdictOf(record: PipelineRecord, filter: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const config = PipelineConfig.parse({ name: 't', filter, ...extra });
  const rules = await buildRules(config);
  const stats = emptyRuleStats(config);
  const hit = applyRules(rules, record, stats);
  return hit ? { rule: hit.rule, reason: hit.verdict.reason, message: hit.verdict.message, details: hit.verdict.details } : null;
}

const BENCH_STATEMENT =
  'Calling merge_intervals on a list that contains touching intervals such as [1, 3] and [3, 5] returns them as two separate intervals instead of merging them into [1, 5]. The function treats the shared endpoint as a gap because it compares the start of the next interval with the end of the previous one using a strict less-than. Expected merge_intervals([[1, 3], [3, 5]]) to equal [[1, 5]] but got [[1, 3], [3, 5]].';
// The same issue reworded: sentence order and several words change, the technical core stays.
const PARAPHRASE =
  'merge_intervals does not merge touching intervals. For example [1, 3] and [3, 5] come back as two separate intervals instead of being merged into [1, 5]. It seems the shared endpoint is treated as a gap since it compares the start of the next interval with the end of the previous one using a strict less-than. Expected merge_intervals([[1, 3], [3, 5]]) to equal [[1, 5]], got [[1, 3], [3, 5]] instead.';
const CLEAN =
  'paginate(items, page, size) drops the last item when len(items) is a multiple of size. Expected paginate([1,2,3,4], 2, 2) == [3, 4] but the last page comes back short by one element.';

let dir: string;
let idsFile: string;
let statementsFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trajpipe-filter-'));
  idsFile = join(dir, 'held-out.ids');
  await writeFile(idsFile, '# held-out ids\nsympy__sympy-20590\ndjango__django-11099\n');
  statementsFile = join(dir, 'held-out.jsonl');
  await writeFile(
    statementsFile,
    [
      JSON.stringify({ instance_id: 'intervals__intervals-42', problem_statement: BENCH_STATEMENT }),
      JSON.stringify({ instance_id: 'other__thing-7', problem_statement: 'The colour picker forgets the last chosen colour after a restart of the editor window.' }),
    ].join('\n') + '\n',
  );
});

describe('decontaminate', () => {
  it('drops a held-out instance id (also with a sampler _n suffix or a harness file-name tail), keeps a clean one', async () => {
    const filter = { decontaminate: { ids: [idsFile] } };
    expect((await verdictOf(makeRecord({ task_id: 'django__django-11099' }), filter))?.reason).toBe('decontaminated-id');
    expect((await verdictOf(makeRecord({ task_id: 'django__django-11099_3' }), filter))?.reason).toBe('decontaminated-id');
    expect((await verdictOf(makeRecord({ task_id: 'django__django-11099__Claude-3.5-Sonnet(Oct)-17434' }), filter))?.reason).toBe('decontaminated-id');
    expect(await verdictOf(makeRecord({ task_id: 'django__django-11100', task: CLEAN }), filter)).toBeNull();
  });

  it('derives repositories from SWE-bench-style ids', () => {
    expect(repoOf('scikit-learn__scikit-learn-14141')).toBe('scikit-learn/scikit-learn');
    expect(repoOf('Project-MONAI__MONAI-3715_4')).toBe('project-monai/monai');
    expect(repoOf('no-repo-here')).toBeNull();
    expect(idCandidates('python__mypy-15976_0')).toContain('python__mypy-15976');
  });

  it('drops configured repositories, and with repos_from_ids every repository of the id list', async () => {
    const rec = makeRecord({ task_id: 'django__django-99999', task: CLEAN });
    expect((await verdictOf(rec, { decontaminate: { repos: ['django/django'] } }))?.reason).toBe('decontaminated-repo');
    expect((await verdictOf(rec, { decontaminate: { ids: [idsFile], repos_from_ids: true } }))?.reason).toBe('decontaminated-repo');
    expect(await verdictOf(rec, { decontaminate: { ids: [idsFile] } })).toBeNull();
  });

  it('drops a paraphrased benchmark statement by n-gram overlap and keeps an unrelated one', async () => {
    const filter = { decontaminate: { ids: [statementsFile] } };
    const para = await verdictOf(makeRecord({ task_id: 'mine__intervals-1', task: PARAPHRASE }), filter);
    expect(para?.reason).toBe('decontaminated-statement');
    expect(para?.details?.benchmark_id).toBe('intervals__intervals-42');
    expect(await verdictOf(makeRecord({ task_id: 'mine__pager-1', task: CLEAN }), filter)).toBeNull();
    // The threshold is the knob: demanding near-identity lets the paraphrase through.
    const strict = { decontaminate: { ids: [statementsFile], ngram: { threshold: 0.95 } } };
    expect(await verdictOf(makeRecord({ task_id: 'mine__intervals-1', task: PARAPHRASE }), strict)).toBeNull();
  });
});

describe('malformed', () => {
  it('drops unparseable tool-call arguments, unknown tools, no assistant step and an empty task', async () => {
    expect((await verdictOf(makeRecord({ steps: [{ rawArgs: '{"command": "ls' }] })))?.reason).toBe('malformed-tool-arguments');
    expect((await verdictOf(makeRecord({ steps: [{ tool: 'browser', rawArgs: '{}' }] })))?.reason).toBe('malformed-undeclared-tool');
    expect((await verdictOf(makeRecord({ steps: [], submit: false })))?.reason).toBe('malformed-no-assistant-step');
    expect((await verdictOf(makeRecord({ task: '   ' })))?.reason).toBe('malformed-empty-task');
  });

  it('drops a submit made by calling a tool the run does not declare (finish with tools [bash])', async () => {
    const v = await verdictOf(makeRecord({ tools: ['bash'] }));
    expect(v?.reason).toBe('malformed-undeclared-tool');
    expect(v?.details?.tool).toBe('submit');
    expect(v?.message).toContain('does not declare');
  });

  it('drops a tool result that answers no earlier call', async () => {
    const record = makeRecord();
    // The reader lost the assistant turn's call: its result now answers nothing.
    delete record.messages[2]!.tool_calls;
    const v = await verdictOf(record);
    expect(v?.reason).toBe('malformed-orphan-tool-result');
    expect(v?.message).toContain('message 3');
    const noId = makeRecord();
    delete noId.messages[3]!.tool_call_id;
    expect((await verdictOf(noId))?.reason).toBe('malformed-orphan-tool-result');
  });

  it('accepts configured extra tools and runs with no tool list', async () => {
    expect(await verdictOf(makeRecord({ steps: [{ tool: 'browser', rawArgs: '{}' }] }), { malformed: { known_tools: ['browser'] } })).toBeNull();
    expect(await verdictOf(makeRecord({ tools: null, steps: [{ tool: 'browser', rawArgs: '{}' }] }))).toBeNull();
  });
});

describe('unfinished', () => {
  it('drops runs cut off by cost, context or step limits, unknown exits and runs with no submission', async () => {
    expect((await verdictOf(makeRecord({ exit_status: 'submitted (exit_cost)' })))?.reason).toBe('unfinished-cutoff');
    expect((await verdictOf(makeRecord({ exit_status: 'LimitsExceeded' })))?.reason).toBe('unfinished-cutoff');
    expect((await verdictOf(makeRecord({ exit_status: 'early_exit' })))?.reason).toBe('unfinished-exit-status');
    expect((await verdictOf(makeRecord({ exit_status: null, patch: null, submit: false })))?.reason).toBe('unfinished-no-submission');
    expect(await verdictOf(makeRecord({ exit_status: 'Submitted' }))).toBeNull();
    // No exit status (OpenHands) but a submit action: finished.
    expect(await verdictOf(makeRecord({ exit_status: null, patch: null }))).toBeNull();
  });

  it('takes the finished statuses from config', async () => {
    expect(await verdictOf(makeRecord({ exit_status: 'early_exit' }), { unfinished: { finished_exit_statuses: ['submitted', 'early_exit'] } })).toBeNull();
  });
});

describe('length (real tokenizer)', () => {
  it('counts tokens, not characters', async () => {
    const counter = await loadTokenCounter({ kind: 'tiktoken', encoding: 'o200k_base' });
    // 6,000 characters of one repeated word are about a thousand tokens.
    const cheap = 'hello '.repeat(1000);
    const tokens = counter.count(cheap);
    expect(cheap.length).toBe(6000);
    expect(tokens).toBeLessThan(1500);
    const limits = { length: { max_observation_tokens: 2000 } };
    expect(await verdictOf(makeRecord({ steps: [{ command: 'cat big', obs: cheap }] }), limits)).toBeNull();
    // The same characters as random-looking hex cost far more tokens and exceed the limit.
    const dense = Array.from({ length: 6000 }, (_, i) => ((i * 7919) % 16).toString(16)).join('');
    const hit = await verdictOf(makeRecord({ steps: [{ command: 'cat big', obs: dense }] }), limits);
    expect(hit?.reason).toBe('observation-too-long');
    expect(hit?.details?.tokens).toBe(counter.count(dense));
  });

  it('drops too many steps and too many conversation tokens', async () => {
    const steps = Array.from({ length: 12 }, (_, i) => ({ command: `echo ${i}`, obs: `${i}` }));
    expect((await verdictOf(makeRecord({ steps }), { length: { max_steps: 10 } }))?.reason).toBe('too-many-steps');
    expect(await verdictOf(makeRecord({ steps }), { length: { max_steps: 13 } })).toBeNull();
    const long = makeRecord({ steps: [{ command: 'cat a', obs: 'word '.repeat(3000) }] });
    expect((await verdictOf(long, { length: { max_tokens: 2000, max_observation_tokens: null } }))?.reason).toBe('too-many-tokens');
    expect(await verdictOf(long, { length: { max_tokens: 4000, max_observation_tokens: null } })).toBeNull();
    // Stopping early never changes the count of a conversation within the limit.
    const counter = await loadTokenCounter({ kind: 'tiktoken', encoding: 'o200k_base' });
    expect(countUntil(counter, long.messages, 1e9)).toBe(countMessageTokens(counter, long.messages));
  });

  it('ignores what follows the final submit (a git diff printed after it is not training text)', async () => {
    const dense = Array.from({ length: 60_000 }, (_, i) => ((i * 7919) % 16).toString(16)).join('');
    // The factory's final step submits; its answer is the last message.
    const afterSubmit = makeRecord({ resolved: true });
    afterSubmit.messages[afterSubmit.messages.length - 1]!.content = `diff --git a/x b/x\n${dense}`;
    const limits = { length: { max_tokens: 4000, max_observation_tokens: 2000 } };
    expect(await verdictOf(afterSubmit, limits)).toBeNull();
    // The same text before the submit still counts.
    const before = makeRecord({ resolved: true, steps: [{ command: 'git diff', obs: dense }] });
    expect((await verdictOf(before, limits))?.reason).toBe('observation-too-long');
    expect((await verdictOf(before, { length: { max_tokens: 4000, max_observation_tokens: null } }))?.reason).toBe('too-many-tokens');
  });
});

describe('loops', () => {
  it('drops the same action repeated k times in a row', async () => {
    const same = Array.from({ length: 5 }, () => ({ command: 'python -m pytest', obs: 'FAILED test_x' }));
    expect((await verdictOf(makeRecord({ steps: same })))?.reason).toBe('loop-repeated-action');
    expect(await verdictOf(makeRecord({ steps: same.slice(0, 4) }))).toBeNull();
    expect((await verdictOf(makeRecord({ steps: same.slice(0, 3) }), { loops: { max_repeats: 3 } }))?.reason).toBe('loop-repeated-action');
  });

  it('drops a run that spins without new observations, but not one making silent edits', async () => {
    // Alternating between two views of the same files: each action differs from the last, nothing new is seen.
    const spin = Array.from({ length: 14 }, (_, i) => (i % 2 ? { command: 'cat a.py', obs: 'A' } : { command: 'cat b.py', obs: 'B' }));
    expect((await verdictOf(makeRecord({ steps: spin })))?.reason).toBe('loop-no-new-observation');
    const edits = Array.from({ length: 14 }, (_, i) => ({ command: `sed -i 's/x${i}/y${i}/' a.py`, obs: '' }));
    expect(await verdictOf(makeRecord({ steps: edits }))).toBeNull();
  });
});

describe('infrastructure', () => {
  const failed = { resolved: false };
  it('drops failed runs ended by harness exceptions, repeated timeouts, sandbox and network errors', async () => {
    expect((await verdictOf(makeRecord({ ...failed, exit_status: 'RetryError' })))?.reason).toBe('infra-harness-exit');
    const timeouts = Array.from({ length: 3 }, (_, i) => ({ command: `make test${i}`, obs: 'EXECUTION TIMED OUT' }));
    expect((await verdictOf(makeRecord({ ...failed, steps: timeouts })))?.reason).toBe('infra-timeouts');
    const sandbox = [{ command: 'ls', obs: 'docker: Error response from daemon: container 3f2 is not running' }];
    expect((await verdictOf(makeRecord({ ...failed, steps: sandbox })))?.reason).toBe('infra-sandbox');
    const network = [{ command: 'pip install requests', obs: 'Temporary failure in name resolution' }];
    expect((await verdictOf(makeRecord({ ...failed, steps: network })))?.reason).toBe('infra-network');
    expect((await verdictOf(makeRecord({ ...failed, steps: [{ command: 'ls' }, { exit: 'exit_api', flags: { harness_error: true } }], submit: false })))?.reason).toBe(
      'infra-harness-exit',
    );
    // A cost limit is the run's budget, not the environment: left to the unfinished rule.
    const cost = await verdictOf(makeRecord({ ...failed, exit_status: 'exit_cost', steps: [{ command: 'ls' }, { exit: 'exit_cost', flags: { harness_error: true } }], submit: false }));
    expect(cost?.reason).toBe('unfinished-cutoff');
    expect((await verdictOf(makeRecord({ ...failed, exit_status: 'RuntimeError: Agent reached maximum iteration in headless mode' })))?.reason).toBe('unfinished-cutoff');
  });

  it('is reported as its own rule before the run looks merely unfinished, and skips resolved runs by default', async () => {
    const hit = await verdictOf(makeRecord({ ...failed, exit_status: 'RetryError', patch: null, submit: false }));
    expect(hit?.rule).toBe('infrastructure');
    const resolved = makeRecord({ resolved: true, steps: Array.from({ length: 3 }, (_, i) => ({ command: `t${i}`, obs: 'EXECUTION TIMED OUT' })) });
    expect(await verdictOf(resolved)).toBeNull();
    expect((await verdictOf(resolved, { infrastructure: { apply_to: 'all' } }))?.reason).toBe('infra-timeouts');
  });

  it('ignores a sandbox hiccup early in a long run (only the tail counts)', async () => {
    const steps = [{ command: 'ls', obs: 'No space left on device' }, ...Array.from({ length: 6 }, (_, i) => ({ command: `echo ${i}`, obs: `${i}` }))];
    expect(await verdictOf(makeRecord({ ...failed, steps }))).toBeNull();
  });
});

describe('rule switches', () => {
  it('a disabled rule drops nothing, and apply_to: failed spares resolved runs', async () => {
    const rec = makeRecord({ resolved: true, exit_status: 'early_exit' });
    expect((await verdictOf(rec))?.reason).toBe('unfinished-exit-status');
    expect(await verdictOf(rec, { unfinished: { enabled: false } })).toBeNull();
    expect(await verdictOf(rec, { unfinished: { apply_to: 'failed' } })).toBeNull();
  });
});
