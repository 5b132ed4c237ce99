export interface Prices {
  promptPerMTok: number;
  completionPerMTok: number;
}

export function costOf(prices: Prices, promptTokens: number, completionTokens: number): number {
  return (promptTokens * prices.promptPerMTok + completionTokens * prices.completionPerMTok) / 1e6;
}

/** What the teacher cost: requests actually sent (every attempt), answers reused from the cache, tokens, money. */
export class TeacherAccounts {
  requests = 0;
  retries = 0;
  /** Requests that failed after all their retries (or could not be retried). */
  failures = 0;
  cacheHits = 0;
  /** Of the cache hits: answers another process sharing the cache was fetching, waited for instead of asked. */
  sharedWaits = 0;
  /** Claims of dead processes on requests of this run, taken over (that request is asked again). */
  claimsTakenOver = 0;
  promptTokens = 0;
  completionTokens = 0;
  readonly errorsByKind: Record<string, number> = {};

  constructor(readonly prices: Prices) {}

  get cost(): number {
    return costOf(this.prices, this.promptTokens, this.completionTokens);
  }

  noteError(kind: string): void {
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  /** For the manifest: plain numbers, cost rounded to a hundredth of a cent. */
  toJSON(): Record<string, unknown> {
    return {
      requests: this.requests,
      retries: this.retries,
      failures: this.failures,
      cache_hits: this.cacheHits,
      ...(this.sharedWaits || this.claimsTakenOver ? { shared_cache: { waited_for_other_process: this.sharedWaits, claims_taken_over: this.claimsTakenOver } } : {}),
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      estimated_cost: Math.round(this.cost * 1e4) / 1e4,
      errors_by_kind: Object.fromEntries(Object.entries(this.errorsByKind).sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  /** One line for the progress display. */
  summary(): string {
    const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n));
    return (
      `${this.requests} requests (${this.cacheHits} cached, ${this.retries} retries, ${this.failures} failed), ` +
      `${k(this.promptTokens)} prompt + ${k(this.completionTokens)} completion tokens, ~$${this.cost.toFixed(4)}`
    );
  }
}
