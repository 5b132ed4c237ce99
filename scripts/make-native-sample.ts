// Writes data/sample/native/: small runs in the formats the agent harnesses write (SWE-agent 0.x/1.x,
// mini-swe-agent v1/v2, OpenHands completion logs and output.jsonl, HF chat datasets as JSON lines and
// Parquet), with their outcome files. All content is invented for this project: a made-up "acme"
// organisation, its issues and tool output. Deterministic: rerun and the files do not change.
//   npx tsx scripts/make-native-sample.ts
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';

const OUT = 'data/sample/native';
const MODEL = 'teacher-large-2026';

interface Turn {
  thought: string;
  cmd: string;
  out: string;
  /** How the harness answered: a normal run, a timeout, output too long, or a reply with two commands. */
  kind?: 'timeout' | 'long' | 'two-blocks';
  reasoning?: string;
}

interface Task {
  id: string;
  repo: string;
  issue: string;
  turns: Turn[];
  patch: string;
}

const pagerPatch = 'diff --git a/src/pager/core.py b/src/pager/core.py\n--- a/src/pager/core.py\n+++ b/src/pager/core.py\n@@ -2,3 +2,3 @@ def paginate(items, page, size):\n     start = (page - 1) * size\n-    end = start + size - 1\n+    end = start + size\n     return items[start:end]\n';
const slugPatch = 'diff --git a/slugkit/slug.py b/slugkit/slug.py\n--- a/slugkit/slug.py\n+++ b/slugkit/slug.py\n@@ -4,2 +4,2 @@ def slugify(text):\n-    text = re.sub(r"[^a-z0-9]+", "-", text.lower())\n+    text = re.sub(r"[^\\w]+", "-", text.lower())\n     return text.strip("-")\n';
const datesPatch = 'diff --git a/acmedates/parse.py b/acmedates/parse.py\n--- a/acmedates/parse.py\n+++ b/acmedates/parse.py\n@@ -9,2 +9,2 @@ def parse_date(value):\n-    return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")\n+    return datetime.fromisoformat(value)\n';

