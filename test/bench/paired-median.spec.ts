import { pairedMedian } from '../../bench/aggregate.js';
import type { RunResult } from '../../bench/load.js';

function run(variant: string, round: number, rps: number, otherCpuCores = 0): RunResult {
  return {
    variant,
    round,
    durationSeconds: 4,
    requests: rps * 4,
    rps,
    non2xx: 0,
    statusCodes: { '200': rps * 4 },
    errors: 0,
    timeouts: 0,
    latencyUs: { p50: 1, p90: 1, p99: 1, max: 1, mean: 1 },
    serverCpuUsPerRequest: 1e6 / rps,
    serverCpuCores: 1,
    clientCpuCores: 1,
    otherCpuCores,
    signedDuringRun: 0,
    retries: 0,
  };
}

const ratio = (a: RunResult, b: RunResult) => a.rps / b.rps;

describe('pairedMedian (the bench ratios)', () => {
  it('compares within each round and takes the median, so one round in another machine state does not move it', () => {
    const runs = [
      run('bare', 1, 1000),
      run('v1', 1, 800),
      run('bare', 2, 1400),
      run('v1', 2, 700), // the machine changed speed between the two runs
      run('bare', 3, 900),
      run('v1', 3, 720),
    ];
    expect(pairedMedian(runs, 'v1', 'bare', 0.3, ratio)).toBeCloseTo(0.8);
  });

  it('leaves out rounds in which either run was disturbed when six or more are not, and rounds with one side missing', () => {
    const quietRounds = [1, 2, 3, 4, 5, 6].flatMap((round) => [run('bare', round, 1000), run('v1', round, 900)]);
    const runs = [
      ...quietRounds,
      run('bare', 7, 1000),
      run('v1', 7, 100, 0.9),
      run('bare', 8, 1000, 0.5),
      run('v1', 8, 100),
      run('v1', 9, 100),
    ];
    expect(pairedMedian(runs, 'v1', 'bare', 0.3, ratio)).toBeCloseTo(0.9);
  });

  it('uses every round when too few are undisturbed for an interval', () => {
    const runs = [
      run('bare', 1, 1000),
      run('v1', 1, 500, 0.9),
      run('bare', 2, 1000, 0.5),
      run('v1', 2, 400),
      run('bare', 3, 1000),
      run('v1', 3, 900),
    ];
    expect(pairedMedian(runs, 'v1', 'bare', 0.3, ratio)).toBeCloseTo(0.5);
  });

  it('is null when no round has both', () => {
    expect(pairedMedian([run('bare', 1, 1000), run('v1', 2, 800)], 'v1', 'bare', 0.3, ratio)).toBeNull();
    expect(pairedMedian([], 'v1', 'bare', 0.3, ratio)).toBeNull();
  });
});
