import type { ChatTokenizer } from './template.js';
import { render } from './template.js';

/** A trained stretch of the rendered conversation, in characters: [start, end). */
export interface CharSpan {
  start: number;
  end: number;
  /** Index of the message in the row. */
  message: number;
}

export type SpanResult = { spans: CharSpan[] } | { reason: string; message: string };

/**
 * The text the template opens an assistant turn with: what add_generation_prompt appends to a one-user
 * conversation (Qwen3 `<|im_start|>assistant\n`, Llama 3 `<|start_header_id|>assistant<|end_header_id|>\n\n`).
 * At inference this is the prompt, so it is never trained.
 */
export function generationPrompt(tok: ChatTokenizer, kwargs: Record<string, unknown>): string {
  const probe = [{ role: 'user', content: 'x' }];
  const without = render(tok, { messages: probe, tools: null, addGenerationPrompt: false, kwargs });
  const withPrompt = render(tok, { messages: probe, tools: null, addGenerationPrompt: true, kwargs });
  if (!withPrompt.startsWith(without) || withPrompt.length === without.length) {
    throw new Error(`the chat template in ${tok.dir} has no generation prompt that extends a conversation, so assistant turns cannot be located`);
  }
  return withPrompt.slice(without.length);
}

function occurrences(text: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) at.push(i);
  return at;
}

/**
 * Finds every trained assistant turn in the FULL rendering, never in a per-message or prefix rendering:
 * templates such as Qwen3's re-render earlier turns depending on later ones (reasoning of turns before
 * the last user query is dropped; a last assistant turn gets an empty think block), so the only text
 * that is trained is the text the full conversation renders to.
 *
 * Each assistant message opens with the generation prompt, so the k-th assistant message is the k-th
 * occurrence of that prompt; its turn runs from just after the prompt up to and including the first
 * end-of-turn text after it (the token the model must learn to emit to stop). The counts must agree
 * exactly (a message whose text contains the prompt or ends early would break that), else the row is
 * rejected rather than trained on the wrong tokens.
 */
export function trainedSpans(
  rendered: string,
  roles: readonly string[],
  loss: readonly (boolean | null)[],
  prompt: string,
  endOfTurn: string,
): SpanResult {
  const opens = occurrences(rendered, prompt);
  const assistants = roles.flatMap((r, i) => (r === 'assistant' ? [i] : []));
  if (opens.length !== assistants.length) {
    return {
      reason: 'unaligned-template',
      message: `the rendering holds ${opens.length} assistant openings (${JSON.stringify(prompt)}) for ${assistants.length} assistant messages`,
    };
  }
  const spans: CharSpan[] = [];
  for (const [k, message] of assistants.entries()) {
    if (loss[message] !== true) continue;
    const start = opens[k]! + prompt.length;
    const close = rendered.indexOf(endOfTurn, start);
    const next = opens[k + 1] ?? rendered.length;
    if (close === -1 || close + endOfTurn.length > next) {
      return { reason: 'unaligned-template', message: `assistant message ${message} has no end-of-turn ${JSON.stringify(endOfTurn)} before the next turn` };
    }
    spans.push({ start, end: close + endOfTurn.length, message });
  }
  return { spans };
}
