import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { retryAfterMs } from './limits.js';
import { scrubUrlsInText, splitEndpoint } from '../core/endpoint.js';

/** The JSON body of one chat-completions request, exactly as sent (and hashed for the cache key). */
export type ChatRequestBody = Record<string, unknown> & { model: string; messages: unknown[] };

/**
 * rate-limit, server (5xx, 408, 409), timeout, connection, invalid-body (a 200 that is not a chat completion):
 * the teacher's trouble, retried. rejected (other 4xx): this request's own trouble. fatal (401/403/404):
 * the configuration's, every request would fail the same way.
 */
export type TeacherErrorKind = 'rate-limit' | 'server' | 'timeout' | 'connection' | 'invalid-body' | 'rejected' | 'fatal';

/** A failed request, classified for the retry policy. Its message never holds the key (see redactor). */
export class TeacherRequestError extends Error {
  override name = 'TeacherRequestError';
  constructor(
    readonly kind: TeacherErrorKind,
    message: string,
    readonly status: number | null,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind !== 'rejected' && this.kind !== 'fatal';
  }
}

/** Sends one request and returns the raw response body; throws TeacherRequestError. */
export interface TeacherTransport {
  send(body: ChatRequestBody, timeoutMs: number): Promise<string>;
}

/** Replaces every secret in a text; applied to every error message and response body we keep. */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return (text) => list.reduce((t, s) => t.split(s).join('[redacted]'), text);
}

/** For error messages: the secrets redacted and every URL quoted in them stripped of credentials and query. */
function messageRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const redact = redactor(secrets);
  return (text) => scrubUrlsInText(redact(text));
}

/**
 * The openai SDK, imported on first use: most runs never talk to a teacher, and importing it at start-up
 * cost every process ~50 ms of CPU (docs/design.md, "Start-up"). Set once loaded, for classify(): an error
 * of the SDK's classes can only exist once it is.
 */
let sdk: typeof import('openai') | null = null;
export async function loadOpenAI(): Promise<typeof import('openai')> {
  return (sdk ??= await import('openai'));
}
/** The SDK if loadOpenAI() has loaded it, else null. */
export function loadedOpenAI(): typeof import('openai') | null {
  return sdk;
}

/** Placeholder sent when no key is set: local vLLM and SGLang servers accept any. */
const NO_KEY = 'EMPTY';

export interface OpenAITransportOptions {
  baseURL: string;
  apiKey: string | undefined;
  fetch?: typeof fetch;
}

/**
 * The openai client as a bare transport: its own retries are off (ours honour Retry-After, share a 429
 * cool-down and count every attempt), and the raw body is returned unparsed so it can be cached as sent.
 */
export function createOpenAITransport(opts: OpenAITransportOptions): TeacherTransport {
  // A query in the base URL (Azure's ?api-version=) goes with every request; the SDK would glue paths after it.
  const endpoint = splitEndpoint(opts.baseURL);
  const redactBody = redactor([opts.apiKey, ...endpoint.secrets]);
  const redact = messageRedactor([opts.apiKey, ...endpoint.secrets]);
  let client: Promise<OpenAI> | null = null;
  const connect = () =>
    (client ??= loadOpenAI().then(
      ({ default: OpenAI }) =>
        new OpenAI({
          baseURL: endpoint.baseURL,
          ...(Object.keys(endpoint.query).length ? { defaultQuery: endpoint.query } : {}),
          apiKey: opts.apiKey ?? NO_KEY,
          maxRetries: 0,
          logLevel: 'off',
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
        }),
    ));
  return {
    async send(body, timeoutMs) {
      const openai = await connect();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      try {
        const response = await openai.chat.completions
          .create(body as unknown as ChatCompletionCreateParamsNonStreaming, { signal: controller.signal, timeout: timeoutMs + 1_000 })
          .asResponse();
        // The timeout covers the whole body too: a server that stalls mid-answer is a timeout, not a hang.
        return redactBody(await response.text());
      } catch (err) {
        throw classify(err, timedOut, timeoutMs, redact);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function classify(err: unknown, timedOut: boolean, timeoutMs: number, redact: (s: string) => string): TeacherRequestError {
  if (timedOut || (sdk && err instanceof sdk.APIConnectionTimeoutError)) {
    return new TeacherRequestError('timeout', `no complete answer within ${timeoutMs / 1000}s`, null, null);
  }
  if (sdk && err instanceof sdk.APIUserAbortError) return new TeacherRequestError('timeout', 'request aborted', null, null);
  if (sdk && err instanceof sdk.APIConnectionError) {
    const cause = (err as { cause?: { message?: string; cause?: { code?: string } } }).cause;
    const detail = cause?.cause?.code ?? cause?.message ?? err.message;
    return new TeacherRequestError('connection', redact(`connection failed (${detail})`), null, null);
  }
  if (sdk && err instanceof sdk.APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = redact(`HTTP ${status}: ${err.message}`.slice(0, 500));
    const wait = retryAfterMs(err.headers ?? undefined);
    if (status === 429) return new TeacherRequestError('rate-limit', message, status, wait);
    // Wrong key, URL or model name: every request would fail the same way.
    if (status === 401 || status === 403 || status === 404) return new TeacherRequestError('fatal', message, status, null);
    if (status === 408 || status === 409 || status >= 500) return new TeacherRequestError('server', message, status, wait);
    return new TeacherRequestError('rejected', message, status, null);
  }
  // A body cut off mid-read surfaces as a plain TypeError/AbortError from fetch.
  const text = err instanceof Error ? err.message : String(err);
  return new TeacherRequestError('connection', redact(`connection failed (${text})`), null, null);
}
