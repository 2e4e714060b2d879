/** What `orderStats` computes; amounts in cents. */
export interface OrderStats {
  count: number;
  meanCents: number;
  p50Cents: number;
  p90Cents: number;
  p99Cents: number;
  /** The bootstrap 95% confidence interval of the mean: [low, high]. */
  meanConfidence95: [number, number];
  resamples: number;
}

/**
 * Summary statistics of order amounts, and a bootstrap confidence interval for their mean:
 * `resamples` times, draw `amounts.length` amounts at random (with replacement) and take the
 * mean; the middle 95% of those means is the interval. That is `resamples × count` draws:
 * real CPU work (2,000 × 10,000 = 20 million), which is why it runs in a worker thread.
 *
 * It is sent to the worker as source code (`IOLoop.runInExecutor`), so it must stand alone:
 * no imports, no variables from outside, and no helper functions declared inside it (tsx,
 * which `tornado dev` uses, wraps those in a `__name()` call that exists only in this file).
 *
 * `resamples` must be at least 1.
 *
 * @example
 * orderStats([100, 200, 300], 1000).meanCents // 200
 */
export function orderStats(amounts: number[], resamples: number): OrderStats {
  const count = amounts.length;
  const sorted = Float64Array.from(amounts).sort();
  let total = 0;
  for (let i = 0; i < count; i++) total += sorted[i]!;
  // A fixed seed (xorshift32): the same orders always give the same interval.
  let state = 2463534242;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      sum += sorted[(state >>> 0) % count]!;
    }
    means[r] = count === 0 ? 0 : sum / count;
  }
  means.sort();
  // Nearest-rank percentiles, written out: see above for why there is no helper.
  return {
    count,
    meanCents: count === 0 ? 0 : Math.round(total / count),
    p50Cents: count === 0 ? 0 : sorted[Math.ceil(0.5 * count) - 1]!,
    p90Cents: count === 0 ? 0 : sorted[Math.ceil(0.9 * count) - 1]!,
    p99Cents: count === 0 ? 0 : sorted[Math.ceil(0.99 * count) - 1]!,
    meanConfidence95: [
      Math.round(means[Math.ceil(0.025 * resamples) - 1]!),
      Math.round(means[Math.ceil(0.975 * resamples) - 1]!),
    ],
    resamples,
  };
}
