import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import { StageStopped, UserError } from '../core/errors.js';
import { scrubUrlsInText, splitEndpoint } from '../core/endpoint.js';
import { loadedOpenAI, loadOpenAI, redactor } from './client.js';

/** The part of a batch object trajpipe reads. */
export interface BatchInfo {
  id: string;
  status: string;
  input_file_id: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
}

/** Finished: its output and error files (if any) are final. */
export const TERMINAL_STATUSES = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** A provider's Batch API (OpenAI's and the ones that copy it), as trajpipe uses it; replaceable in tests. */
export interface BatchTransport {
  /** Uploads a JSONL file with purpose "batch"; returns the file id. */
  upload(path: string): Promise<string>;
  /** An uploaded batch file of this name, if one exists (a run killed after uploading, before recording it). */
  findUpload(filename: string): Promise<string | null>;
  create(inputFileId: string, metadata: Record<string, string>): Promise<BatchInfo>;
  /** A batch created from this input file, if one exists (a run killed after creating, before recording it). */
  findBatch(inputFileId: string): Promise<BatchInfo | null>;
  retrieve(id: string): Promise<BatchInfo>;
  /** The lines of an output or error file, streamed. */
  lines(fileId: string): AsyncIterable<string>;
}

const NO_KEY = 'EMPTY';
/** How far back a lost upload or batch is looked for: a run's own are recent. */
const LIST_LIMIT = 1_000;

/**
 * The openai client's files and batches APIs. Its own retries are kept for reads (idempotent) and turned
 * off for uploads and creates, where a retry after a lost answer could submit twice; a failed call stops
 * the stage resumably instead, and the rerun finds what was submitted from the recorded state.
 */
export function createOpenAIBatchTransport(opts: { baseURL: string; apiKey: string | undefined; endpoint: string }): BatchTransport {
  const endpoint = splitEndpoint(opts.baseURL);
  const redact = redactor([opts.apiKey, ...endpoint.secrets]);
  // The SDK is imported on first use (src/teacher/client.ts, loadOpenAI).
  let client: Promise<OpenAI> | null = null;
  const connect = () =>
    (client ??= loadOpenAI().then(
      ({ default: OpenAI }) =>
        new OpenAI({
          baseURL: endpoint.baseURL,
          ...(Object.keys(endpoint.query).length ? { defaultQuery: endpoint.query } : {}),
          apiKey: opts.apiKey ?? NO_KEY,
          maxRetries: 3,
          logLevel: 'off',
        }),
    ));
  const call = async <T>(what: string, f: (client: OpenAI) => Promise<T>): Promise<T> => {
    const c = await connect();
    try {
      return await f(c);
    } catch (err) {
      throw batchError(what, err, opts.endpoint, (t) => scrubUrlsInText(redact(t)));
    }
  };
  const info = (b: { id: string; status: string; input_file_id: string; output_file_id?: string | null; error_file_id?: string | null }): BatchInfo => ({
    id: b.id,
    status: b.status,
    input_file_id: b.input_file_id,
    output_file_id: b.output_file_id ?? null,
    error_file_id: b.error_file_id ?? null,
  });
  return {
    upload: (path) => call('uploading a batch file', async (client) => (await client.files.create({ file: createReadStream(path), purpose: 'batch' }, { maxRetries: 0 })).id),
    findUpload: (filename) =>
      call('listing batch files', async (client) => {
        let seen = 0;
        for await (const f of client.files.list({ purpose: 'batch' })) {
          if (f.filename === filename) return f.id;
          if (++seen >= LIST_LIMIT) break;
        }
        return null;
      }),
    create: (inputFileId, metadata) =>
      call('creating a batch', async (client) =>
        info(await client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata }, { maxRetries: 0 })),
      ),
    findBatch: (inputFileId) =>
      call('listing batches', async (client) => {
        let seen = 0;
        for await (const b of client.batches.list({ limit: 100 })) {
          if (b.input_file_id === inputFileId) return info(b);
          if (++seen >= LIST_LIMIT) break;
        }
        return null;
      }),
    retrieve: (id) => call(`polling batch ${id}`, async (client) => info(await client.batches.retrieve(id))),
    lines: (fileId) => ({
      async *[Symbol.asyncIterator]() {
        const what = `downloading batch file ${fileId}`;
        const response = await call(what, (client) => client.files.content(fileId));
        if (!response.body) return;
        const rl = createInterface({ input: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
        // A download cut off midway is the provider's trouble like any other: the stage stops, the rerun downloads again.
        try {
          for await (const line of rl) if (line.trim()) yield line;
        } catch (err) {
          throw batchError(what, err, opts.endpoint, (t) => scrubUrlsInText(redact(t)));
        }
      },
    }),
  };
}

/**
 * 401/403/404: the key, the URL, or an endpoint without a Batch API, every call would fail the same way
 * (exit 1, naming the setting). Anything else (5xx, a dropped connection): the stage stops resumably.
 */
function batchError(what: string, err: unknown, endpoint: string, redact: (t: string) => string): Error {
  if (err instanceof UserError || err instanceof StageStopped) return err;
  const sdk = loadedOpenAI(); // null until a first call: then no error can be the SDK's
  if (sdk && err instanceof sdk.APIError && (err.status === 401 || err.status === 403 || err.status === 404)) {
    return new UserError(
      redact(
        `The Batch API at ${endpoint} answered HTTP ${err.status} while ${what} (${err.message.slice(0, 200)}); check the key, label.teacher.base_url, ` +
          `and whether the endpoint has a Batch API at all (vLLM and SGLang servers do not: use label.mode: live).`,
      ),
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new StageStopped(redact(`the Batch API at ${endpoint} failed while ${what} (${detail.slice(0, 300)}); the same command resumes from the recorded batches`));
}
