// The end-to-end runs summed up per variant, and compared within each round (the pairs).
import { variantId, type Variant } from './common.js';
import type { RunResult } from './load.js';
import { median, medianInterval, type Interval } from './stats.js';

export interface VariantSummary {
  id: string;
  auth: string;
  adapter: string;
  route: string;
  /** Rounds the figures come from (the undisturbed ones, when there are enough for an interval). */
  rounds: number;
  /** Mean of the 2xx responses per second of the rounds used. */
  rps: number;
  /** Every round was disturbed by other work on the machine: the figures are not reliable. */
  disturbed: boolean;
  /** Every round's 2xx responses per second, disturbed or not. */
  rpsPerRound: number[];
  /** rps / rps of the bare route (same adapter and route) per round: median (information only). */
  ratioToBare: number | null;
  latencyUs: { p50: number; p99: number };
  /** Server CPU (user + system) per 2xx response, median of the rounds used, with its interval. */
  serverCpuUsPerRequest: Interval | null;
  /** Server CPU per request minus the bare route's, per round: median and interval. */
  addedVsBare: Interval | null;
  /** Server CPU per request minus passport-headerapikey's (same adapter and route), per round. */
  addedVsPassport: Interval | null;
  serverCpuCores: number | null;
  clientCpuCores: number;
  /** The most CPU other work on the machine took during one of the rounds used, in cores. */
  otherCpuCores: number | null;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  signedDuringRun: number;
  valid: boolean;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Fewer undisturbed rounds than this give no 95% interval: every round is used then. */
export const MIN_ROUNDS_FOR_INTERVAL = 6;

/**
 * `compare(run of a, run of b)` for every round in which both variants were
 * measured undisturbed (every round with both, when fewer than
 * `MIN_ROUNDS_FOR_INTERVAL` rounds are undisturbed).
 * The machine's speed drifts between rounds (by a quarter, here); within one
 * round the variants run close in time, so a per-round comparison cancels
 * most of the drift.
 */
export function pairedValues(
  runs: RunResult[],
  a: string,
  b: string,
  maxOtherCpu: number,
  compare: (a: RunResult, b: RunResult) => number | null,
): number[] {
  const collect = (quiet: (r: RunResult) => boolean) => {
    const values: number[] = [];
    for (const runA of runs) {
      if (runA.variant !== a || !quiet(runA)) continue;
      const runB = runs.find((r) => r.variant === b && r.round === runA.round && quiet(r));
      const value = runB ? compare(runA, runB) : null;
      if (value !== null) values.push(value);
    }
    return values;
  };
  const undisturbed = collect((r) => (r.otherCpuCores ?? 0) <= maxOtherCpu);
  return undisturbed.length >= MIN_ROUNDS_FOR_INTERVAL ? undisturbed : collect(() => true);
}

/** The median of `pairedValues`; `null` when no round has both. */
export function pairedMedian(
  runs: RunResult[],
  a: string,
  b: string,
  maxOtherCpu: number,
  compare: (a: RunResult, b: RunResult) => number | null,
): number | null {
  const values = pairedValues(runs, a, b, maxOtherCpu, compare);
  return values.length > 0 ? median(values) : null;
}

const cpuDifference = (a: RunResult, b: RunResult) =>
  a.serverCpuUsPerRequest !== null && b.serverCpuUsPerRequest !== null ? a.serverCpuUsPerRequest - b.serverCpuUsPerRequest : null;

/** The paired server-CPU difference a - b (us per request) with its interval; `null` when no round has both. */
export function addedCpu(runs: RunResult[], a: string, b: string, maxOtherCpu: number): Interval | null {
  const values = pairedValues(runs, a, b, maxOtherCpu, cpuDifference);
  return values.length > 0 ? medianInterval(values) : null;
}

/**
 * Per round, (a - its base) / (b - its base): how many times dearer the same
 * added work is in one setting than in another (Express against Fastify).
 */
export function addedRatio(runs: RunResult[], a: [string, string], b: [string, string], maxOtherCpu: number): Interval | null {
  const rounds = [...new Set(runs.map((r) => r.round))];
  const collect = (usable: (r: RunResult | undefined) => boolean) => {
    const values: number[] = [];
    for (const round of rounds) {
      const [x, xb, y, yb] = [a[0], a[1], b[0], b[1]].map((id) => runs.find((r) => r.variant === id && r.round === round));
      if (![x, xb, y, yb].every(usable)) continue;
      const added = y!.serverCpuUsPerRequest! - yb!.serverCpuUsPerRequest!;
      if (added > 0) values.push((x!.serverCpuUsPerRequest! - xb!.serverCpuUsPerRequest!) / added);
    }
    return values;
  };
  const measured = (r: RunResult | undefined) => r !== undefined && r.serverCpuUsPerRequest !== null;
  // As in `pairedValues`: the undisturbed rounds, or every round when too few are.
  const undisturbed = collect((r) => measured(r) && (r!.otherCpuCores ?? 0) <= maxOtherCpu);
  const values = undisturbed.length >= MIN_ROUNDS_FOR_INTERVAL ? undisturbed : collect(measured);
  return values.length > 0 ? medianInterval(values) : null;
}

/**
 * One summary per variant. Rounds that other work on the machine disturbed
 * (more than `maxOtherCpu` cores) are left out when enough are undisturbed
 * for an interval; `disturbed` says when none is.
 */
export function aggregate(variants: Variant[], runs: RunResult[], maxOtherCpu = Number.POSITIVE_INFINITY): VariantSummary[] {
  return variants.map((variant): VariantSummary => {
    const all = runs.filter((r) => r.variant === variant.id);
    const quiet = all.filter((r) => (r.otherCpuCores ?? 0) <= maxOtherCpu);
    const own = quiet.length >= MIN_ROUNDS_FOR_INTERVAL ? quiet : all;
    const requests = own.reduce((n, r) => n + r.requests, 0);
    const statusCodes: Record<string, number> = {};
    for (const r of own) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    // Failures count in every round, used or not: a benchmark with failures is invalid.
    const non2xx = all.reduce((n, r) => n + r.non2xx, 0);
    const errors = all.reduce((n, r) => n + r.errors, 0);
    const timeouts = all.reduce((n, r) => n + r.timeouts, 0);
    const bare = variantId('bare', variant.adapter, variant.route);
    const passport = variantId('passport', variant.adapter, variant.route);
    const cpu = own.filter((r) => r.serverCpuUsPerRequest !== null).map((r) => r.serverCpuUsPerRequest!);
    return {
      id: variant.id,
      auth: variant.auth,
      adapter: variant.adapter,
      route: variant.route,
      rounds: own.length,
      disturbed: all.length > 0 && quiet.length === 0,
      rps: own.length ? mean(own.map((r) => r.rps)) : 0,
      rpsPerRound: all.map((r) => Math.round(r.rps)),
      ratioToBare: pairedMedian(runs, variant.id, bare, maxOtherCpu, (a, b) => (b.rps > 0 ? a.rps / b.rps : null)),
      latencyUs: {
        p50: own.length ? Math.round(median(own.map((r) => r.latencyUs.p50))) : 0,
        p99: own.length ? Math.round(median(own.map((r) => r.latencyUs.p99))) : 0,
      },
      serverCpuUsPerRequest: cpu.length ? medianInterval(cpu) : null,
      addedVsBare: addedCpu(runs, variant.id, bare, maxOtherCpu),
      addedVsPassport: addedCpu(runs, variant.id, passport, maxOtherCpu),
      serverCpuCores: own.every((r) => r.serverCpuCores !== null) && own.length ? mean(own.map((r) => r.serverCpuCores!)) : null,
      clientCpuCores: own.length ? mean(own.map((r) => r.clientCpuCores)) : 0,
      otherCpuCores: own.some((r) => r.otherCpuCores !== null) ? Math.max(...own.map((r) => r.otherCpuCores ?? 0)) : null,
      requests,
      non2xx,
      errors,
      timeouts,
      statusCodes,
      signedDuringRun: own.reduce((n, r) => n + r.signedDuringRun, 0),
      valid: own.length > 0 && requests > 0 && non2xx === 0 && errors === 0 && timeouts === 0,
    };
  });
}
