import { medianInterval, signTestRank } from '../../bench/stats.js';

describe('medianInterval (the bench intervals)', () => {
  it('uses the sign-test order statistics of a 95% interval', () => {
    // P(Binomial(n, 1/2) <= k - 1) * 2 <= 0.05 for the largest such k.
    expect([5, 6, 10, 12, 20, 30].map((n) => signTestRank(n))).toEqual([0, 1, 2, 3, 6, 10]);
  });

  it('gives the median and the k-th values from each end', () => {
    const values = Array.from({ length: 12 }, (_, i) => 12 - i);
    expect(medianInterval(values)).toEqual({ median: 6.5, low: 3, high: 10, n: 12 });
  });

  it('has no interval for too few values', () => {
    expect(medianInterval([1, 2, 3])).toEqual({ median: 2, low: null, high: null, n: 3 });
  });
});
