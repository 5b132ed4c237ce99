export interface Prices {
  promptPerMTok: number;
  completionPerMTok: number;
}

export function costOf(prices: Prices, promptTokens: number, completionTokens: number): number {
  return (promptTokens * prices.promptPerMTok + completionTokens * prices.completionPerMTok) / 1e6;
}

/** What the Batch API did in this run: lines submitted and answered, batches created, tokens at the batch price. */
export class BatchAccounts {
  /** Input files uploaded and batches created by this run (a resumed run reuses recorded ones: 0). */
  uploads = 0;
  created = 0;
  /** Batches whose results this run collected. */
  collected = 0;
  /** Lines submitted by this run. */
  requests = 0;
  /** Lines answered with a chat completion (cached), and lines a batch failed, rejected or left unanswered (sent live). */
  answered = 0;
  failedLines = 0;
  promptTokens = 0;
  completionTokens = 0;
  /** The batch ids this run submitted or polled, in order. */
  readonly ids: string[] = [];
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
  /** Set in label.mode: batch. */
  batch: BatchAccounts | null = null;

  /** `batchPriceFactor`: a batch token's price as a share of a live one's (label.limits.batch_price_factor). */
  constructor(
    readonly prices: Prices,
    readonly batchPriceFactor = 0.5,
  ) {}

  /** Live tokens at the live price, batch tokens at the batch price. */
  get cost(): number {
    return this.liveCost + this.batchCost;
  }

  get liveCost(): number {
    return costOf(this.prices, this.promptTokens, this.completionTokens);
  }

  get batchCost(): number {
    return this.batch ? costOf(this.prices, this.batch.promptTokens, this.batch.completionTokens) * this.batchPriceFactor : 0;
  }

  noteError(kind: string): void {
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
  }

  /** For the manifest: plain numbers, cost rounded to a hundredth of a cent. */
  toJSON(): Record<string, unknown> {
    const round = (x: number) => Math.round(x * 1e4) / 1e4;
    const b = this.batch;
    const batch = b
      ? {
          batch: {
            price_factor: this.batchPriceFactor,
            uploads: b.uploads,
            created: b.created,
            collected: b.collected,
            requests: b.requests,
            answered: b.answered,
            failed_lines: b.failedLines,
            prompt_tokens: b.promptTokens,
            completion_tokens: b.completionTokens,
            estimated_cost: round(this.batchCost),
            ids: b.ids,
          },
          live_estimated_cost: round(this.liveCost),
        }
      : {};
    return {
      requests: this.requests,
      retries: this.retries,
      failures: this.failures,
      cache_hits: this.cacheHits,
      ...(this.sharedWaits || this.claimsTakenOver ? { shared_cache: { waited_for_other_process: this.sharedWaits, claims_taken_over: this.claimsTakenOver } } : {}),
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      estimated_cost: round(this.cost),
      errors_by_kind: Object.fromEntries(Object.entries(this.errorsByKind).sort(([a], [b]) => a.localeCompare(b))),
      ...batch,
    };
  }

  /** One line for the progress display. */
  summary(): string {
    const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n));
    const b = this.batch;
    const batch = b
      ? `; batch: ${b.requests} line(s) submitted, ${b.answered} answered, ${b.failedLines} sent live, ` +
        `${k(b.promptTokens)} + ${k(b.completionTokens)} tokens at ${this.batchPriceFactor}x, ~$${this.batchCost.toFixed(4)}`
      : '';
    return (
      `${this.requests} requests (${this.cacheHits} cached, ${this.retries} retries, ${this.failures} failed), ` +
      `${k(this.promptTokens)} prompt + ${k(this.completionTokens)} completion tokens, ~$${this.cost.toFixed(4)}${batch}`
    );
  }
}
