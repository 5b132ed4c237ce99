import pLimit, { type LimitFunction } from 'p-limit';
import { StageStopped, UserError } from '../core/errors.js';
import type { TeacherLimits } from '../../schemas/config/label.js';
import { TeacherAccounts } from './accounting.js';
import type { ResponseCache } from './cache.js';
import { TeacherRequestError, type ChatRequestBody, type TeacherTransport } from './client.js';
import { CoolDown, MinuteBudget, backoffMs, realClock, type Clock } from './limits.js';
import { readUsage } from './answer.js';

export interface RequesterOptions {
  transport: TeacherTransport;
  cache: ResponseCache;
  limits: TeacherLimits;
  accounts: TeacherAccounts;
  /** Stored beside each cached body, for whoever browses the cache. */
  meta: { model: string; prompt_version: string };
  /** Where the teacher is, for error messages (never holds the key). */
  endpoint: string;
  clock?: Clock;
  random?: () => number;
}

export interface Answer {
  raw: string;
  cached: boolean;
}

/**
 * Turns a request into a raw answer: from the cache when it was asked before, else from the server
 * under the concurrency, rate and budget limits, retrying what can be retried. Identical requests in
 * flight at once are sent once. Once the stage must stop (budget cap, teacher down), every later call
 * throws StageStopped and nothing more is sent.
 */
export class TeacherRequester {
  private readonly limit: LimitFunction;
  private readonly rpm: MinuteBudget | null;
  private readonly tpm: MinuteBudget | null;
  private readonly coolDown: CoolDown;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly inFlight = new Map<string, Promise<Answer>>();
  private consecutiveFailures = 0;
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
    const raw = await this.o.cache.get(key);
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
    for (let attempt = 0; ; attempt++) {
      this.checkCanSend();
      try {
        const raw = await this.limit(async () => {
          // Waiting happens inside the slot, so at most `concurrency` requests are ever on the wire.
          await this.coolDown.wait();
          if (this.rpm) await this.rpm.take(1);
          if (this.tpm) await this.tpm.take(expectedTokens);
          this.checkCanSend();
          accounts.requests++;
          if (attempt > 0) accounts.retries++;
          try {
            return await this.o.transport.send(body, limits.timeout_s * 1000);
          } catch (err) {
            // Pause everyone before this slot is released, so no queued request slips out in between.
            if (err instanceof TeacherRequestError && err.kind === 'rate-limit') {
              this.coolDown.extend(err.retryAfterMs ?? this.backoff(attempt));
            }
            throw err;
          }
        });
        this.consecutiveFailures = 0;
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
        if (!err.retryable || attempt >= limits.max_retries) {
          accounts.failures++;
          if (++this.consecutiveFailures >= limits.stop_after_failures) {
            this.stop(`the teacher at ${this.o.endpoint} failed ${this.consecutiveFailures} requests in a row (last: ${err.message})`);
          }
          throw err;
        }
        // After a 429 everyone waits out the same cool-down (set above); other errors back off alone.
        if (err.kind === 'rate-limit') await this.coolDown.wait();
        else await this.clock.sleep(err.retryAfterMs ?? this.backoff(attempt));
      }
    }
  }
}
