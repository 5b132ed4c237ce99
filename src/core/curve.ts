import type { CurveShape } from '../../schemas/index.js';

// Pure analysis of a value curve shared by label (anomaly flags, teacher agreement) and segment (the cut):
// one definition of a peak and of a curve's shape, so label's flags and segment's suspicious curves agree.

/** Values closer than this are equal: smoothing leaves float noise that must not invent a peak or a rise. */
export const EPS = 1e-9;

/** Centred moving average over an odd window, shrunk at the edges so the curve keeps its length. */
export function smooth(values: readonly number[], window: number): number[] {
  if (window <= 1) return [...values];
  const half = Math.floor(window / 2);
  return values.map((_, i) => {
    const lo = Math.max(0, i - half);
    const hi = Math.min(values.length - 1, i + half);
    let sum = 0;
    for (let j = lo; j <= hi; j++) sum += values[j]!;
    return sum / (hi - lo + 1);
  });
}

/** The first step at the maximum: on a plateau or a tie the earliest step wins, so the span never grows on no evidence. */
export function findPeak(curve: readonly number[]): { step: number; value: number } {
  if (curve.length === 0) throw new Error('findPeak: empty curve');
  const max = Math.max(...curve);
  const step = curve.findIndex((v) => v >= max - EPS);
  return { step, value: curve[step]! };
}

/** Steps i in 1..upTo where the value rose over step i-1 (strict mode: the rising turns only). */
export function risingSteps(curve: readonly number[], upTo: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= upTo && i < curve.length; i++) if (curve[i]! > curve[i - 1]! + EPS) out.push(i);
  return out;
}

/**
 * Significant moves of the curve, as an alternating list of 'up' and 'down' (a zig-zag filter):
 * a move counts once the value has travelled at least `tolerance` from the last turning point.
 */
export function significantMoves(curve: readonly number[], tolerance: number): ('up' | 'down')[] {
  const moves: ('up' | 'down')[] = [];
  if (curve.length < 2) return moves;
  const big = (d: number) => (tolerance > 0 ? d >= tolerance - EPS : d > EPS);
  let dir: 'up' | 'down' | null = null;
  let lo = curve[0]!;
  let hi = curve[0]!;
  let extreme = curve[0]!;
  for (const x of curve.slice(1)) {
    if (dir === null) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      if (big(x - lo)) (dir = 'up'), (extreme = x);
      else if (big(hi - x)) (dir = 'down'), (extreme = x);
    } else if (dir === 'up') {
      if (x > extreme) extreme = x;
      else if (big(extreme - x)) moves.push('up'), (dir = 'down'), (extreme = x);
    } else {
      if (x < extreme) extreme = x;
      else if (big(x - extreme)) moves.push('down'), (dir = 'up'), (extreme = x);
    }
  }
  if (dir !== null) moves.push(dir);
  return moves;
}

/**
 * Shape from the significant moves. A peak is an up followed by a down, plus the first point when the
 * curve starts by falling and the last when it ends rising. One interior peak is the inverted U the
 * Orchard authors report; a valley (down then up) has two peaks, at its ends.
 */
export function classifyShape(curve: readonly number[], tolerance: number): CurveShape {
  if (curve.length === 1) return 'single-step';
  const moves = significantMoves(curve, tolerance);
  if (moves.length === 0) return 'flat';
  if (moves.length === 1) return moves[0] === 'up' ? 'rising' : 'falling';
  let peaks = 0;
  if (moves[0] === 'down') peaks++;
  if (moves[moves.length - 1] === 'up') peaks++;
  for (let i = 1; i < moves.length; i++) if (moves[i - 1] === 'up' && moves[i] === 'down') peaks++;
  return peaks === 1 ? 'inverted-u' : 'multi-peak';
}

/** Ranks (1-based), ties sharing their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && Math.abs(order[j + 1]![0] - order[i]![0]) <= EPS) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation (Pearson's on the ranks, ties averaged); null when a curve is constant or shorter than 2. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length || a.length < 2) return null;
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (a.length + 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  if (da <= EPS || db <= EPS) return null;
  return Math.max(-1, Math.min(1, num / Math.sqrt(da * db)));
}
