import { z } from 'zod';

/** The JSON schema sent as response_format: exactly one value in [0, 1] per step. */
export function answerJsonSchema(steps: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      values: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: steps, maxItems: steps },
    },
    required: ['values'],
    additionalProperties: false,
  };
}

/** The part of a chat-completions response body we read; everything else the server sends is ignored. */
export const ChatCompletionBody = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().optional(),
        message: z.object({ content: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() })
    .partial()
    .nullable()
    .optional(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

export function answerSchema(steps: number) {
  return z.object({ values: z.array(z.number().min(0).max(1)).length(steps) });
}

export type ParseResult = { ok: true; values: number[] } | { ok: false; error: string };
export type VerdictParseResult = { ok: true; verdicts: boolean[] } | { ok: false; error: string };

/** The JSON schema of the verdict request: exactly one boolean per step, true = the step was correct. */
export function verdictJsonSchema(steps: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: { verdicts: { type: 'array', items: { type: 'boolean' }, minItems: steps, maxItems: steps } },
    required: ['verdicts'],
    additionalProperties: false,
  };
}

/** A verdict is a boolean; "correct" / "incorrect" (any case) are read too, for endpoints without structured output. */
const Verdict = z.union([z.boolean(), z.string().regex(/^(in)?correct$/i).transform((s) => s.toLowerCase() === 'correct')]);

export function verdictSchema(steps: number) {
  return z.object({ verdicts: z.array(Verdict).length(steps) });
}

/** Reasoning models served without a reasoning parser put their thoughts inline; they are never the answer. */
function stripThinking(text: string): string {
  return text.replace(/<think(?:ing)?>[\s\S]*?<\/think(?:ing)?>/gi, '').trim();
}

/** Balanced {...} or [...] spans of a text, in order, so JSON embedded in prose can be found. */
function jsonSpans(text: string): string[] {
  const spans: string[] = [];
  for (let start = 0; start < text.length; start++) {
    const open = text[start];
    if (open !== '{' && open !== '[') continue;
    const close = open === '{' ? '}' : ']';
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === open) depth++;
      else if (c === close && --depth === 0) {
        spans.push(text.slice(start, i + 1));
        start = i;
        break;
      }
    }
  }
  return spans;
}

/** Candidate JSON texts, most likely first: the whole answer, fenced blocks (last first), embedded spans. */
function candidates(content: string): string[] {
  const text = stripThinking(content);
  const out = [text];
  const fences = [...text.matchAll(/```(?:json)?\s*\n?([\s\S]*?)```/gi)].map((m) => m[1]!.trim());
  out.push(...fences.reverse());
  out.push(...jsonSpans(text).reverse());
  return out;
}

/**
 * The tolerant reader both requests share: the first candidate JSON (plain, fenced, embedded in prose; a bare
 * array is taken as the list under `field`) that the schema accepts, or the first problem found.
 */
function parseStructured<T>(
  content: string | null | undefined,
  field: 'values' | 'verdicts',
  schema: z.ZodType<Record<string, T[]>>,
  describe: (error: z.ZodError, value: unknown) => string,
): { ok: true; list: T[] } | { ok: false; error: string } {
  if (content === null || content === undefined || content.trim() === '') return { ok: false, error: 'empty answer' };
  let firstProblem: string | null = null;
  for (const candidate of candidates(content)) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch {
      continue;
    }
    if (Array.isArray(value)) value = { [field]: value };
    const parsed = schema.safeParse(value);
    if (parsed.success) return { ok: true, list: parsed.data[field]! };
    firstProblem ??= describe(parsed.error, value);
  }
  return { ok: false, error: firstProblem ?? `no JSON object with "${field}" found in the answer` };
}

/**
 * Reads the values from one answer's text: structured output gives plain JSON; other endpoints may wrap it
 * in prose or code fences. A bare array is accepted as the values. Only validated numbers leave this function.
 */
export function parseAnswer(content: string | null | undefined, steps: number): ParseResult {
  const r = parseStructured(content, 'values', answerSchema(steps) as z.ZodType<Record<string, number[]>>, (e, v) => describe(e, v, steps));
  return r.ok ? { ok: true, values: r.list } : r;
}

