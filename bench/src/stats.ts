/** Summaries of repeated measures: the median with its spread, and percentiles of latency samples. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** First and third quartiles. */
  q1: number;
  q3: number;
  n: number;
}

/**
 * Nearest rank: the smallest value with at least `p` of all values at or below it (the C references
 * use the same definition, so their p99 is comparable). `sorted` must be in ascending order.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of no values");
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: median(sorted),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    q1: percentile(sorted, 0.25),
    q3: percentile(sorted, 0.75),
    n: sorted.length,
  };
}

/** The middle value (the mean of the two middle ones for an even count) of ascending values. */
function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new RangeError("median of no values");
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median, p99 and p99.9 of one trial's round-trip samples (sorted in place). */
export function latencySummary(samples: Float64Array): { median: number; p99: number; p999: number } {
  samples.sort();
  return { median: percentile(samples, 0.5), p99: percentile(samples, 0.99), p999: percentile(samples, 0.999) };
}
