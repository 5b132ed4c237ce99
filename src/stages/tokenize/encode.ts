import { encode, type ChatTokenizer } from './template.js';
import type { CharSpan } from './spans.js';

export const IGNORE_INDEX = -100;

export type Encoded = { inputIds: number[]; labels: number[] } | { reason: string; message: string };

/**
 * Tokenizes the rendering piece by piece (outside / inside each trained span) so every token is known to
 * lie inside or outside a span, and checks that the pieces give exactly the ids of the whole rendering
 * (what apply_chat_template(tokenize=True) returns). A span edge that fell inside a token would show as
 * a difference; such a row is rejected rather than trained on a shifted mask.
 */
export function encodeWithSpans(tok: ChatTokenizer, rendered: string, spans: readonly CharSpan[]): Encoded {
  const inputIds: number[] = [];
  const labels: number[] = [];
  let at = 0;
  const push = (text: string, trained: boolean) => {
    if (!text) return;
    for (const id of encode(tok, text)) {
      inputIds.push(id);
      labels.push(trained ? id : IGNORE_INDEX);
    }
  };
  for (const s of spans) {
    push(rendered.slice(at, s.start), false);
    push(rendered.slice(s.start, s.end), true);
    at = s.end;
  }
  push(rendered.slice(at), false);
  const whole = encode(tok, rendered);
  if (whole.length !== inputIds.length || whole.some((id, i) => id !== inputIds[i])) {
    const i = whole.findIndex((id, j) => id !== inputIds[j]);
    return { reason: 'span-splits-a-token', message: `a trained turn's edge falls inside a token (first difference at token ${i === -1 ? Math.min(whole.length, inputIds.length) : i})` };
  }
  return { inputIds, labels };
}

export function countTrained(labels: readonly number[]): number {
  let n = 0;
  for (const l of labels) if (l !== IGNORE_INDEX) n++;
  return n;
}
