import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { z } from 'zod';
import type { BatchSettings, TeacherLimits } from '../../schemas/config/label.js';
import { StageStopped } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Logger } from '../runner/log.js';
import { costOf, type TeacherAccounts } from './accounting.js';
import { completionProblem, readUsage } from './answer.js';
import { TERMINAL_STATUSES, type BatchInfo, type BatchTransport } from './batch-client.js';
import type { ResponseCache } from './cache.js';
import type { ChatRequestBody } from './client.js';
import { realClock, type Clock } from './limits.js';
import type { Answer, AnswerSource } from './requester.js';

export const BATCH_STATE_FORMAT = 'trajpipe-batch-1';

/**
 * One submission, recorded in `<cache_dir>/batches/batch-<submission>.json` before anything is paid and
 * rewritten (atomically) at each step: `file_id` once uploaded, `batch_id` once created, `collected` once its
 * answers are in the cache. It lives beside the cache, not in the stage's temporary folder, so a killed or
 * stopped stage leaves it for the rerun, which then polls the same batch instead of submitting again.
 */
const BatchRecord = z
  .object({
    format: z.literal(BATCH_STATE_FORMAT),
    submission: z.string(),
    /** The input file's name: found again by name when the run died between upload and record. */
    filename: z.string(),
    keys: z.array(z.string()),
    file_id: z.string().nullable(),
    batch_id: z.string().nullable(),
    status: z.enum(['uploading', 'submitted', 'collected']),
    /** Keys the collected batch did not answer with a chat completion: asked live, never batched again. */
    failed: z.array(z.string()),
    endpoint: z.string(),
  })
  .strict();
type BatchRecord = z.infer<typeof BatchRecord>;

/** Thrown by the collecting source for a request with no cached answer: it goes to a batch, or live. */
export class Deferred extends Error {
  override name = 'Deferred';
}

export interface BatcherOptions {
  transport: BatchTransport;
  cache: ResponseCache;
  settings: BatchSettings;
  limits: TeacherLimits;
  accounts: TeacherAccounts;
  meta: { model: string; prompt_version: string };
  endpoint: string;
  /** Applied to every body kept (the key must never reach the cache). */
  redactBody: (text: string) => string;
  log: Logger;
  clock?: Clock;
}

interface OpenChunk {
  path: string;
  out: WriteStream;
  keys: string[];
  bytes: number;
}

/**
 * Sends the requests the live pass would send as provider batches: requests are collected by running the
 * labelling logic against `collector()` (a source that answers from the cache and queues every miss), written
 * as JSONL input files (`custom_id` = the request's cache key), uploaded, submitted, polled and joined into the
 * same cache through the same check as live answers. What no batch answered is left for the live pass.
 */
export class Batcher {
  private readonly stateDir: string;
  private readonly records = new Map<string, BatchRecord>();
  /** Keys in a submitted, not yet collected batch: neither queued again nor asked live before it ends. */
  private readonly open = new Set<string>();
  /** Keys a batch did not answer: the live pass asks them. */
  private readonly failed = new Set<string>();
  private readonly queued = new Set<string>();
  private chunk: OpenChunk | null = null;
  private readonly closed: { path: string; keys: string[] }[] = [];
  private queuedCost = 0;
  private chunkNo = 0;
  private readonly clock: Clock;

  /** `workDir`: where input files are written before upload (the stage's temporary folder: gone with it). */
  constructor(
    private readonly o: BatcherOptions,
    private readonly workDir: string,
  ) {
    this.stateDir = join(o.cache.dir, 'batches');
    this.clock = o.clock ?? realClock;
  }

  private statePath(submission: string): string {
    return join(this.stateDir, `batch-${submission}.json`);
  }

  private async save(r: BatchRecord): Promise<void> {
    this.records.set(r.submission, r);
    await writeFileAtomic(this.statePath(r.submission), JSON.stringify(r) + '\n');
  }

  /** The ids of batches still running. */
  get openIds(): string[] {
    return [...this.records.values()].filter((r) => r.status === 'submitted').map((r) => r.batch_id!);
  }

  /**
   * Reads the recorded submissions and finishes the ones a killed run left half-done: an upload never
   * recorded is looked for by file name, a batch never recorded by its input file; only what the provider
   * never received is forgotten (its requests are then queued again like any other).
   */
  async recover(): Promise<void> {
    const names = (await readdir(this.stateDir).catch(() => [] as string[])).filter((n) => /^batch-[0-9a-f]+\.json$/.test(n)).sort();
    for (const name of names) {
      const text = await readFile(join(this.stateDir, name), 'utf8').catch(() => null);
      let parsed: z.ZodSafeParseResult<BatchRecord> | null = null;
      try {
        parsed = text === null ? null : BatchRecord.safeParse(JSON.parse(text));
      } catch {
        parsed = null;
      }
      if (!parsed?.success) {
        this.o.log.warn(`label: ignoring unreadable batch record ${join(this.stateDir, name)}`);
        continue;
      }
      let r = parsed.data;
      if (r.status === 'uploading') r = await this.finishSubmission(r, true);
      if (r.status === 'uploading') {
        // Never reached the provider: forget it, its requests are queued afresh.
        await rm(this.statePath(r.submission), { force: true });
        continue;
      }
      this.records.set(r.submission, r);
      if (r.status === 'submitted') for (const k of r.keys) this.open.add(k);
      else for (const k of r.failed) this.failed.add(k);
    }
  }