const TASKS: Record<string, Task> = {
  pager: {
    id: 'acme__pager-12',
    repo: 'acme/pager',
    issue: 'paginate(items, page, size) drops the last item of every page. Expected paginate([1, 2, 3, 4], 2, 2) == [3, 4], got [3].',
    patch: pagerPatch,
    turns: [
      { thought: 'First I will find where paginate is defined.', cmd: 'grep -rn "def paginate" src', out: 'src/pager/core.py:1:def paginate(items, page, size):' },
      { thought: 'Let me read the function.', cmd: 'sed -n 1,10p src/pager/core.py', out: 'def paginate(items, page, size):\n    start = (page - 1) * size\n    end = start + size - 1\n    return items[start:end]' },
      { thought: 'The slice end is exclusive, so the -1 drops one item. I will remove it.', cmd: "sed -i 's/end = start + size - 1/end = start + size/' src/pager/core.py", out: '' },
      { thought: 'Now run the tests.', cmd: 'python -m pytest -q tests/test_core.py', out: '....\n4 passed in 0.03s', reasoning: 'The fix is one character; the tests cover page boundaries, so a pass is meaningful.' },
    ],
  },
  slug: {
    id: 'acme__slugify-4',
    repo: 'acme/slugkit',
    issue: "slugify() drops accented letters instead of transliterating them. slugify('Crème Brûlée') should return 'creme-brulee' but returns 'cr-me-br-l-e'.",
    patch: slugPatch,
    turns: [
      { thought: 'Look at the slugify implementation.', cmd: 'cat slugkit/slug.py', out: 'import re\n\n\ndef slugify(text):\n    text = re.sub(r"[^a-z0-9]+", "-", text.lower())\n    return text.strip("-")' },
      { thought: 'I will check the tests and then edit the regex.', cmd: 'ls tests', out: 'test_slug.py', kind: 'two-blocks' },
      { thought: 'Run the whole test suite to see the current state.', cmd: 'python -m pytest tests', out: '', kind: 'timeout' },
      { thought: 'Keep word characters instead of ASCII only.', cmd: 'sed -i \'s/\\[^a-z0-9\\]+/[^\\\\w]+/\' slugkit/slug.py', out: '' },
      { thought: 'List every character class the module uses.', cmd: 'python -c "import slugkit.slug as s; print(dir(s))"', out: Array.from({ length: 400 }, (_, i) => `WORD_CLASS_${i} = re.compile(r"[\\w-]{${i % 7},}")`).join('\n'), kind: 'long' },
      { thought: 'Run the slug tests only.', cmd: 'python -m pytest -q tests/test_slug.py', out: 'F.\nFAILED tests/test_slug.py::test_accents - AssertionError: assert "crème-brûlée" == "creme-brulee"\n1 failed, 1 passed in 0.02s' },
    ],
  },
  dates: {
    id: 'acme__dates-9',
    repo: 'acme/acmedates',
    issue: 'parse_date ignores the timezone offset of ISO 8601 strings: parse_date("2024-03-01T10:00:00+02:00") returns a naive datetime at 10:00.',
    patch: datesPatch,
    turns: [
      { thought: 'Find parse_date.', cmd: 'grep -n "def parse_date" -A 3 acmedates/parse.py', out: '8:def parse_date(value):\n9:    return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")' },
      { thought: 'The value is cut to 19 characters, which drops the offset. fromisoformat keeps it.', cmd: "sed -i 's/datetime.strptime(value\\[:19\\], \"%Y-%m-%dT%H:%M:%S\")/datetime.fromisoformat(value)/' acmedates/parse.py", out: '' },
      { thought: 'Check the behaviour.', cmd: 'python -c "from acmedates.parse import parse_date; print(parse_date(\'2024-03-01T10:00:00+02:00\'))"', out: '2024-03-01 10:00:00+02:00' },
    ],
  },
  retry: {
    id: 'acme__retry-3',
    repo: 'acme/retrying',
    issue: 'The @retry decorator also retries on KeyboardInterrupt, so Ctrl-C never stops a retried call.',
    patch: '',
    turns: [
      { thought: 'Open the decorator.', cmd: 'cat retrying/core.py', out: 'def retry(times=3):\n    def wrap(fn):\n        def inner(*a, **k):\n            for i in range(times):\n                try:\n                    return fn(*a, **k)\n                except BaseException:\n                    if i == times - 1:\n                        raise\n        return inner\n    return wrap' },
      { thought: 'It catches BaseException. Let me look for other handlers first.', cmd: 'grep -rn "except" retrying', out: 'retrying/core.py:7:                except BaseException:' },
    ],
  },
};

function write(path: string, data: string | Uint8Array): void {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, data);
}
const json = (v: unknown) => JSON.stringify(v, null, 1) + '\n';

// ---------- SWE-agent 0.x: text actions, demonstration in history, state as a JSON string ----------

const SWE_SYSTEM = 'SETTING: You are an autonomous programmer working in a command line with a special interface.\nRespond with a DISCUSSION and exactly one command in a fenced block.';
const DEMO = 'Here is a demonstration of how to correctly accomplish this task.\n--- DEMONSTRATION ---\nDISCUSSION\nList the files first.\n```\nls\n```\n--- END OF DEMONSTRATION ---';
/** Harnesses other than mini-swe-agent clip long output themselves; the sample keeps their share short. */
const shown = (t: Turn) => (t.kind === 'long' ? `${t.out.slice(0, 300)}\n...` : t.out);
const prompt = (repo: string) => `\n(Open file: n/a)\n(Current directory: /${repo.split('/')[1]})\nbash-$`;

