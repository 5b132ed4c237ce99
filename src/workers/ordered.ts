/**
 * Maps an async stream through an async function with at most `window` calls in flight, yielding the
 * results in input order. Memory stays bounded by the window (a slow head holds back at most that many
 * finished results), and the output order never depends on which call finishes first.
 *
 * A failure of any call is thrown to the consumer at its turn, after the results before it; a consumer
 * that stops early (break, throw) stops reading the source, and the calls still in flight are awaited
 * (their errors ignored) before the generator returns, so nothing runs on behind the caller's back.
 */
export async function* orderedMap<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T, index: number) => Promise<R>,
  opts: { window: number; /** Names an item in an error, e.g. "data/x.jsonl record 3 (run ab12)". */ name?: (item: T, index: number) => string },
): AsyncGenerator<R> {
  const { window, name } = opts;
  if (!(window >= 1)) throw new RangeError(`orderedMap: window must be at least 1 (got ${window})`);
  const inFlight: Promise<R>[] = [];
  let index = 0;
  try {
    for await (const item of source) {
      const i = index++;
      let started: Promise<R>;
      try {
        started = fn(item, i);
      } catch (err) {
        started = Promise.reject(err);
      }
      const p = started.catch((err: unknown) => {
        if (!name) throw err;
        throw new Error(`${name(item, i)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      p.catch(() => {}); // surfaced at its turn below; not an unhandled rejection meanwhile
      inFlight.push(p);
      if (inFlight.length >= window) yield await inFlight.shift()!;
    }
    while (inFlight.length) yield await inFlight.shift()!;
  } finally {
    await Promise.allSettled(inFlight);
  }
}
