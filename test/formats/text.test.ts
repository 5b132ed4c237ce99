import { describe, expect, it } from 'vitest';
import { observationFlags } from '../../src/formats/flags.js';
import { contentText, fencedBlocks, miniShellAction, shellAction, taskStatement, xmlFunctionCalls } from '../../src/formats/text.js';

describe('text actions', () => {
  it('finds fenced blocks with their language and mini-swe-agent needs exactly one bash block', () => {
    const text = 'THOUGHT: x\n\n```bash\nls -la\n```\nand\n```python\nprint(1)\n```';
    expect(fencedBlocks(text)).toEqual([{ lang: 'bash', body: 'ls -la' }, { lang: 'python', body: 'print(1)' }]);
    expect(miniShellAction(text)).toBe('ls -la');
    expect(miniShellAction('```bash\na\n```\n```bash\nb\n```')).toBeNull();
    expect(miniShellAction('no block at all')).toBeNull();
  });

  it('keeps multi-line SWE-agent edit commands whole and recognises special actions', () => {
    expect(shellAction('edit 12:14\n    return x\nend_of_edit\n')).toEqual({ kind: 'shell', name: 'edit', command: 'edit 12:14\n    return x\nend_of_edit', arguments: null, tool_call_id: null });
    expect(shellAction('submit\n').kind).toBe('submit');
    expect(shellAction('exit_context')).toMatchObject({ kind: 'exit', name: 'exit_context' });
  });

  it('parses XML-style function calls', () => {
    const calls = xmlFunctionCalls('Let me look.\n<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/a.py</parameter>\n</function>');
    expect(calls).toEqual([{ name: 'str_replace_editor', params: { command: 'view', path: '/a.py' } }]);
    expect(xmlFunctionCalls('<function=submit>\n</function>')).toEqual([{ name: 'submit', params: {} }]);
  });

  it('flattens content parts and nulls', () => {
    expect(contentText(null)).toBe('');
    expect(contentText([{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { type: 'image_url', image_url: {} }])).toBe('a[image_url content]');
  });

  it('extracts the issue from the usual task templates', () => {
    expect(taskStatement('x <issue_description>\nBug\n</issue_description> y')).toBe('Bug');
    expect(taskStatement('<pr_description>\nConsider the following PR description:\nBug 2\n</pr_description>')).toBe('Bug 2');
    expect(taskStatement("Here's the issue text:\nISSUE:\nBug 3\n\nINSTRUCTIONS:\nDo it")).toBe('Bug 3');
    expect(taskStatement('plain')).toBe('plain');
  });
});

describe('observation flags', () => {
  it('detects the harnesses own truncation, timeout and format-error wording', () => {
    expect(observationFlags('<returncode>0</returncode><output_head>a</output_head>\n<elided_chars>\n10 characters elided\n</elided_chars>')).toEqual({ truncated_observation: true });
    expect(observationFlags('abc<response clipped><NOTE>To save on context</NOTE>')).toEqual({ truncated_observation: true });
    expect(observationFlags('EXECUTION TIMED OUT AND INTERRUPT FAILED. RESTARTING PROCESS.')).toEqual({ timeout: true });
    expect(observationFlags('The last command <command>sleep 99</command> timed out and has been killed.')).toEqual({ timeout: true });
    expect(observationFlags('Please always provide EXACTLY ONE action in triple backticks, found 2 actions.')).toEqual({ format_error: true });
  });

  it('flags an action that failed in the harness or shell words (runtime_error), not a non-zero exit status', () => {
    expect(observationFlags('OBSERVATION:\nERROR:\nNo replacement was performed, old_str `x = 1` did not appear verbatim in /repo/a.py.')).toEqual({ runtime_error: true });
    expect(observationFlags('ERROR:\nInvalid `path` parameter: /repo/nope.py. The path /repo/nope.py does not exist.')).toEqual({ runtime_error: true });
    expect(observationFlags('/bin/bash: line 8919: mvn: command not found')).toEqual({ runtime_error: true });
    expect(observationFlags('<returncode>1</returncode>\n<output>\n</output>')).toEqual({});
    expect(observationFlags('<returncode>1</returncode>\n<output>\nFAILED tests/test_a.py::test_b - AssertionError\n</output>')).toEqual({});
  });

  it('does not flag program output that merely mentions a timeout', () => {
    expect(observationFlags('<returncode>1</returncode>\n<output>\nFAILED test_retry_timeout - requests timed out\n</output>')).toEqual({});
  });
});
