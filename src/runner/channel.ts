import type { Held } from './held.js';

/**
 * A per-record function a consumer runs on every record it reads (ctx.mapRecords), with the input it gives
 * when the record's id is not known yet: the producer may run it where it makes the record (ingest's worker),
 * so the record is parsed once for every stage of the group that works in the pool.
 */
export interface Wanted {
  name: string;
  fields: readonly string[];
  input: unknown;
  /**
   * Whether the consumer passes these records on as it reads them. Not dedup's first pass (it reads them
   * all before its second pass emits any): the stages after it get their records from that second pass.
   */
  passesOn: boolean;
}

/** One record handed from a stage to the next in the same process: where its body is written, its added fields, its text or object. */
export type Handed = Held;

/** Thrown into a consumer whose producer failed or stopped: the consumer's output is not kept either. */
export class UpstreamFailed extends Error {
  constructor(readonly stage: string) {
    super(`the ${stage} stage before this one did not finish`);
  }
}

/**
 * A bounded, ordered queue between a stage that is still running and the next stage, which reads its
 * records from here instead of parsing the part files again. Bounded by records and by line bytes, so
 * memory does not grow with the corpus: a producer that gets ahead waits. A consumer that ends (or fails)
 * detaches, and from then on the producer's records are only written to its own folder.
 */
export class RecordChannel {
  private readonly queue: Handed[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | null = null;
  private detached = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  /** What this channel's consumer runs on each record it reads (its first pass), once it said so. */
  wanted: Wanted | null = null;
  /** The channel the consumer of this one feeds (its own downstream), for the chain of wanted work. */
  next: RecordChannel | null = null;

  constructor(
    private readonly maxRecords = 16,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  /** What the consumers from here on run per record, in order, as far as each has said. */
  wantedChain(): Wanted[] {
    const out: Wanted[] = [];
    for (let c: RecordChannel | null = this; c?.wanted; c = c.next) {
      out.push(c.wanted);
      if (!c.wanted.passesOn) break;
    }
    return out;
  }

  async push(item: Handed): Promise<void> {
    if (this.detached) return;
    while (!this.detached && this.queue.length > 0 && (this.queue.length >= this.maxRecords || this.queuedBytes >= this.maxBytes)) {
      await new Promise<void>((r) => (this.wakeProducer = r));
    }
    if (this.detached) return;
    this.queue.push(item);
    this.queuedBytes += item.ref.bytes;
    this.wake('consumer');
  }

  /** The producer wrote its last record (its folder is not necessarily in place yet). */
  end(): void {
    this.ended = true;
    this.wake('consumer');
  }

  /** The producer failed or stopped: the consumer's next read throws. */
  fail(stage: string): void {
    this.failure = new UpstreamFailed(stage);
    this.wake('consumer');
  }

  /** The consumer is done with the channel: producers never wait for it again. */
  detach(): void {
    this.detached = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wake('producer');
  }

  async *drain(): AsyncGenerator<Handed> {
    for (;;) {
      if (this.failure) throw this.failure;
      const item = this.queue.shift();
      if (item) {
        this.queuedBytes -= item.ref.bytes;
        this.wake('producer');
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
  }

  private wake(who: 'consumer' | 'producer'): void {
    const w = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = null;
    else this.wakeProducer = null;
    w?.();
  }
}
