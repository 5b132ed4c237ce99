import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An OpenAI-style Batch API for the fake teacher (`startFakeTeacher({ batchApi })`): POST /v1/files
 * (multipart, purpose batch), GET /v1/files (list), GET /v1/files/:id/content, POST /v1/batches,
 * GET /v1/batches (list), GET /v1/batches/:id. A batch moves validating -> in_progress -> finalizing -> its
 * final status, one step per poll (it stays in_progress while `hold` is set). When it finishes, each line is
 * answered by the fake's own /v1/chat/completions (so the task directives apply, and the fake's request
 * log marks these `viaBatch`), except that a task with `[batch:error]` gets an error-file line and one with
 * `[batch:500]` an output line with status 500. An `expired` batch answers its first half and puts the rest
 * in the error file as batch_expired; a `failed` one answers nothing.
 */
export interface FakeBatchOptions {
  finalStatus?: 'completed' | 'expired' | 'failed' | 'cancelled';
  /** Keeps every batch in_progress while true (a test releases it). */
  hold?: boolean;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
}

interface StoredBatch {
  id: string;
  input_file_id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  metadata: Record<string, string>;
  polls: number;
  counts: { total: number; completed: number; failed: number };
}

export interface FakeBatchApi {
  opts: FakeBatchOptions;
  /** Set by the fake teacher once listening: where batch lines are answered. */
  baseUrl: string;
  uploads: number;
  creates: number;
  retrieves: number;
  lists: number;
  files: Map<string, StoredFile>;
  batches: Map<string, StoredBatch>;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<boolean>;
}

const STEPS = ['validating', 'in_progress', 'finalizing'];

function directive(text: string): string | null {
  return /\[batch:([a-z0-9-]+)\]/.exec(text)?.[1] ?? null;
}

export function createFakeBatchApi(opts: FakeBatchOptions = {}): FakeBatchApi {
  let n = 0;
  const json = (res: ServerResponse, status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const fileObject = (f: StoredFile) => ({ id: f.id, object: 'file', bytes: Buffer.byteLength(f.content), created_at: 0, filename: f.filename, purpose: f.purpose, status: 'processed' });
  const batchObject = (b: StoredBatch) => ({
    id: b.id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: b.input_file_id,
    completion_window: '24h',
    status: b.status,
    output_file_id: b.output_file_id,
    error_file_id: b.error_file_id,
    created_at: 0,
    metadata: b.metadata,
    request_counts: b.counts,
  });

  const finish = async (api: FakeBatchApi, b: StoredBatch, status: string): Promise<void> => {
    const lines = api.files.get(b.input_file_id)!.content.split('\n').filter((l) => l.trim());
    const out: string[] = [];
    const errors: string[] = [];
    for (const [i, line] of lines.entries()) {
      const { custom_id, body } = JSON.parse(line) as { custom_id: string; body: unknown };
      const d = directive(JSON.stringify(body));
      const error = (code: string) => errors.push(JSON.stringify({ id: `batch_req_${i}`, custom_id, response: null, error: { code, message: `fake ${code}` } }));
      if (status === 'failed' || status === 'cancelled') continue;
      if (status === 'expired' && i >= Math.ceil(lines.length / 2)) error('batch_expired');
      else if (d === 'error') error('server_error');
      else if (d === '500') out.push(JSON.stringify({ id: `batch_req_${i}`, custom_id, response: { status_code: 500, request_id: `r${i}`, body: { error: { message: 'fake 500' } } }, error: null }));
      else {
        const r = await fetch(`${api.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fake-batch': '1' }, body: JSON.stringify(body) }).catch(() => null);
        if (!r) error('server_error');
        else {
          const text = await r.text().catch(() => '');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            error('server_error');
            continue;
          }
          out.push(JSON.stringify({ id: `batch_req_${i}`, custom_id, response: { status_code: r.status, request_id: `r${i}`, body: parsed }, error: null }));
        }
      }
    }
    const store = (content: string): string => {
      const id = `file-out-${++n}`;
      api.files.set(id, { id, filename: `${id}.jsonl`, purpose: 'batch_output', content });
      return id;
    };
    if (out.length) b.output_file_id = store(out.join('\n') + '\n');
    if (errors.length) b.error_file_id = store(errors.join('\n') + '\n');
    b.counts = { total: lines.length, completed: out.length, failed: errors.length };
    b.status = status;
  };

  const api: FakeBatchApi = {
    opts,
    baseUrl: '',
    uploads: 0,
    creates: 0,
    retrieves: 0,
    lists: 0,
    files: new Map(),
    batches: new Map(),
    async handle(req, res, url, body) {
      const path = url.pathname;
      if (req.method === 'POST' && path === '/v1/files') {
        const form = await new Response(new Uint8Array(body), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        const file = form.get('file') as File;
        const id = `file-${++n}`;
        api.files.set(id, { id, filename: file.name, purpose: String(form.get('purpose')), content: await file.text() });
        api.uploads++;
        json(res, 200, fileObject(api.files.get(id)!));
        return true;
      }
      if (req.method === 'GET' && path === '/v1/files') {
        api.lists++;
        const data = [...api.files.values()].filter((f) => f.purpose === (url.searchParams.get('purpose') ?? f.purpose)).reverse().map(fileObject);
        json(res, 200, { object: 'list', data, has_more: false });
        return true;
      }
      const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
      if (req.method === 'GET' && content) {
        const f = api.files.get(content[1]!);
        if (!f) json(res, 404, { error: { message: 'no such file' } });
        else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(f.content);
        return true;
      }
      if (req.method === 'POST' && path === '/v1/batches') {
        const params = JSON.parse(body.toString('utf8')) as { input_file_id: string; metadata?: Record<string, string> };
        if (!api.files.has(params.input_file_id)) {
          json(res, 400, { error: { message: 'unknown input file' } });
          return true;
        }
        const id = `batch_${++n}`;
        const total = api.files.get(params.input_file_id)!.content.split('\n').filter((l) => l.trim()).length;
        api.batches.set(id, {
          id,
          input_file_id: params.input_file_id,
          status: 'validating',
          output_file_id: null,
          error_file_id: null,
          metadata: params.metadata ?? {},
          polls: 0,
          counts: { total, completed: 0, failed: 0 },
        });
        api.creates++;
        json(res, 200, batchObject(api.batches.get(id)!));
        return true;
      }
      if (req.method === 'GET' && path === '/v1/batches') {
        api.lists++;
        json(res, 200, { object: 'list', data: [...api.batches.values()].reverse().map(batchObject), has_more: false });
        return true;
      }
      const one = /^\/v1\/batches\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && one) {
        const b = api.batches.get(one[1]!);
        if (!b) {
          json(res, 404, { error: { message: 'no such batch' } });
          return true;
        }
        api.retrieves++;
        if (STEPS.includes(b.status)) {
          b.polls++;
          if (b.status === 'in_progress' && opts.hold) {
            // held: stays running
          } else if (b.polls < STEPS.length) b.status = STEPS[b.polls]!;
          else await finish(api, b, opts.finalStatus ?? 'completed');
        }
        json(res, 200, batchObject(b));
        return true;
      }
      return false;
    },
  };
  return api;
}
