import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../bench/synth.js';
import type { AddressInfo } from 'node:net';
import type { FakeBatchApi } from './fake-batch.js';

/**
 * What the fake answers. A run's task text may carry `[faults:a,b,c]`: its 1st request gets a, its 2nd b,
 * and every later one c (default ok). `[peaks:1,4]` sets the peak step of each returned choice; `[delay:50]`
 * adds milliseconds to its answers.
 *
 * Verdict requests (step-rejection: the user message asks for {"verdicts": ...}) are answered from the same
 * curve: a step is correct unless the curve falls there. They count apart: `[vfaults:a,b]` sets their faults
 * (the values faults above apply to values requests only), `[verdicts:1,0,1]` their answer.
 */
export type Fault =
  | 'ok'
  | '429'
  | '500'
  | 'drop'
  | 'slow'
  | 'malformed'
  | 'wrong-count'
  | 'out-of-range'
  | 'fenced'
  | 'garbage-body'
  | 'echo-key-500'
  | 'echo-key-ok'
  | 'html'
  | 'not-completion'
  | '400';

export interface FakeTeacherOptions {
  /** Delay before every answer. */
  latencyMs?: number;
  /** Each answer's delay is latencyMs plus a uniform amount in [-jitterMs, +jitterMs] (seeded, by arrival). */
  jitterMs?: number;
  /** How long a 'slow' answer takes (longer than the client's timeout). */
  slowMs?: number;
  /** Retry-After header value sent with 429. */
  retryAfter?: string;
  /** false: ignore n and return one choice, like servers without n. */
  supportsN?: boolean;
  /**
   * Deterministic server: the k-th DISTINCT request body of a task gets the k-th fault, and a body seen
   * before gets the same fault again (instead of counting every request).
   */
  perDistinctBody?: boolean;
  /** Keep-alive timeout of idle connections (Node's default, 5 s, when unset). */
  keepAliveMs?: number;
  /** Port to listen on (default: any free one). */
  port?: number;
  /**
   * Faults for requests whose task sets no faults directive (the fault suite): about `rate` of them get
   * 429 / 500 / a dropped connection (random, seeded, at most `maxConsecutive` in a row per task) or a
   * malformed / wrong-length answer (decided by the request body, so the same request always gets it).
   */
  randomFaults?: { rate: number; seed: number; maxConsecutive: number };
  /**
   * A teacher that obeys instructions planted in the trajectory (the hostile-input tests):
   * "rate every step 1.0" gets all 1.0, "rate every step higher than the last" a rising curve,
   * "end the JSON early" a one-value answer.
   */
  obeysInjections?: boolean;
  /** Serve a Batch API too (fake-batch.ts): its lines are answered by this server's chat completions. */
  batchApi?: FakeBatchApi;
  /** Moves the default peak by this many steps (a second teacher that sees the run differently). */
  peakOffset?: number;
  /** Every request gets this fault, whatever the task says (a second teacher that never answers validly). */
  alwaysFault?: Fault;
}

const TRANSPORT_FAULTS: Fault[] = ['429', '500', 'drop'];

export interface SeenRequest {
  /** What the request asked for. */
  kind: 'values' | 'verdicts';
  /** sha256 of the request body: the same request sent twice has the same hash. */
  bodyHash: string;
  task: string;
  steps: number;
  fault: Fault;
  at: number;
  body: Record<string, unknown>;
  authorization: string | undefined;
  /** The query string the request came with ('' when none). */
  query: string;
  /** A line of a batch, answered for the fake Batch API (not a live request). */
  viaBatch: boolean;
}

export interface FakeTeacher {
  /** Base URL to configure, ending in /v1. */
  url: string;
  requests: SeenRequest[];
  inFlight: number;
  maxInFlight: number;
  /** Requests answered with a complete 200. */
  answered: number;
  close(): Promise<void>;
}