  /** A source for the labelling logic: cached answers come back, every miss is queued (or left to live) and Deferred. */
  collector(): AnswerSource & { idle(): Promise<void> } {
    const pending = new Set<Promise<unknown>>();
    const get = async (key: string, body: ChatRequestBody, expectedTokens: number): Promise<Answer> => {
      const raw = await this.o.cache.get(key);
      if (raw !== null && completionProblem(raw) === null) return { raw, cached: true };
      if (!this.open.has(key) && !this.failed.has(key) && !this.queued.has(key)) await this.enqueue(key, body, expectedTokens);
      throw new Deferred(key);
    };
    return {
      get: (key, body, expectedTokens) => {
        const p = get(key, body, expectedTokens);
        const tracked = p.catch(() => undefined).finally(() => pending.delete(tracked));
        pending.add(tracked);
        return p;
      },
      idle: async () => {
        while (pending.size) await Promise.all([...pending]);
      },
    };
  }

  /** Within the budget caps (by estimate), appends the request to the current input file. */
  private async enqueue(key: string, body: ChatRequestBody, expectedTokens: number): Promise<void> {
    const { max_requests, max_cost, price_prompt_per_mtok, price_completion_per_mtok, batch_price_factor } = this.o.limits;
    const a = this.o.accounts;
    const lines = (a.batch?.requests ?? 0) + this.queued.size;
    if (max_requests !== null && a.requests + lines >= max_requests) return;
    // The expected tokens are prompt + completion; priced as prompt tokens, the dearer side for most models is not known.
    const cost = costOf({ promptPerMTok: price_prompt_per_mtok, completionPerMTok: price_completion_per_mtok }, expectedTokens, 0) * batch_price_factor;
    if (max_cost !== null && a.cost + this.queuedCost + cost >= max_cost) return;
    const line = JSON.stringify({ custom_id: key, method: 'POST', url: '/v1/chat/completions', body }) + '\n';
    const bytes = Buffer.byteLength(line);
    const s = this.o.settings;
    if (this.chunk && (this.chunk.keys.length >= s.max_requests_per_file || this.chunk.bytes + bytes > s.max_file_bytes)) await this.closeChunk();
    if (!this.chunk) {
      await mkdir(this.workDir, { recursive: true });
      const path = join(this.workDir, `input-${this.chunkNo++}.jsonl`);
      this.chunk = { path, out: createWriteStream(path), keys: [], bytes: 0 };
    }
    this.queued.add(key);
    this.queuedCost += cost;
    this.chunk.keys.push(key);
    this.chunk.bytes += bytes;
    if (!this.chunk.out.write(line)) await once(this.chunk.out, 'drain');
  }

  private async closeChunk(): Promise<void> {
    const c = this.chunk;
    if (!c) return;
    this.chunk = null;
    c.out.end();
    await once(c.out, 'close');
    this.closed.push({ path: c.path, keys: c.keys });
  }

  /** Uploads and submits every queued input file; returns the number of lines submitted. */
  async submitQueued(): Promise<number> {
    await this.closeChunk();
    let lines = 0;
    for (const c of this.closed.splice(0)) {
      const submission = sha256(c.keys.join('\n')).slice(0, 32);
      const filename = `trajpipe-${submission}.jsonl`;
      let r: BatchRecord = {
        format: BATCH_STATE_FORMAT,
        submission,
        filename,
        keys: c.keys,
        file_id: null,
        batch_id: null,
        status: 'uploading',
        failed: [],
        endpoint: this.o.endpoint,
      };
      // The uploaded file's name is the file's own: named by the submission, so a lost record finds it again.
      const named = join(this.workDir, filename);
      await rename(c.path, named);
      // Recorded before the upload: a kill from here on leaves a record the rerun finishes instead of uploading again.
      await this.save(r);
      r = await this.finishSubmission(r, false, named);
      await rm(named, { force: true });
      for (const k of c.keys) {
        this.open.add(k);
        this.queued.delete(k);
      }
      lines += c.keys.length;
      this.o.accounts.batch!.requests += c.keys.length;
      this.o.log.info(`label: submitted batch ${r.batch_id} (${c.keys.length} request(s), input file ${r.file_id})`);
    }
    this.queuedCost = 0;
    await rm(this.workDir, { recursive: true, force: true });
    return lines;
  }