function sweAgent0(task: Task, end: 'submit' | 'exit_cost' | 'unfinished', swapTimeout = false): unknown {
  const history: unknown[] = [
    { role: 'system', content: SWE_SYSTEM, agent: 'primary' },
    { role: 'user', content: DEMO, agent: 'primary', is_demo: true },
    { role: 'user', content: `We're currently solving the following issue within our repository. Here's the issue text:\nISSUE:\n${task.issue}\n\nINSTRUCTIONS:\nEdit the repository to fix the issue, then run submit.${prompt(task.repo)}`, agent: 'primary' },
  ];
  const trajectory: unknown[] = [];
  const state = JSON.stringify({ open_file: 'n/a', working_dir: `/${task.repo.split('/')[1]}` });
  task.turns.forEach((t, i) => {
    const response = `DISCUSSION\n${t.thought}\n\`\`\`\n${t.cmd}\n\`\`\``;
    const out = swapTimeout && i === 1 ? 'EXECUTION TIMED OUT AND INTERRUPT FAILED. RESTARTING PROCESS.' : shown(t);
    history.push({ role: 'assistant', content: response, thought: `DISCUSSION\n${t.thought}\n`, action: `${t.cmd}\n`, agent: 'primary' });
    history.push({ role: 'user', content: `${out}${prompt(task.repo)}`, agent: 'primary' });
    trajectory.push({ response, thought: `DISCUSSION\n${t.thought}\n`, action: `${t.cmd}\n`, observation: out, state });
  });
  const info: Record<string, unknown> = { model_stats: { total_cost: 41.5, instance_cost: 0.42, tokens_sent: 18000, tokens_received: 900, api_calls: task.turns.length + 1 } };
  if (end === 'submit') {
    const response = 'DISCUSSION\nThe fix works; submitting.\n```\nsubmit\n```';
    history.push({ role: 'assistant', content: response, thought: 'DISCUSSION\nThe fix works; submitting.\n', action: 'submit\n', agent: 'primary' });
    trajectory.push({ response, thought: 'DISCUSSION\nThe fix works; submitting.\n', action: 'submit\n', observation: task.patch, state });
    Object.assign(info, { exit_status: 'submitted', submission: task.patch });
  } else if (end === 'exit_cost') {
    history.push({ role: 'assistant', content: 'Exit due to cost limit', thought: 'Exit due to cost limit', action: 'exit_cost', agent: 'primary' });
    trajectory.push({ response: 'Exit due to cost limit', thought: 'Exit due to cost limit', action: 'exit_cost', observation: 'Exited (autosubmitted)', state });
    Object.assign(info, { exit_status: 'submitted (exit_cost)', submission: task.patch });
  }
  return { environment: 'swe_main', trajectory, history, info };
}

write('swe-agent-0.x/metadata.yaml', `name: SWE-agent + ${MODEL}\noss: true\n`);
write('swe-agent-0.x/trajs/acme__pager-12.traj', json(sweAgent0(TASKS.pager!, 'submit')));
write('swe-agent-0.x/trajs/acme__slugify-4.traj', json(sweAgent0(TASKS.slug!, 'exit_cost', true)));
write('swe-agent-0.x/trajs/acme__retry-3.traj', json(sweAgent0(TASKS.retry!, 'unfinished')));
write('swe-agent-0.x/results/results.json', json({
  total_instances: 3, submitted_instances: 2, completed_instances: 2, resolved_instances: 1, unresolved_instances: 1,
  completed_ids: ['acme__pager-12', 'acme__slugify-4'], incomplete_ids: ['acme__retry-3'], empty_patch_ids: [], submitted_ids: ['acme__pager-12', 'acme__slugify-4'],
  resolved: ['acme__pager-12'], unresolved_ids: ['acme__slugify-4'], error_ids: [],
}));

// ---------- SWE-agent 1.x: function calling, tool_call_ids, replay_config as a JSON string ----------

