import type { ChatTokenizer } from './template.js';

/** One exported message as the shard holds it (hyparquet gives null for absent values). */
export interface ShardMessage {
  role: string;
  content: string;
  reasoning_content: string | null;
  tool_calls: { id: string; type: string; function: { name: string; arguments: string } }[] | null;
  tool_call_id: string | null;
  name: string | null;
  loss: boolean | null;
}

export type ArgumentsMode = 'auto' | 'string' | 'object';

/**
 * `auto`: a template that tests `arguments is string` (Qwen3) copes with the exported JSON string, which
 * keeps the teacher's exact text; one that pipes arguments through tojson without such a test
 * (Llama 3.1's tool template) expects an object, and a string would render double-encoded.
 */
export function argumentsAsObject(tok: ChatTokenizer, mode: ArgumentsMode): boolean {
  if (mode !== 'auto') return mode === 'object';
  const src = tok.source.replace(/\s+/g, '');
  const pipesToJson = /arguments(\]|'\]|"\])?\|tojson/.test(src);
  const testsString = /arguments(\]|'\]|"\])?isstring/.test(src);
  return pipesToJson && !testsString;
}

function parsedArguments(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : text;
  } catch {
    return text;
  }
}

/**
 * The message dicts handed to the template, the way a user builds OpenAI-style messages for
 * apply_chat_template: role and content always; reasoning_content, tool_calls, tool_call_id and name
 * only when set (a template testing `is defined` must not see a null); trajpipe's own fields (loss,
 * step_value) left out. scripts/golden_tokenize.py builds the same dicts for the golden ids.
 */
export function templateMessages(messages: readonly ShardMessage[], objectArguments: boolean): Record<string, unknown>[] {
  return messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role, content: m.content };
    if (m.reasoning_content !== null) out.reasoning_content = m.reasoning_content;
    if (m.tool_calls && m.tool_calls.length > 0) {
      out.tool_calls = m.tool_calls.map((c) => ({
        id: c.id,
        type: c.type,
        function: { name: c.function.name, arguments: objectArguments ? parsedArguments(c.function.arguments) : c.function.arguments },
      }));
    }
    if (m.tool_call_id !== null) out.tool_call_id = m.tool_call_id;
    if (m.name !== null) out.name = m.name;
    return out;
  });
}

/** The row's `tools` column (a JSON string) as the list apply_chat_template(tools=...) takes; null when absent. */
export function parseTools(tools: string | null): unknown[] | null | { error: string } {
  if (tools === null || tools === '') return null;
  try {
    const v: unknown = JSON.parse(tools);
    if (v === null) return null;
    if (!Array.isArray(v)) return { error: 'is not a JSON list' };
    return v;
  } catch (err) {
    return { error: `is not valid JSON (${(err as Error).message})` };
  }
}
