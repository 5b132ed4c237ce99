import { describe, expect, it } from 'vitest';
import { orderedMap } from '../../src/workers/ordered.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('orderedMap', () => {
  it('yields results in input order although later calls finish first, with at most `window` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const got = await collect(
      orderedMap(
        Array.from({ length: 40 }, (_, i) => i),
        async (i) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await sleep((40 - i) % 7); // later items often finish sooner
          inFlight--;
          return i * 10;
        },
        { window: 5 },
      ),
    );
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i * 10));
    expect(most).toBe(5);
  });

  it('reads the source no further ahead than the window', async () => {
    let read = 0;
    async function* source() {
      for (let i = 0; i < 100; i++) {
        read++;
        yield i;
      }
    }
    const it = orderedMap(source(), async (i) => i, { window: 3 })[Symbol.asyncIterator]();
    await it.next();
    expect(read).toBeLessThanOrEqual(3);
    await it.return?.(undefined);
  });

  it('throws a failure at its turn, after the results before it, naming the item', async () => {
    const got: number[] = [];
    const run = async () => {
      for await (const x of orderedMap([0, 1, 2, 3, 4], async (i) => {
        if (i === 3) throw new Error('bad token');
        await sleep(5);
        return i;
      }, { window: 4, name: (i) => `data/x.jsonl record ${i}` })) got.push(x);
    };
    await expect(run()).rejects.toThrow('data/x.jsonl record 3: bad token');
    expect(got).toEqual([0, 1, 2]);
  });

  it('turns a synchronous throw into the same named failure', async () => {
    const fn = (i: number): Promise<number> => {
      if (i === 1) throw new Error('sync');
      return Promise.resolve(i);
    };
    await expect(collect(orderedMap([0, 1], fn, { window: 2, name: (i) => `item ${i}` }))).rejects.toThrow('item 1: sync');
  });

  it('waits for the calls in flight when the consumer stops early, and stops reading the source', async () => {
    let finished = 0;
    let read = 0;
    async function* source() {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield i;
      }
    }
    for await (const x of orderedMap(source(), async (i) => {
      await sleep(10);
      finished++;
      return i;
    }, { window: 4 })) {
      if (x === 2) break;
    }
    // Every call started has finished by the time the loop is left: nothing runs on behind the caller.
    expect(finished).toBe(read);
    expect(read).toBeLessThan(10);
  });

  it('refuses a window below 1', async () => {
    await expect(collect(orderedMap([1], async (i) => i, { window: 0 }))).rejects.toThrow(/window/);
  });
});