function sweAgent1(task: Task): unknown {
  const history: unknown[] = [
    { role: 'system', content: SWE_SYSTEM.replace('exactly one command in a fenced block', 'exactly one tool call'), agent: 'main', message_type: 'system_prompt' },
    { role: 'user', content: `<uploaded_files>\n/testbed\n</uploaded_files>\nISSUE:\n${task.issue}\n\nINSTRUCTIONS:\nFix it.`, agent: 'main', message_type: 'observation' },
  ];
  const trajectory: unknown[] = [];
  const clipped = (s: string) => `${s}\n<response clipped><NOTE>Observations should not exceeded 1000 characters. 2048 characters were elided. Please try a different command.</NOTE>`;
  task.turns.forEach((t, i) => {
    const id = `call_${i.toString().padStart(2, '0')}_dates`;
    const out = i === 0 ? clipped(t.out) : t.out;
    history.push({ role: 'assistant', content: t.thought, thought: t.thought, action: t.cmd, agent: 'main', message_type: 'action', tool_calls: [{ type: 'function', id, function: { name: 'bash', arguments: JSON.stringify({ command: t.cmd }) } }] });
    history.push({ role: 'tool', content: out, agent: 'main', message_type: 'observation', tool_call_ids: [id] });
    trajectory.push({ action: t.cmd, observation: out, response: t.thought, thought: t.thought, execution_time: 0.2, state: { open_file: 'n/a', working_dir: '/testbed' }, query: [] });
  });
  history.push({ role: 'assistant', content: 'Calling `submit` to submit.', thought: 'Calling `submit` to submit.', action: 'submit', agent: 'main', message_type: 'action', tool_calls: [{ type: 'function', id: 'call_submit', function: { name: 'submit', arguments: '{}' } }] });
  history.push({ role: 'tool', content: task.patch, agent: 'main', message_type: 'observation', tool_call_ids: ['call_submit'] });
  trajectory.push({ action: 'submit', observation: task.patch, response: 'Calling `submit` to submit.', thought: 'Calling `submit` to submit.', execution_time: 0.1, state: { open_file: 'n/a', working_dir: '/testbed' }, query: [] });
  const replay = { agent: { model: { name: MODEL, per_instance_cost_limit: 3 } }, problem_statement: { id: task.id, text: task.issue, type: 'text' } };
  return { environment: 'main', trajectory, history, info: { exit_status: 'submitted', submission: task.patch, model_stats: { instance_cost: 0.2, api_calls: 4 }, swe_agent_version: '1.1.0' }, replay_config: JSON.stringify(replay) };
}
write(`swe-agent-1.x/${TASKS.dates!.id}.traj`, json(sweAgent1(TASKS.dates!)));

// ---------- mini-swe-agent v1: everything the harness says is a user turn ----------

const MINI_SYSTEM = 'You are a helpful assistant that can interact with a computer shell to solve programming tasks.\nYour response must contain exactly ONE bash code block with ONE command.';
const FORMAT_ERROR = 'Please always provide EXACTLY ONE action in triple backticks, found 2 actions.\n\nPlease format your action in triple backticks as shown in <response_example>.';

function miniObservation(t: Turn): string {
  if (t.kind === 'timeout') return `The last command <command>${t.cmd}</command> timed out and has been killed.\nThe output of the command was:\n <output>\ncollecting ...\n</output>\nPlease try another command and make sure to avoid those requiring interactive input.`;
  if (t.kind === 'long') {
    return `<returncode>0</returncode>\n<warning>\nThe output of your last command was too long.\n</warning><output_head>\n${t.out.slice(0, 200)}\n</output_head>\n<elided_chars>\n${t.out.length - 400} characters elided\n</elided_chars>\n<output_tail>\n${t.out.slice(-200)}\n</output_tail>`;
  }
  return `<returncode>0</returncode>\n<output>\n${t.out}\n</output>`;
}

