import { similarity } from './minhash.js';

export interface CapItem<K> {
  key: K;
  /** Preferred items (resolved runs) are all taken before any other. */
  preferred: boolean;
  /** MinHash of what the run did; null for a run with no steps. */
  sig: Uint32Array | null;
}

function distance(a: Uint32Array | null, b: Uint32Array | null): number {
  if (!a || !b) return a === b ? 0 : 1;
  return 1 - similarity(a, b);
}

/**
 * Picks `cap` items: preferred ones first, and within each tier the item farthest from everything
 * already picked (farthest-point sampling), so the kept runs of a task cover different approaches.
 * Items must come in priority order (preferred first, then by id): it breaks every tie, so the
 * choice is deterministic. Dropped items name their nearest kept item.
 */
export function selectDiverse<K>(items: readonly CapItem<K>[], cap: number): { kept: K[]; dropped: { key: K; nearest: K; distance: number }[] } {
  if (items.length <= cap) return { kept: items.map((i) => i.key), dropped: [] };
  const taken = new Array<boolean>(items.length).fill(false);
  const minDist = new Array<number>(items.length).fill(Infinity);
  const nearest = new Array<number>(items.length).fill(-1);
  const order: number[] = [];
  const take = (i: number) => {
    taken[i] = true;
    order.push(i);
    for (let j = 0; j < items.length; j++) {
      if (taken[j]) continue;
      const d = distance(items[i]!.sig, items[j]!.sig);
      if (d < minDist[j]!) {
        minDist[j] = d;
        nearest[j] = i;
      }
    }
  };
  take(0);
  while (order.length < cap) {
    const preferredLeft = items.some((it, j) => !taken[j] && it.preferred);
    let pick = -1;
    for (let j = 0; j < items.length; j++) {
      if (taken[j] || (preferredLeft && !items[j]!.preferred)) continue;
      if (pick === -1 || minDist[j]! > minDist[pick]!) pick = j;
    }
    take(pick);
  }
  return {
    kept: order.map((i) => items[i]!.key),
    dropped: items.flatMap((it, j) => (taken[j] ? [] : [{ key: it.key, nearest: items[nearest[j]!]!.key, distance: minDist[j]! }])),
  };
}
