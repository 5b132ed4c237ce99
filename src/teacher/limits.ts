/** Time and sleep, injectable so the limiters can be tested without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A per-minute budget (requests or tokens) as a token bucket: it holds up to one minute's allowance and
 * refills continuously, so a burst may start at once and the long-run rate never exceeds the limit.
 * Waiters are served in arrival order.
 */
export class MinuteBudget {
  private available: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perMinute: number,
    private readonly clock: Clock = realClock,
  ) {
    this.available = perMinute;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.available = Math.min(this.perMinute, this.available + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }

  /** Waits until `amount` can be spent (an amount over a minute's allowance waits for a full bucket). */
  take(amount: number): Promise<void> {
    const need = Math.min(amount, this.perMinute);
    const turn = this.queue.then(async () => {
      this.refill();
      while (this.available < need) {
        await this.clock.sleep(((need - this.available) * 60_000) / this.perMinute);
        this.refill();
      }
      this.available -= need;
    });
    this.queue = turn;
    return turn;
  }
}

/**
 * A pause shared by every request: when the server says 429, nobody sends until the pause is over,
 * so a rate-limited stage slows down together instead of each request burning its retries.
 */
export class CoolDown {
  private until = 0;

  constructor(private readonly clock: Clock = realClock) {}

  extend(ms: number): void {
    this.until = Math.max(this.until, this.clock.now() + ms);
  }

  async wait(): Promise<void> {
    for (let left = this.until - this.clock.now(); left > 0; left = this.until - this.clock.now()) await this.clock.sleep(left);
  }
}

/** Seconds to wait from a Retry-After (seconds or HTTP date) or retry-after-ms header; null when absent or unreadable. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (Number.isFinite(Number(value))) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Exponential backoff with jitter: between half and all of base * 2^attempt, capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}