function miniV1(task: Task): unknown {
  const messages: unknown[] = [
    { role: 'system', content: MINI_SYSTEM },
    { role: 'user', content: `<pr_description>\nConsider the following PR description:\n${task.issue}\n</pr_description>\n\n<instructions>\nFix the issue, then run: echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached\n</instructions>` },
  ];
  const extra = (reasoning: string | null) => ({ response: { id: 'gen-acme', model: MODEL, choices: [{ message: { role: 'assistant', reasoning }, finish_reason: 'stop' }], usage: { prompt_tokens: 900, completion_tokens: 80 } } });
  for (const t of task.turns) {
    if (t.kind === 'two-blocks') {
      messages.push({ role: 'assistant', content: `THOUGHT: ${t.thought}\n\n\`\`\`bash\n${t.cmd}\n\`\`\`\n\n\`\`\`bash\ncat tests/test_slug.py\n\`\`\``, extra: extra(null) });
      messages.push({ role: 'user', content: FORMAT_ERROR });
      continue;
    }
    messages.push({ role: 'assistant', content: `THOUGHT: ${t.thought}\n\n\`\`\`bash\n${t.cmd}\n\`\`\``, extra: extra(t.reasoning ?? null) });
    messages.push({ role: 'user', content: miniObservation(t) });
  }
  messages.push({ role: 'assistant', content: 'THOUGHT: Done; submitting the diff.\n\n```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached\n```', extra: extra('Everything needed is in place.') });
  messages.push({ role: 'user', content: task.patch });
  return {
    info: { exit_status: 'Submitted', submission: task.patch, model_stats: { instance_cost: 0.11, api_calls: task.turns.length + 1 }, mini_version: '1.15.0', config: { model: { model_name: MODEL }, agent_type: 'minisweagent.agents.default.DefaultAgent' } },
    messages,
    trajectory_format: 'mini-swe-agent-1',
    instance_id: task.id,
  };
}
write('mini-swe-agent-1/trajs/acme__slugify-4.traj.json', json(miniV1(TASKS.slug!)));
write('mini-swe-agent-1/trajs/acme__dates-9.traj.json', json(miniV1(TASKS.dates!)));
write('mini-swe-agent-1/logs/acme__slugify-4.report.json', json({
  patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: false,
  tests_status: { FAIL_TO_PASS: { success: [], failure: ['tests/test_slug.py::test_accents'] }, PASS_TO_PASS: { success: ['tests/test_slug.py::test_ascii'], failure: [] } },
}));
write('mini-swe-agent-1/sb-cli.acme-eval.json', json({ total_instances: 2, resolved_instances: 1, resolved_ids: ['acme__dates-9'], unresolved_ids: ['acme__slugify-4'], schema_version: 2 }));

// ---------- mini-swe-agent v2: native tool calls and a final "exit" message ----------

function miniV2(task: Task): unknown {
  const messages: unknown[] = [
    { role: 'system', content: MINI_SYSTEM.replace('exactly ONE bash code block with ONE command', 'exactly one call of the bash tool') },
    { role: 'user', content: [{ type: 'text', text: `<pr_description>\n${task.issue}\n</pr_description>` }] },
  ];
  task.turns.forEach((t, i) => {
    const id = `call_mini_${i}`;
    messages.push({ role: 'assistant', content: t.thought, tool_calls: [{ id, type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command: t.cmd }) } }], extra: { actions: [{ command: t.cmd }], cost: 0.01 } });
    messages.push({ role: 'tool', tool_call_id: id, content: `<returncode>0</returncode>\n<output>\n${t.out}\n</output>`, extra: { returncode: 0 } });
  });
  messages.push({ role: 'assistant', content: 'Submitting.', tool_calls: [{ id: 'call_mini_end', type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command: 'echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff' }) } }] });
  messages.push({ role: 'exit', content: '', extra: { exit_status: 'Submitted', submission: task.patch } });
  return { info: { mini_version: '2.0.0', config: { model: { model_name: MODEL } } }, messages, trajectory_format: 'mini-swe-agent-1.1', instance_id: task.id };
}
write('mini-swe-agent-2/acme__pager-12.traj.json', json(miniV2(TASKS.pager!)));
// The standard harness form, keyed by instance id.
write('mini-swe-agent-2/report.json', json({ 'acme__pager-12': { patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: true } }));

// ---------- OpenHands completion log: the last LLM call holds the whole conversation ----------