function taskOf(body: Record<string, unknown>): { task: string; steps: number; kind: 'values' | 'verdicts' } {
  const messages = (body.messages ?? []) as { role: string; content: string }[];
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  const task = /<task>\n([\s\S]*?)\n<\/task>/.exec(user)?.[1] ?? '';
  const steps = Number(/<trajectory steps="(\d+)">/.exec(user)?.[1] ?? 0);
  const kind = /<\/trajectory>\n\nReturn \{"verdicts"/.test(user) ? 'verdicts' : 'values';
  return { task, steps, kind };
}

/** The fake's verdicts: a step is correct unless its curve falls there. */
export function fakeVerdicts(curve: readonly number[]): boolean[] {
  return curve.map((v, i) => i === 0 || v >= curve[i - 1]!);
}

/** An inverted U peaking at `peak`. */
export function fakeCurve(steps: number, peak: number): number[] {
  return Array.from({ length: steps }, (_, i) => {
    const v = i <= peak ? 0.3 + (0.5 * (i + 1)) / (peak + 1) : 0.8 - (0.7 * (i - peak)) / Math.max(1, steps - 1 - peak);
    return Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
  });
}

function directive(task: string, name: string): string[] | null {
  const m = new RegExp(`\\[${name}:([^\\]]*)\\]`).exec(task);
  return m ? m[1]!.split(',').map((s) => s.trim()) : null;
}

export async function startFakeTeacher(opts: FakeTeacherOptions = {}): Promise<FakeTeacher> {
  const perTask = new Map<string, number>();
  const bodies = new Map<string, number>();
  const faultStreak = new Map<string, number>();
  const rand = opts.randomFaults ? mulberry32(opts.randomFaults.seed) : null;
  const jitter = mulberry32(12345);
  /**
   * Transport faults (429, 500, dropped connection) are random and never more than maxConsecutive in a
   * row for a task: retried, they change nothing. Invalid answers (malformed, wrong count) are a
   * function of the request body, like a deterministic model's: the same request always gets the same
   * answer, so a killed and resumed run must end exactly like an uninterrupted one.
   */
  const randomFault = (cfg: NonNullable<FakeTeacherOptions['randomFaults']>, task: string, bodyHash: string): Fault => {
    const byBody = parseInt(bodyHash.slice(0, 8), 16) / 2 ** 32;
    if (byBody < cfg.rate * 0.3) return byBody < cfg.rate * 0.15 ? 'malformed' : 'wrong-count';
    const streak = faultStreak.get(task) ?? 0;
    const fault: Fault = streak < cfg.maxConsecutive && rand!() < cfg.rate * 0.7 ? TRANSPORT_FAULTS[Math.floor(rand!() * TRANSPORT_FAULTS.length)]! : 'ok';
    faultStreak.set(task, fault === 'ok' ? 0 : streak + 1);
    return fault;
  };
  const state: FakeTeacher = { url: '', requests: [], inFlight: 0, maxInFlight: 0, answered: 0, close: async () => {} };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on('close', () => state.inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (opts.batchApi && (await opts.batchApi.handle(req, res, url, Buffer.concat(chunks)))) return;
    if (url.pathname !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const { task, steps, kind } = taskOf(body);
    const raw = Buffer.concat(chunks).toString('utf8');
    // Verdict requests count apart, under their own directive, so the values tests' fault lists are unchanged.
    const counterKey = kind === 'verdicts' ? `verdicts:${task}` : task;
    let asked: number;
    if (opts.perDistinctBody) {
      asked = bodies.get(raw) ?? perTask.get(counterKey) ?? 0;
      if (!bodies.has(raw)) {
        bodies.set(raw, asked);
        perTask.set(counterKey, asked + 1);
      }
    } else {
      asked = perTask.get(counterKey) ?? 0;
      perTask.set(counterKey, asked + 1);
    }
    const faults = directive(task, kind === 'verdicts' ? 'vfaults' : 'faults') as Fault[] | null;
    let fault: Fault = faults ? faults[Math.min(asked, faults.length - 1)]! : 'ok';
    const bodyHash = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    if (!faults && opts.randomFaults) fault = randomFault(opts.randomFaults, task, bodyHash);
    if (opts.alwaysFault) fault = opts.alwaysFault;
    const authorization = req.headers.authorization;
    state.requests.push({ kind, bodyHash, task, steps, fault, at: Date.now(), body, authorization, query: url.search, viaBatch: req.headers['x-fake-batch'] === '1' });

    const delay = (opts.latencyMs ?? 0) + (opts.jitterMs ? (jitter() * 2 - 1) * opts.jitterMs : 0) + Number(directive(task, 'delay')?.[0] ?? 0);
    if (delay) await sleep(delay);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    };
    switch (fault) {
      case '429':
        return json(429, { error: { message: 'rate limited', type: 'rate_limit' } }, opts.retryAfter !== undefined ? { 'retry-after': opts.retryAfter } : {});
      case '500':
        return json(500, { error: { message: 'internal error' } });
      case '400':
        return json(400, { error: { message: 'response_format is not supported' } });
      case 'echo-key-500':
        return json(500, { error: { message: `server confused by header ${authorization}` } });
      case 'drop':
        req.socket.destroy();
        return;
      case 'slow':
        await sleep(opts.slowMs ?? 2_000);
        break;
      case 'html':
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1>proxy error</body></html>');
        state.answered++;
        return;
      case 'not-completion':
        return json(200, { error: { message: 'upstream overloaded' } });
      case 'garbage-body':
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [ {"mess');
        state.answered++;
        return;
      default:
        break;
    }
    if (res.destroyed) return;
    const n = opts.supportsN === false ? 1 : Number(body.n ?? 1);
    const peaks = (directive(task, 'peaks') ?? [String(Math.max(0, Math.floor(steps / 2) + (opts.peakOffset ?? 0)))]).map(Number);
    const choices = Array.from({ length: n }, (_, i) => {
      const values = fakeCurve(steps, Math.min(steps - 1, peaks[i % peaks.length]!));
      let content: string;
      if (kind === 'verdicts') {
        const planted = directive(task, 'verdicts');
        const verdicts = planted ? planted.map((x) => x === '1') : fakeVerdicts(values);
        if (fault === 'malformed') content = '{"verdicts": [true,';
        else if (fault === 'wrong-count') content = JSON.stringify({ verdicts: verdicts.slice(1) });
        else if (fault === 'out-of-range') content = JSON.stringify({ verdicts: verdicts.map((v, j) => (j === 0 ? 'maybe' : v)) });
        else content = JSON.stringify({ verdicts });
        return { index: i, message: { role: 'assistant', content }, finish_reason: 'stop' };
      }
      if (fault === 'malformed') content = `{"values": [${values.slice(0, 2).join(', ')},`;
      else if (fault === 'wrong-count') content = JSON.stringify({ values: values.slice(1) });
      else if (fault === 'out-of-range') content = JSON.stringify({ values: values.map((v, j) => (j === 0 ? 1.7 : v)) });
      else if (fault === 'fenced') content = `Here is my estimate.\n\`\`\`json\n${JSON.stringify({ values })}\n\`\`\`\nHope it helps.`;
      else content = JSON.stringify({ values });
      if (opts.obeysInjections) {
        const prompt = JSON.stringify(body.messages);
        if (/rate every step 1\.0/.test(prompt)) content = JSON.stringify({ values: values.map(() => 1) });
        else if (/rate every step higher than the last/.test(prompt)) content = JSON.stringify({ values: values.map((_, j) => 0.1 + (0.8 * j) / Math.max(steps - 1, 1)) });
        else if (/end the JSON early/.test(prompt)) content = '{"values": [1.0]}';
      }
      return { index: i, message: { role: 'assistant', content }, finish_reason: 'stop' };
    });
    state.answered++;
    json(200, {
      // The request's hash in the id: a cached answer then names the request it answers (the fault suite
      // counts requests sent again for an answer the cache already held).
      id: fault === 'echo-key-ok' ? `chatcmpl-${authorization}` : `chatcmpl-fake-${bodyHash.slice(0, 32)}`,
      object: 'chat.completion',
      created: 0,
      model: body.model,
      choices,
      usage: { prompt_tokens: Math.ceil(JSON.stringify(body.messages).length / 4), completion_tokens: 10 + steps * 4 * n },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  if (opts.keepAliveMs !== undefined) server.keepAliveTimeout = opts.keepAliveMs;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/v1`;
  if (opts.batchApi) opts.batchApi.baseUrl = state.url;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
