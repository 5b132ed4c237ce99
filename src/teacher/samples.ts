export interface SampleSummary {
  /** Per-step mean of the samples (the one sample itself when K = 1). */
  values: number[];
  /** Per-step population standard deviation; null for one sample. */
  spread: number[] | null;
  /** Largest distance in steps between two samples' peaks; null for one sample. */
  peakDisagreement: number | null;
}

/** Index of the first maximum. */
export function peakIndex(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function summariseSamples(samples: readonly (readonly number[])[]): SampleSummary {
  if (samples.length === 0) throw new Error('no samples');
  if (samples.length === 1) return { values: [...samples[0]!], spread: null, peakDisagreement: null };
  const steps = samples[0]!.length;
  const values: number[] = [];
  const spread: number[] = [];
  for (let i = 0; i < steps; i++) {
    const column = samples.map((s) => s[i]!);
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    values.push(Math.min(1, Math.max(0, mean)));
    spread.push(Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length));
  }
  const peaks = samples.map(peakIndex);
  return { values, spread, peakDisagreement: Math.max(...peaks) - Math.min(...peaks) };
}