const OH_SYSTEM = 'You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.';
// Without native function calling OpenHands describes the tools in the system prompt of the text view
// (`messages`); the fncall view keeps the short prompt and the calls as native tool_calls.
const OH_FUNCTIONS = [
  '---- BEGIN FUNCTION #1: execute_bash ----',
  'Description: Execute a bash command in the terminal.',
  '* One command at a time: chain several with `&&`.',
  '',
  'Parameters:',
  '  (1) command (string, required): The bash command to execute.',
  '  (2) is_input (string, optional): If True, the command is an input to the running process.',
  'Allowed values: [`true`, `false`]',
  '---- END FUNCTION #1 ----',
  '',
  '---- BEGIN FUNCTION #2: finish ----',
  'Description: Finish the interaction when the task is complete.',
  'No parameters are required for this function.',
  '---- END FUNCTION #2 ----',
].join('\n');
const OH_TEXT_SYSTEM = `${OH_SYSTEM}\nYou have access to the following functions:\n\n${OH_FUNCTIONS}\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<function=example_function_name>\n<parameter=example_parameter_1>value_1</parameter>\n</function>`;
const xmlCall = (name: string, args: Record<string, string>) => `<function=${name}>\n${Object.entries(args).map(([k, v]) => `<parameter=${k}>${v}</parameter>\n`).join('')}</function>`;
function openhandsCompletion(task: Task, finish: boolean): unknown {
  const taskText = `<uploaded_files>\n/workspace/${task.repo.split('/')[1]}\n</uploaded_files>\n<issue_description>\n${task.issue}\n</issue_description>`;
  const fncall: unknown[] = [
    { role: 'system', content: OH_SYSTEM },
    { role: 'user', content: taskText },
  ];
  const text: unknown[] = [
    { role: 'system', content: OH_TEXT_SYSTEM },
    { role: 'user', content: taskText },
  ];
  task.turns.forEach((t, i) => {
    const id = `toolu_${String(i + 1).padStart(2, '0')}`;
    fncall.push({ role: 'assistant', content: t.thought, tool_calls: [{ id, type: 'function', function: { name: 'execute_bash', arguments: JSON.stringify({ command: t.cmd }) } }] });
    fncall.push({ role: 'tool', content: shown(t), tool_call_id: id, name: 'execute_bash' });
    text.push({ role: 'assistant', content: `${t.thought}\n\n${xmlCall('execute_bash', { command: t.cmd })}` });
    text.push({ role: 'user', content: `EXECUTION RESULT of [execute_bash]:\n${shown(t)}` });
  });
  const last = finish
    ? { content: 'The fix is complete.', tool_calls: [{ index: 1, id: 'toolu_fin', type: 'function', function: { name: 'finish', arguments: '{}' } }], reasoning_content: 'Tests pass; nothing left.' }
    : { content: 'Let me run the tests once more.', tool_calls: [{ index: 1, id: 'toolu_more', type: 'function', function: { name: 'execute_bash', arguments: '{"command": "python -m pytest -q"}' } }] };
  const lastText = `${last.content}\n\n${finish ? xmlCall('finish', {}) : xmlCall('execute_bash', { command: 'python -m pytest -q' })}`;
  return {
    messages: text,
    response: { id: 'resp-text', choices: [{ message: { content: lastText, tool_calls: null }, finish_reason: 'stop' }] },
    args: [],
    kwargs: { tool_choice: 'none' },
    timestamp: 1767225600.5,
    cost: 0.0,
    fncall_messages: fncall,
    fncall_response: { id: 'resp-fn', model: null, choices: [{ message: { role: 'assistant', ...last }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 3000, completion_tokens: 60 } },
  };
}
write(`openhands-completions/trajs/${TASKS.pager!.id}/${MODEL}-1767225600.5.json`, json(openhandsCompletion(TASKS.pager!, true)));
write(`openhands-completions/trajs/${TASKS.retry!.id}/${MODEL}-1767229200.0.json`, json(openhandsCompletion(TASKS.retry!, false)));
write('openhands-completions/results/results.json', json({ total_instances: 2, resolved: ['acme__pager-12'], unresolved_ids: [], empty_error_patch_ids: ['acme__retry-3'], completed_ids: ['acme__pager-12', 'acme__retry-3'] }));

// ---------- OpenHands output.jsonl: event history linked by cause ----------

function openhandsOutput(task: Task, resolved: boolean | null, error: string | null): unknown {
  const history: unknown[] = [
    { id: 0, source: 'agent', action: 'system', message: OH_SYSTEM, args: { content: OH_SYSTEM, tools: [{ type: 'function', function: { name: 'execute_bash', parameters: { type: 'object', properties: { command: { type: 'string' } } } } }, { type: 'function', function: { name: 'finish', parameters: { type: 'object', properties: {} } } }] } },
    { id: 1, source: 'user', action: 'message', message: task.issue, args: { content: `<issue_description>\n${task.issue}\n</issue_description>`, image_urls: null } },
    { id: 2, source: 'user', action: 'recall', args: { recall_type: 'workspace_context', query: task.issue, thought: '' } },
    { id: 3, source: 'environment', cause: 2, observation: 'recall', content: 'Added workspace context', extras: {} },
  ];
  let id = 4;
  task.turns.forEach((t, i) => {
    const tcId = `toolu_${i + 1}`;
    const mr = { id: `gen-${task.id}-${i}`, model: MODEL, choices: [{ message: { role: 'assistant', content: t.thought, tool_calls: [{ id: tcId, type: 'function', function: { name: 'execute_bash', arguments: JSON.stringify({ command: t.cmd }) } }] } }] };
    const tcm = { function_name: 'execute_bash', tool_call_id: tcId, model_response: mr, total_calls_in_response: 1 };
    const actionId = id++;
    history.push({ id: actionId, source: 'agent', action: 'run', message: `Running command: ${t.cmd}`, args: { command: t.cmd, thought: t.thought }, tool_call_metadata: tcm });
    history.push({ id: id++, source: 'agent', cause: actionId, observation: 'run', message: `Command \`${t.cmd}\` executed with exit code 0.`, content: shown(t), extras: { command: t.cmd, metadata: { exit_code: 0 } }, tool_call_metadata: tcm });
    if (error && i === 0) history.push({ id: id++, source: 'agent', observation: 'error', message: 'Parameter "path" is required.', content: 'Parameter "path" is required.', extras: {} });
  });
  if (!error) {
    const mr = { id: `gen-${task.id}-fin`, model: MODEL, choices: [{ message: { role: 'assistant', content: 'Done.', tool_calls: [{ id: 'toolu_fin', type: 'function', function: { name: 'finish', arguments: '{}' } }] } }] };
    history.push({ id: id++, source: 'agent', action: 'finish', args: { final_thought: 'Done.', task_completed: 'true', outputs: {}, thought: 'Done.' }, tool_call_metadata: { function_name: 'finish', tool_call_id: 'toolu_fin', model_response: mr, total_calls_in_response: 1 } });
  }
  return {
    instance_id: task.id,
    instruction: `<issue_description>\n${task.issue}\n</issue_description>`,
    instance: { repo: task.repo, instance_id: task.id, problem_statement: task.issue },
    metadata: { agent_class: 'CodeActAgent', llm_config: { model: MODEL }, max_iterations: 30 },
    history,
    metrics: { accumulated_cost: 0.05 },
    error,
    test_result: { git_patch: task.patch, ...(resolved === null ? {} : { report: { resolved, empty_generation: false } }) },
  };
}
write('openhands-events/output.jsonl', [openhandsOutput(TASKS.dates!, true, null), openhandsOutput(TASKS.slug!, null, 'RuntimeError: Agent reached maximum iteration in headless mode. Current iteration: 30, max iteration: 30')].map((r) => JSON.stringify(r)).join('\n') + '\n');

// ---------- HF chat datasets: SWE-smith-style JSON lines, nebius-style and SWE-smith-style Parquet ----------

const SMITH_SYSTEM = 'You are a helpful assistant that can interact with a computer to solve tasks.\n---- BEGIN FUNCTION #1: bash ----\nExecute a bash command.\n---- END FUNCTION #1 ----';
function smithRow(task: Task, resolved: boolean | number | bigint, n: number): Record<string, unknown> {
  const messages = [
    { role: 'system', content: SMITH_SYSTEM },
    { role: 'user', content: `<pr_description>\n${task.issue}\n</pr_description>` },
  ];
  for (const t of task.turns) {
    messages.push({ role: 'assistant', content: `${t.thought}\n\n<function=bash>\n<parameter=command>${t.cmd}</parameter>\n</function>` });
    messages.push({ role: 'user', content: `OBSERVATION:\n${t.kind === 'long' ? t.out.slice(0, 300) + '<response clipped><NOTE>To save on context only part of this file has been shown to you.</NOTE>' : t.out}` });
  }
  messages.push({ role: 'assistant', content: 'Submitting.\n\n<function=submit>\n</function>' });
  messages.push({ role: 'user', content: `OBSERVATION:\n${task.patch}` });
  return { instance_id: task.id, messages, resolved, model: MODEL, traj_id: `${task.id}.run${n}`, patch: task.patch };
}
write('hf/swe-smith-style.jsonl', [smithRow(TASKS.pager!, true, 1), smithRow(TASKS.slug!, false, 1)].map((r) => JSON.stringify(r)).join('\n') + '\n');

type Rep = 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
const s = (name: string, r: Rep = 'REQUIRED'): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: r });
const listOf = (name: string, children: number): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'REQUIRED', num_children: children },
];

