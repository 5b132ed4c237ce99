import pLimit, { type LimitFunction } from 'p-limit';
import { StageStopped, UserError } from '../core/errors.js';
import type { TeacherLimits } from '../../schemas/config/label.js';
import { TeacherAccounts } from './accounting.js';
import type { ResponseCache } from './cache.js';
import type { CacheClaims, HeldClaim } from './claims.js';
import { TeacherRequestError, type ChatRequestBody, type TeacherTransport } from './client.js';
import { CoolDown, MinuteBudget, backoffMs, realClock, type Clock } from './limits.js';
import { completionProblem, readUsage } from './answer.js';

export interface RequesterOptions {
  transport: TeacherTransport;
  cache: ResponseCache;
  /** Per-request claims when the cache is shared by processes; null: this process alone asks. */
  claims?: CacheClaims | null;
  limits: TeacherLimits;
  accounts: TeacherAccounts;
  /** Stored beside each cached body, for whoever browses the cache. */
  meta: { model: string; prompt_version: string };
  /** Where the teacher is, for error messages (never holds the key). */
  endpoint: string;
  clock?: Clock;
  random?: () => number;
}

/** What a request's concurrency slot ended with. */
type Slot = { kind: 'sent'; raw: string } | { kind: 'answered'; raw: string } | { kind: 'busy' };

export interface Answer {
  raw: string;
  cached: boolean;
}

/** Where the labelling logic gets its answers: the requester (cache, then live), or label.mode: batch's collector. */
export interface AnswerSource {
  get(key: string, body: ChatRequestBody, expectedTokens: number): Promise<Answer>;
}

/**
 * Turns a request into a raw answer: from the cache when it was asked before, else from the server
 * under the concurrency, rate and budget limits, retrying what can be retried. Identical requests in
 * flight at once are sent once, in this process and (with claims) across processes sharing the cache: the
 * second waits for the first's answer, outside the concurrency slots. Once the stage must stop (budget cap, teacher down), every later call
 * throws StageStopped and nothing more is sent.
 */
export class TeacherRequester implements AnswerSource {
  private readonly limit: LimitFunction;
  private readonly rpm: MinuteBudget | null;
  private readonly tpm: MinuteBudget | null;
  private readonly coolDown: CoolDown;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly inFlight = new Map<string, Promise<Answer>>();
  /** Requests of this run's fault (4xx, or failing alone while the teacher answers others) in a row. */
  private consecutiveFailures = 0;
  /** Valid answers received so far: a request that keeps failing while this grows fails for its own reasons. */
  private successes = 0;
  private stopReason: string | null = null;
  /** A misconfiguration (401/403/404): reported as such even when other requests saw only the stop it caused. */
  fatal: UserError | null = null;

  constructor(private readonly o: RequesterOptions) {
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
    this.limit = pLimit(o.limits.concurrency);
    this.rpm = o.limits.rpm ? new MinuteBudget(o.limits.rpm, this.clock) : null;
    this.tpm = o.limits.tpm ? new MinuteBudget(o.limits.tpm, this.clock) : null;
    this.coolDown = new CoolDown(this.clock);
  }

  get stopped(): string | null {
    return this.stopReason;
  }

  /** Stops every later request (the stage is ending early). */
  stop(reason: string): void {
    this.stopReason ??= reason;
  }

