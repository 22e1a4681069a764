// Medians and their distribution-free 95% confidence intervals (sign-test bounds).

export interface Interval {
  /** The median of the values. */
  median: number;
  /** Sign-test bounds: order statistics that hold the median with at least 95% probability; null when there are too few values. */
  low: number | null;
  high: number | null;
  /** How many values (rounds) the figure comes from. */
  n: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialCdfHalf(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * The largest k such that [x(k), x(n-k+1)] (1-based order statistics) covers
 * the median with probability >= 1 - alpha; 0 when even [min, max] does not.
 */
export function signTestRank(n: number, alpha = 0.05): number {
  let k = 0;
  while (k + 1 <= n / 2 && 2 * binomialCdfHalf(n, k) <= alpha) k++;
  return k;
}

/** The median and its 95% sign-test interval (exact for any continuous distribution of the values). */
export function medianInterval(values: number[]): Interval {
  const n = values.length;
  if (n === 0) return { median: Number.NaN, low: null, high: null, n };
  const sorted = [...values].sort((a, b) => a - b);
  const k = signTestRank(n);
  return {
    median: median(sorted),
    low: k > 0 ? sorted[k - 1] : null,
    high: k > 0 ? sorted[n - k] : null,
    n,
  };
}

/** Whether the whole interval is at or below `limit` (a target met only then). */
export const wholeIntervalAtMost = (i: Interval, limit: number): boolean => i.high !== null && i.high <= limit;

export function formatInterval(i: Interval, digits: number, unit = ''): string {
  if (!Number.isFinite(i.median)) return 'not measured';
  const f = (v: number) => `${v.toFixed(digits)}${unit}`;
  return i.low === null || i.high === null
    ? `${f(i.median)} (n=${i.n}, too few for an interval)`
    : `${f(i.median)} [${f(i.low)}, ${f(i.high)}]`;
}
