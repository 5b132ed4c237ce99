/** A task's result, or the error it threw: tasks never reject, so no rejection goes unhandled while it waits. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * Runs tasks concurrently but hands their results back in submission order, holding at most `window`
 * unfinished ones: the output is the same whatever order the answers come back in, and memory stays bounded.
 */
export class OrderedWindow<T> {
  private readonly pending: Promise<Settled<T>>[] = [];

  constructor(private readonly window: number) {}

  /** Adds a task; when the window is full, first waits for (and returns) the oldest results. */
  async push(task: () => Promise<T>): Promise<Settled<T>[]> {
    this.pending.push(settle(Promise.resolve().then(task)));
    const done: Settled<T>[] = [];
    while (this.pending.length > this.window) done.push(await this.pending.shift()!);
    return done;
  }

  /** The oldest results that are already finished, without waiting. */
  async drainReady(): Promise<Settled<T>[]> {
    const done: Settled<T>[] = [];
    while (this.pending.length) {
      const head = this.pending[0]!;
      const ready = await Promise.race([head, Promise.resolve(null)]);
      if (ready === null) break;
      this.pending.shift();
      done.push(ready);
    }
    return done;
  }

  /** Waits for every remaining task, in order. */
  async drain(): Promise<Settled<T>[]> {
    const done: Settled<T>[] = [];
    while (this.pending.length) done.push(await this.pending.shift()!);
    return done;
  }

  /** Waits for every remaining task and discards the results (the stage is stopping). */
  async abandon(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
}