/** Reads one verdict answer: {"verdicts": [true, false, ...]}, exactly one per step. */
export function parseVerdictAnswer(content: string | null | undefined, steps: number): VerdictParseResult {
  const r = parseStructured(content, 'verdicts', verdictSchema(steps) as unknown as z.ZodType<Record<string, boolean[]>>, (e, v) => describeVerdicts(e, v, steps));
  return r.ok ? { ok: true, verdicts: r.list } : r;
}

function describeVerdicts(error: z.ZodError, value: unknown, steps: number): string {
  const verdicts = (value as { verdicts?: unknown })?.verdicts;
  if (Array.isArray(verdicts) && verdicts.length !== steps) return `wrong number of verdicts: ${verdicts.length} for ${steps} steps`;
  const issue = error.issues[0];
  if (Array.isArray(verdicts) && issue && issue.path.length === 2) return `not a verdict at step ${String(issue.path[1])}: ${JSON.stringify(verdicts[issue.path[1] as number])}`;
  return `invalid answer: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
}

function describe(error: z.ZodError, value: unknown, steps: number): string {
  const values = (value as { values?: unknown })?.values;
  if (Array.isArray(values) && values.length !== steps) return `wrong number of values: ${values.length} for ${steps} steps`;
  const issue = error.issues[0];
  if (issue && (issue.code === 'too_big' || issue.code === 'too_small') && issue.path.length === 2) {
    return `value out of range at step ${String(issue.path[1])}: ${JSON.stringify((values as unknown[])[issue.path[1] as number])}`;
  }
  return `invalid answer: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
}

export interface ParsedResponse<R = ParseResult> {
  /** One parse per returned choice, in choice order. */
  choices: R[];
  promptTokens: number;
  completionTokens: number;
}

/**
 * Why a 200 body is not a chat completion (an HTML page from a proxy, a JSON error object, a cut-off body),
 * or null when it is one. Only bodies passing this are cached: anything else is the teacher's failure, retried.
 */
export function completionProblem(raw: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    const start = raw.trimStart().slice(0, 1);
    return start === '<' ? 'a body that is not JSON (an HTML page?)' : raw.trim() === '' ? 'an empty body' : 'a body that is not JSON';
  }
  const parsed = ChatCompletionBody.safeParse(body);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  return `JSON that is not a chat completion (${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'})`;
}

/** Parses a raw response body as stored in the cache. A body that is not a chat completion gives one failed choice. */
export function parseResponseBody(raw: string, steps: number): ParsedResponse {
  return parseChoices<ParseResult>(raw, (content) => parseAnswer(content, steps));
}

/** The verdict answers of a raw response body, one per choice. */
export function parseVerdictBody(raw: string, steps: number): VerdictParseResult[] {
  return parseChoices<VerdictParseResult>(raw, (content) => parseVerdictAnswer(content, steps)).choices;
}

type Failed = { ok: false; error: string };

function parseChoices<R>(raw: string, read: (content: string | null | undefined) => R): ParsedResponse<R | Failed> {
  const none = (error: string): ParsedResponse<Failed> => ({ choices: [{ ok: false, error }], promptTokens: 0, completionTokens: 0 });
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return none('response body is not valid JSON');
  }
  const parsed = ChatCompletionBody.safeParse(body);
  if (!parsed.success) return none('response is not a chat completion');
  const ordered = [...parsed.data.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return {
    choices: ordered.map((c) => read(c.message.content)),
    promptTokens: parsed.data.usage?.prompt_tokens ?? 0,
    completionTokens: parsed.data.usage?.completion_tokens ?? 0,
  };
}

/** Token usage a response reports (zeros when it says nothing). */
export function readUsage(raw: string): { promptTokens: number; completionTokens: number } {
  try {
    const usage = ChatCompletionBody.shape.usage.safeParse((JSON.parse(raw) as { usage?: unknown }).usage);
    if (usage.success && usage.data) return { promptTokens: usage.data.prompt_tokens ?? 0, completionTokens: usage.data.completion_tokens ?? 0 };
  } catch {
    // not JSON: no usage
  }
  return { promptTokens: 0, completionTokens: 0 };
}
