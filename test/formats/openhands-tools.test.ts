import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/formats/detect.js';
import { functionsFromPrompt } from '../../src/formats/function-prompt.js';
import type { AdapterContext, Draft } from '../../src/formats/types.js';
import { ROOT } from '../helpers/cli.js';

// OpenHands completion logs of models called without native function calling: the tools exist only as
// text in the text view's system prompt. They are recovered as function specs so the exported row
// declares every tool its turns call.

const NATIVE = 'data/sample/native/openhands-completions/trajs';
const ctx = (file: string): AdapterContext => ({ file, record: 0, dataset: { messages_column: null, resolved_column: null, task_id_column: null } });

function convert(value: unknown, file: string): Draft {
  const d = detectFormat(value, ctx(file));
  if (d.kind !== 'adapter') throw new Error(`not detected: ${d.kind}`);
  return d.adapter.convert(value, ctx(file));
}
const names = (tools: Record<string, unknown>[] | null) => (tools ?? []).map((t) => (t.function as { name: string }).name);
const calledTools = (d: Draft) => [...new Set(d.messages.flatMap((m) => (m.tool_calls ?? []).map((c) => c.function.name)))].sort();

describe('function specs written into a prompt', () => {
  const prompt = [
    'You are an agent.\nYou have access to the following functions:\n',
    '---- BEGIN FUNCTION #1: execute_bash ----',
    'Description: Execute a bash command.\n* One at a time.\n',
    'Parameters:',
    '  (1) command (string, required): The command.\nCan be empty.',
    '  (2) is_input (string, optional): Input to a process.',
    'Allowed values: [`true`, `false`]',
    '  (3) view_range (array, optional): Lines to show.',
    '---- END FUNCTION #1 ----',
    '',
    '---- BEGIN FUNCTION #2: finish ----',
    'Description: Finish the interaction.',
    'No parameters are required for this function.',
    '---- END FUNCTION #2 ----',
    '\nIf you choose to call a function ONLY reply in the following format',
  ].join('\n');

  it('parses names, descriptions, parameter types, required lists and allowed values', () => {
    expect(functionsFromPrompt(prompt)).toEqual([
      {
        type: 'function',
        function: {
          name: 'execute_bash',
          description: 'Execute a bash command.\n* One at a time.',
          parameters: {
            type: 'object',
            properties: {
              command: { type: 'string', description: 'The command.\nCan be empty.' },
              is_input: { type: 'string', enum: ['true', 'false'], description: 'Input to a process.' },
              view_range: { type: 'array', description: 'Lines to show.' },
            },
            required: ['command'],
          },
        },
      },
      { type: 'function', function: { name: 'finish', description: 'Finish the interaction.', parameters: { type: 'object', properties: {}, required: [] } } },
    ]);
  });

  it('finds nothing in a prompt that describes no function', () => {
    expect(functionsFromPrompt('You are a helpful assistant.')).toEqual([]);
  });
});

describe('OpenHands completion log without kwargs.tools (project sample)', () => {
  const file = `${NATIVE}/acme__pager-12/teacher-large-2026-1767225600.5.json`;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

  it('declares the tools the text-view prompt defines, keeps the short fncall prompt and the long one in meta', () => {
    const run = convert(raw, file);
    expect(names(run.tools)).toEqual(['execute_bash', 'finish']);
    expect(calledTools(run)).toEqual(['execute_bash', 'finish']);
    expect(run.messages[0]!.content).not.toContain('BEGIN FUNCTION');
    expect(run.meta.tools_from).toBe('messages[0] (text-view system prompt)');
    expect(run.meta.text_view_system_prompt).toContain('---- BEGIN FUNCTION #1: execute_bash ----');
  });

  it('prefers kwargs.tools when the log has them', () => {
    const spec = { type: 'function', function: { name: 'execute_bash', parameters: { type: 'object', properties: {} } } };
    const run = convert({ ...raw, kwargs: { tools: [spec] } }, file);
    expect(run.tools).toEqual([spec]);
    expect(run.meta.tools_from).toBe('kwargs.tools');
  });

  it('the text view alone keeps its prompt whole and declares no native tools', () => {
    const { fncall_messages: _m, fncall_response: _r, ...textOnly } = raw;
    const run = convert(textOnly, file);
    expect(run.tools).toBeNull();
    expect(run.messages[0]!.content).toContain('---- BEGIN FUNCTION #2: finish ----');
    expect(run.messages.some((m) => m.tool_calls)).toBe(false);
  });
});

const CORPUS = resolve(ROOT, '../shared/corpus/openhands/swebench-verified_MopenHands_claude-3.5-sonnet_completions/trajs');
const HAVE = existsSync(CORPUS);
if (!HAVE) console.warn(`SKIPPED: ${CORPUS} not found; the OpenHands completion tools test needs ../shared/corpus beside the project.`);

describe.skipIf(!HAVE)('OpenHands completion logs of the real corpus', () => {
  it('every log declares every tool its turns call, recovered from the 5,564-character text prompt', () => {
    const files = HAVE ? readdirSync(CORPUS).filter((f) => f.endsWith('.json')) : [];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const path = join(CORPUS, f);
      const raw = JSON.parse(readFileSync(path, 'utf8')) as { kwargs: Record<string, unknown>; messages: { content: string }[] };
      expect(raw.kwargs.tools, f).toBeUndefined();
      const run = convert(raw, path);
      const declared = names(run.tools);
      expect(declared, f).toEqual(['execute_bash', 'finish', 'str_replace_editor']);
      for (const t of calledTools(run)) expect(declared, `${f} calls ${t}`).toContain(t);
      expect(run.meta.text_view_system_prompt, f).toBe(raw.messages[0]!.content);
      const editor = run.tools!.find((t) => (t.function as { name: string }).name === 'str_replace_editor')!.function as { parameters: { required: string[]; properties: Record<string, { enum?: string[] }> } };
      expect(editor.parameters.required).toEqual(['command', 'path']);
      expect(editor.parameters.properties.command!.enum).toEqual(['view', 'create', 'str_replace', 'insert', 'undo_edit']);
    }
  });
});