  async get(key: string, body: ChatRequestBody, expectedTokens: number): Promise<Answer> {
    const raw = await this.cached(key, true);
    if (raw !== null) {
      this.o.accounts.cacheHits++;
      return { raw, cached: true };
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchFresh(key, body, expectedTokens).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** A valid cached answer, or null. An entry that is not a chat completion (an older version's) is a miss. */
  private async cached(key: string, countCorrupt: boolean): Promise<string | null> {
    const raw = await this.o.cache.get(key);
    if (raw !== null && completionProblem(raw) === null) return raw;
    if (raw !== null && countCorrupt) this.o.cache.corrupt++;
    return null;
  }

  private backoff(attempt: number): number {
    const { backoff_base_s, backoff_max_s } = this.o.limits;
    return backoffMs(attempt, backoff_base_s * 1000, backoff_max_s * 1000, this.random);
  }

  private checkCanSend(): void {
    if (this.stopReason) throw new StageStopped(this.stopReason);
    const { max_requests, max_cost } = this.o.limits;
    const a = this.o.accounts;
    if (max_requests !== null && a.requests >= max_requests) this.stop(`request cap reached: ${a.requests} requests sent (label.limits.max_requests = ${max_requests})`);
    else if (max_cost !== null && a.cost >= max_cost) this.stop(`cost cap reached: ~$${a.cost.toFixed(4)} spent (label.limits.max_cost = ${max_cost})`);
    if (this.stopReason) throw new StageStopped(this.stopReason);
  }

  private async fetchFresh(key: string, body: ChatRequestBody, expectedTokens: number): Promise<Answer> {
    const { limits, accounts } = this.o;
    const claims = this.o.claims ?? null;
    const lookup = () => this.cached(key, false);
    let claim: HeldClaim | null = null;
    const successesBefore = this.successes;
    // Requests queue for a slot in call order, though each takes its claim first, concurrently.
    let turn: { before: Promise<void>; done: () => void } | null = this.takeTurn();
    try {
      for (let attempt = 0; ; attempt++) {
        this.checkCanSend();
        try {
          // The claim is taken before the request waits for a concurrency slot: its file operations are then not
          // part of every slot's turn (16 turns per slot at C=256 and N=4096 added ~0.4 s). A request waiting for
          // a slot holds its claim meanwhile, so another process asking the same waits for this answer rather
          // than sending it twice; another process's live claim is waited for below, holding no slot.
          let early: Slot | null = null;
          if (claims && !claim) {
            const c = await claims.tryClaim(key, lookup);
            if (c.kind !== 'held') early = c;
            else {
              claim = c;
              if (c.tookOver) accounts.claimsTakenOver++;
            }
          }
          if (turn) await turn.before;
          const queued = early ? null : this.limit(async (): Promise<Slot> => {
            // Waiting happens inside the slot, so at most `concurrency` requests are ever on the wire.
            await this.coolDown.wait();
            if (this.rpm) await this.rpm.take(1);
            if (this.tpm) await this.tpm.take(expectedTokens);
            this.checkCanSend();
            accounts.requests++;
            if (attempt > 0) accounts.retries++;
            try {
              return { kind: 'sent', raw: await this.o.transport.send(body, limits.timeout_s * 1000) };
            } catch (err) {
              // Pause everyone before this slot is released, so no queued request slips out in between.
              if (err instanceof TeacherRequestError && err.kind === 'rate-limit') {
                this.coolDown.extend(err.retryAfterMs ?? this.backoff(attempt));
              }
              throw err;
            }
          });
          turn?.done();
          turn = null;
          const slot = early ?? (await queued!);
          if (slot.kind === 'answered') {
            accounts.cacheHits++;
            return { raw: slot.raw, cached: true };
          }
          if (slot.kind === 'busy') {
            // Another process is asking the same: wait for its answer, holding no slot.
            const waited = await claims!.waitFor(key, lookup, () => this.stopReason);
            if (waited.kind === 'answered') {
              accounts.cacheHits++;
              accounts.sharedWaits++;
              return { raw: waited.raw, cached: true };
            }
            if (waited.tookOver) accounts.claimsTakenOver++;
            attempt--; // nothing was sent: claim it in a slot again
            continue;
          }
          const raw = slot.raw;
          // A 200 that is not a chat completion (a proxy's HTML page) is a failed request: retried, never cached.
          const problem = completionProblem(raw);
          if (problem) throw new TeacherRequestError('invalid-body', `HTTP 200 with ${problem}`, 200, null);
          this.consecutiveFailures = 0;
          this.successes++;
          const usage = readUsage(raw);
          accounts.promptTokens += usage.promptTokens || expectedTokens;
          accounts.completionTokens += usage.completionTokens;
          await this.o.cache.put(key, this.o.meta, raw);
          return { raw, cached: false };
        } catch (err) {
          if (!(err instanceof TeacherRequestError)) throw err;
          accounts.noteError(err.kind);
          if (err.kind === 'fatal') {
            this.stop(`the teacher refused the request (${err.message})`);
            this.fatal ??= new UserError(
              `The teacher at ${this.o.endpoint} answered ${err.message.slice(0, 200)}; check label.teacher.base_url, label.teacher.model and the key's environment variable.`,
            );
            throw this.fatal;
          }
          if (err.retryable && attempt < limits.max_retries) {
            // After a 429 everyone waits out the same cool-down (set above); other errors back off alone.
            if (err.kind === 'rate-limit') await this.coolDown.wait();
            else await this.clock.sleep(err.retryAfterMs ?? this.backoff(attempt));
            continue;
          }
          accounts.failures++;
          throw this.blame(err, attempt + 1, this.successes > successesBefore);
        }
      }
    } finally {
      (turn as { done: () => void } | null)?.done(); // never left waiting by a request that stopped early
      // After the answer is in the cache; after a failure, a process waiting on the claim may ask in its turn.
      if (claim) await (claim as HeldClaim).release();
    }
  }

  private queueTail: Promise<void> = Promise.resolve();

  /** A place in the line to the concurrency slots, taken when a request is made: `before` resolves when the ones before it queued. */
  private takeTurn(): { before: Promise<void>; done: () => void } {
    const before = this.queueTail;
    let done!: () => void;
    this.queueTail = new Promise<void>((r) => (done = r));
    return { before, done };
  }

  /**
   * Whose fault a request failing for good is. The run's (the error is returned and the run rejected): a 4xx
   * such as a prompt over the server's context, or a 5xx, timeout, dropped connection or bad body that
   * persisted for this request while the teacher answered others meanwhile. The teacher's (the stage stops,
   * resumably, and a rerun asks again): the same errors when nothing else got through either, and 429s.
   */
  private blame(err: TeacherRequestError, attempts: number, teacherAnsweredOthers: boolean): Error {
    const runsFault = err.kind === 'rejected' || (err.kind !== 'rate-limit' && teacherAnsweredOthers);
    if (!runsFault) {
      this.stop(`the teacher at ${this.o.endpoint} failed a request ${attempts} time(s) in a row and answered nothing else meanwhile (last: ${err.message})`);
      return new StageStopped(this.stopReason!);
    }
    if (++this.consecutiveFailures >= this.o.limits.stop_after_failures) {
      this.stop(
        `the teacher at ${this.o.endpoint} refused ${this.consecutiveFailures} runs' requests in a row (last: ${err.message}); ` +
          `check label.teacher.response_format and label.teacher.max_prompt_tokens against what the endpoint accepts`,
      );
    }
    return err;
  }
}