  /**
   * Takes a submission from where it stands to a created batch. Resuming (`path` absent), what is not
   * recorded is looked for at the provider first; a record whose upload is not there stays `uploading`.
   */
  private async finishSubmission(r: BatchRecord, resuming: boolean, path?: string): Promise<BatchRecord> {
    const t = this.o.transport;
    const b = this.o.accounts.batch!;
    if (r.file_id === null) {
      let fileId = resuming ? await t.findUpload(r.filename) : null;
      if (fileId === null && path) {
        fileId = await t.upload(path);
        b.uploads++;
      }
      if (fileId === null) return r;
      r = { ...r, file_id: fileId };
      await this.save(r);
    }
    if (r.batch_id === null) {
      let batch = resuming ? await t.findBatch(r.file_id!) : null;
      if (!batch) {
        batch = await t.create(r.file_id!, { trajpipe_submission: r.submission });
        b.created++;
      }
      r = { ...r, batch_id: batch.id, status: 'submitted' };
      await this.save(r);
    }
    return r;
  }

  /**
   * Polls the running batches until each has ended and is collected. Past label.batch.max_wait_s the stage
   * stops resumably (exit 3) naming the batches: the same command polls them again.
   */
  async waitAndCollect(): Promise<void> {
    const s = this.o.settings;
    const started = this.clock.now();
    const b = this.o.accounts.batch!;
    const lastStatus = new Map<string, string>();
    for (const id of this.openIds) if (!b.ids.includes(id)) b.ids.push(id);
    for (;;) {
      const open = [...this.records.values()].filter((r) => r.status === 'submitted');
      if (open.length === 0) return;
      for (const r of open) {
        const info = await this.o.transport.retrieve(r.batch_id!);
        if (lastStatus.get(info.id) !== info.status) {
          lastStatus.set(info.id, info.status);
          this.o.log.info(`label: batch ${info.id} is ${info.status}`);
        }
        if (TERMINAL_STATUSES.has(info.status)) await this.collect(r, info);
      }
      if (!this.openIds.length) return;
      const waited = (this.clock.now() - started) / 1000;
      if (waited >= s.max_wait_s) {
        const ids = this.openIds;
        throw new StageStopped(
          `${ids.length} batch(es) still running after ${Math.round(waited)}s (label.batch.max_wait_s = ${s.max_wait_s}); ` +
            `a rerun of the same command continues polling batch id(s) ${ids.join(', ')}`,
        );
      }
      await this.clock.sleep(Math.min(s.poll_interval_s * 1000, Math.max(0, s.max_wait_s * 1000 - (this.clock.now() - started))));
    }
  }

  /**
   * Joins a finished batch's answers into the cache: a line counts only if it is a 200 whose body validates
   * as a chat completion, exactly the check a live answer passes. Error-file lines, other lines and lines the
   * batch never reached (expired, failed, cancelled) are recorded as failed and asked live.
   */
  private async collect(r: BatchRecord, info: BatchInfo): Promise<void> {
    const mine = new Set(r.keys);
    const answered = new Set<string>();
    const b = this.o.accounts.batch!;
    const problems = new Map<string, number>();
    const note = (why: string) => problems.set(why, (problems.get(why) ?? 0) + 1);
    if (info.output_file_id) {
      for await (const line of this.o.transport.lines(info.output_file_id)) {
        const parsed = OutputLine.safeParse(safeJson(line));
        if (!parsed.success || !mine.has(parsed.data.custom_id) || answered.has(parsed.data.custom_id)) continue;
        const { custom_id, response } = parsed.data;
        if (!response || response.status_code !== 200 || response.body === undefined) {
          note(response ? `HTTP ${response.status_code}` : 'no response');
          continue;
        }
        const raw = this.o.redactBody(JSON.stringify(response.body));
        const problem = completionProblem(raw);
        if (problem) {
          note('not a chat completion');
          continue;
        }
        const usage = readUsage(raw);
        b.promptTokens += usage.promptTokens;
        b.completionTokens += usage.completionTokens;
        await this.o.cache.put(custom_id, this.o.meta, raw);
        answered.add(custom_id);
      }
    }
    if (info.error_file_id) {
      for await (const line of this.o.transport.lines(info.error_file_id)) {
        const parsed = OutputLine.safeParse(safeJson(line));
        if (parsed.success && mine.has(parsed.data.custom_id) && !answered.has(parsed.data.custom_id)) note(parsed.data.error?.code ?? 'error file');
      }
    }
    const failed = r.keys.filter((k) => !answered.has(k));
    b.answered += answered.size;
    b.failedLines += failed.length;
    b.collected++;
    for (const k of r.keys) this.open.delete(k);
    for (const k of failed) this.failed.add(k);
    await this.save({ ...r, status: 'collected', failed });
    const why = [...problems].map(([k, n]) => `${n} ${k}`).join(', ');
    this.o.log.info(
      `label: batch ${info.id} ${info.status}: ${answered.size} of ${r.keys.length} answered` +
        (failed.length ? `; ${failed.length} go live${why ? ` (${why})` : ''}` : ''),
    );
  }
}

/** One line of a batch output or error file. */
const OutputLine = z.object({
  custom_id: z.string(),
  response: z
    .object({ status_code: z.number().int(), body: z.unknown().optional() })
    .nullable()
    .optional(),
  error: z
    .object({ code: z.string().nullable().optional(), message: z.string().nullable().optional() })
    .nullable()
    .optional(),
});

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