function nebiusRow(task: Task, target: boolean): Record<string, unknown> {
  const trajectory: Record<string, unknown>[] = [
    { role: 'system', system_prompt: SWE_SYSTEM, text: null, mask: false, cutoff_date: '01.01.2023' },
    { role: 'user', system_prompt: null, text: `We're currently solving the following issue within our repository. Here's the issue text:\nISSUE:\n${task.issue}\n\nINSTRUCTIONS:\nFix it.${prompt(task.repo)}`, mask: false, cutoff_date: null },
  ];
  for (const t of task.turns) {
    trajectory.push({ role: 'ai', system_prompt: null, text: `${t.thought}\n\`\`\`\n${t.cmd}\n\`\`\``, mask: true, cutoff_date: null });
    trajectory.push({ role: 'user', system_prompt: null, text: `${t.kind === 'long' ? t.out.slice(0, 100) : t.out}${prompt(task.repo)}`, mask: false, cutoff_date: null });
  }
  trajectory.push({ role: 'ai', system_prompt: null, text: 'Submitting.\n```\nsubmit\n```', mask: true, cutoff_date: null });
  return { instance_id: task.id, model_name: MODEL, target, exit_status: 'submitted', generated_patch: task.patch, trajectory };
}
const nebiusRows = [nebiusRow(TASKS.dates!, true), nebiusRow(TASKS.slug!, false)];
const nebiusSchema: SchemaElement[] = [
  { name: 'root', num_children: 6 },
  s('instance_id'),
  s('model_name'),
  { name: 'target', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
  s('exit_status'),
  s('generated_patch'),
  ...listOf('trajectory', 5),
  s('role'),
  s('system_prompt', 'OPTIONAL'),
  s('text', 'OPTIONAL'),
  { name: 'mask', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
  s('cutoff_date', 'OPTIONAL'),
];
const cols = (rows: Record<string, unknown>[], names: string[]) => names.map((name) => ({ name, data: rows.map((r) => r[name]) }));
// Snappy (hyparquet-writer's default): the codec most HF shards use.
write('hf/nebius-style-00000-of-00001.parquet', new Uint8Array(parquetWriteBuffer({ columnData: cols(nebiusRows, ['instance_id', 'model_name', 'target', 'exit_status', 'generated_patch', 'trajectory']) as never, schema: nebiusSchema })));

// SWE-smith style with resolved as int64 0/1 and gzip pages, as some dataset exports write them.
const smithRows = [smithRow(TASKS.dates!, 1n, 2), smithRow(TASKS.retry!, 0n, 2)];
const smithSchema: SchemaElement[] = [
  { name: 'root', num_children: 6 },
  s('instance_id'),
  ...listOf('messages', 2),
  s('role'),
  s('content'),
  { name: 'resolved', type: 'INT64', repetition_type: 'REQUIRED' },
  s('model'),
  s('traj_id'),
  s('patch'),
];
write('hf/swe-smith-style-gzip-00000-of-00001.parquet', new Uint8Array(parquetWriteBuffer({
  columnData: cols(smithRows, ['instance_id', 'messages', 'resolved', 'model', 'traj_id', 'patch']) as never,
  schema: smithSchema,
  codec: 'GZIP',
  compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b, { level: 9 })) },
})));

rmSync(join(OUT, '.gitkeep'), { force: true });
console.log(`wrote ${OUT}`);
