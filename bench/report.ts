// Aggregation of the runs, the targets of the benchmark issue, and the JSON + Markdown reports.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { variantId, type Variant } from './common.js';
import type { RunResult } from './load.js';

export interface MicroCase {
  /** Microseconds per operation (median of the repetitions). */
  get: number;
  post: number;
}

export interface MicroResult {
  iterations: number;
  /** HMAC-SHA256 of the string to sign, plus SHA-256 of the body for POST: the crypto alone. */
  hmacAndSha256: MicroCase;
  /** Protocol-level verification: parse the headers, hash the body, recompute and compare the MAC. */
  protocolVerify: MicroCase;
  /** `ApiKeyGuard.canActivate` in process, scheme v1, cached key, nonce store, rate limits off. */
  guardV1: MicroCase;
  /** The same with the per-key rate limit and the failed-attempt limit on. */
  guardFull: MicroCase;
  /**
   * `guardV1` with metrics recorded through an OpenTelemetry SDK MeterProvider
   * (absent in older reports). Measured in batches alternating with `guardV1`
   * and `guardV1Listener`, request making included.
   */
  guardV1Metrics?: MicroCase;
  /** `guardV1` with one (empty) `onAuthentication` listener, measured likewise (absent in older reports). */
  guardV1Listener?: MicroCase;
  /** What each adds to the v1 guard: the median of the differences between alternating batches. */
  observabilityCost?: { metrics: MicroCase; listener: MicroCase };
}

export interface QueriesResult {
  /** Queries made by the first authenticated request (cold cache). */
  coldStart: { requests: number; queries: number };
  /** Steady state: authenticated requests with the key cached. */
  steady: { requests: number; queries: number; perRequest: number };
  /** Unknown keys, each sent many times, failed-attempt limit off: bounded by the negative cache. */
  floodRepeatedUnknown: { requests: number; distinctKeys: number; queries: number; negativeTtlMs: number };
  /** Every request a new unknown key, correctly signed (a holder of the shared secret), failed-attempt limit off. */
  floodDistinctUnknown: { requests: number; distinctKeys: number; queries: number };
  /** Every request a new unknown key with a wrong signature (no secret), failed-attempt limit off. */
  floodWrongSignature: { requests: number; distinctKeys: number; queries: number };
  /** Every request a new unknown key, default failed-attempt limit (30 per minute per address). */
  floodDistinctWithFailedAttemptLimit: { requests: number; queries: number; answered429: number };
  adapter: string;
}

export interface NonceMemoryResult {
  entries: number;
  heapBytes: number;
  bytesPerEntry: number;
  /** Of which the key strings (`<apiKey>:<nonce>`, 55 characters here). */
  keyLength: number;
  distinctExpirySeconds: number;
  recordOnceUs: number;
}

export interface VariantSummary {
  id: string;
  auth: string;
  adapter: string;
  route: string;
  /** Rounds the figures come from (the undisturbed ones, when there are any). */
  rounds: number;
  /** Mean of the 2xx responses per second of the rounds used (the undisturbed ones, when there are any). */
  rps: number;
  /** Every round was disturbed by other work on the machine: the figures are not reliable. */
  disturbed: boolean;
  /** Every round's 2xx responses per second, disturbed or not. */
  rpsPerRound: number[];
  /** rps / rps of the bare route (same adapter, same route) in this run. */
  ratioToBare: number | null;
  latencyUs: { p50: number; p99: number };
  serverCpuUsPerRequest: number | null;
  /** serverCpuUsPerRequest minus the bare route's: what the guard costs the server per request. */
  addedServerUsPerRequest: number | null;
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

export interface TargetResult {
  name: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchReport {
  version: 1;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  settings: {
    duration: number;
    warmup: number;
    /** Unmeasured seconds per server before the first round (absent in older reports). */
    initialWarmup?: number;
    rounds: number;
    connections: number;
    /** Requests per second sent in total, or null: as many as the server answers. */
    rate: number | null;
    variants: string[];
    quick: boolean;
    retries: number;
    maxOtherCpu: number;
  };
  runs: RunResult[];
  variants: VariantSummary[];
  micro: MicroResult | null;
  queries: QueriesResult | null;
  nonceMemory: NonceMemoryResult | null;
  targets: TargetResult[];
  valid: boolean;
  totalSeconds: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * One summary per variant. Rounds that other work on the machine disturbed
 * (more than `maxOtherCpu` cores) are left out of the figures when the variant
 * has an undisturbed round; `disturbed` says when it has none.
 */
export function aggregate(variants: Variant[], runs: RunResult[], maxOtherCpu = Number.POSITIVE_INFINITY): VariantSummary[] {
  const summaries = variants.map((variant): VariantSummary => {
    const all = runs.filter((r) => r.variant === variant.id);
    const quiet = all.filter((r) => (r.otherCpuCores ?? 0) <= maxOtherCpu);
    const own = quiet.length > 0 ? quiet : all;
    const requests = own.reduce((n, r) => n + r.requests, 0);
    const cpu = own.every((r) => r.serverCpuUsPerRequest !== null)
      ? own.reduce((s, r) => s + r.serverCpuUsPerRequest! * r.requests, 0) / Math.max(1, requests)
      : null;
    const statusCodes: Record<string, number> = {};
    for (const r of own) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    // Failures count in every round, used or not: a benchmark with failures is invalid.
    const non2xx = all.reduce((n, r) => n + r.non2xx, 0);
    const errors = all.reduce((n, r) => n + r.errors, 0);
    const timeouts = all.reduce((n, r) => n + r.timeouts, 0);
    return {
      id: variant.id,
      auth: variant.auth,
      adapter: variant.adapter,
      route: variant.route,
      rounds: own.length,
      disturbed: all.length > 0 && quiet.length === 0,
      rps: own.length ? mean(own.map((r) => r.rps)) : 0,
      rpsPerRound: all.map((r) => Math.round(r.rps)),
      ratioToBare: null,
      latencyUs: {
        p50: own.length ? Math.round(median(own.map((r) => r.latencyUs.p50))) : 0,
        p99: own.length ? Math.round(median(own.map((r) => r.latencyUs.p99))) : 0,
      },
      serverCpuUsPerRequest: cpu,
      addedServerUsPerRequest: null,
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
  for (const s of summaries) {
    const bareId = variantId('bare', s.adapter as Variant['adapter'], s.route as Variant['route']);
    const bare = summaries.find((b) => b.id === bareId);
    if (!bare) continue;
    s.ratioToBare = pairedMedian(runs, s.id, bareId, maxOtherCpu, (a, b) => (b.rps > 0 ? a.rps / b.rps : null)) ?? (bare.rps > 0 ? s.rps / bare.rps : null);
    s.addedServerUsPerRequest = pairedMedian(runs, s.id, bareId, maxOtherCpu, (a, b) =>
      a.serverCpuUsPerRequest !== null && b.serverCpuUsPerRequest !== null ? a.serverCpuUsPerRequest - b.serverCpuUsPerRequest : null,
    );
  }
  return summaries;
}

/**
 * The median, over the rounds in which both variants were measured
 * undisturbed, of `compare(run of a, run of b)` within the round. The
 * machine's speed drifts between rounds (by a quarter, here); within one
 * round both variants run back to back, so a per-round comparison cancels
 * most of the drift, and the median drops a round in which it changed.
 * `null` when no round has both.
 */
export function pairedMedian(
  runs: RunResult[],
  a: string,
  b: string,
  maxOtherCpu: number,
  compare: (a: RunResult, b: RunResult) => number | null,
): number | null {
  const quiet = (r: RunResult) => (r.otherCpuCores ?? 0) <= maxOtherCpu;
  const values: number[] = [];
  for (const runA of runs) {
    if (runA.variant !== a || !quiet(runA)) continue;
    const runB = runs.find((r) => r.variant === b && r.round === runA.round && quiet(r));
    const value = runB ? compare(runA, runB) : null;
    if (value !== null) values.push(value);
  }
  return values.length > 0 ? median(values) : null;
}

export function evaluateTargets(report: BenchReport): TargetResult[] {
  const targets: TargetResult[] = [];
  const byId = (id: string) => report.variants.find((v) => v.id === id);
  const ratio = (name: string, id: string, min: number) => {
    const v = byId(id);
    const value = v?.ratioToBare ?? null;
    targets.push({
      name,
      target: `>= ${min.toFixed(2)}x bare`,
      value: value === null ? 'not measured' : `${value.toFixed(2)}x`,
      met: value === null ? null : value >= min,
    });
  };
  ratio('v1 guard, Fastify, GET', 'v1-fastify-get', 0.8);
  ratio('v1 guard, Fastify, 1 KiB POST', 'v1-fastify-post', 0.8);
  ratio('v1 guard, Express, GET', 'v1-express-get', 0.95);
  ratio('v1 guard, Express, 1 KiB POST', 'v1-express-post', 0.95);
  ratio('full stack, Fastify, GET', 'full-fastify-get', 0.7);
  for (const adapter of ['express', 'fastify'] as const) {
    const ours = `v1-${adapter}-get`;
    const theirs = `passport-${adapter}-get`;
    const value = pairedMedian(report.runs, ours, theirs, report.settings.maxOtherCpu, (a, b) => (b.rps > 0 ? a.rps / b.rps : null));
    targets.push({
      name: `v1 guard vs passport-headerapikey, ${adapter === 'express' ? 'Express' : 'Fastify'}, GET`,
      target: '>= 1.15x',
      value: value === null ? 'not measured' : `${value.toFixed(2)}x`,
      met: value === null ? null : value >= 1.15,
    });
  }
  for (const adapter of ['express', 'fastify'] as const) {
    const withMetrics = `metrics-${adapter}-get`;
    const without = `v1-${adapter}-get`;
    const ratio = pairedMedian(report.runs, withMetrics, without, report.settings.maxOtherCpu, (a, b) => (b.rps > 0 ? a.rps / b.rps : null));
    const addedUs = pairedMedian(report.runs, withMetrics, without, report.settings.maxOtherCpu, (a, b) =>
      a.serverCpuUsPerRequest == null || b.serverCpuUsPerRequest == null ? null : a.serverCpuUsPerRequest - b.serverCpuUsPerRequest,
    );
    if (ratio === null) continue;
    targets.push({
      name: `cost of metrics (OpenTelemetry SDK) on the v1 guard, ${adapter === 'express' ? 'Express' : 'Fastify'}, GET`,
      target: 'reported',
      value: `${ratio.toFixed(2)}x the req/s${addedUs === null ? '' : `, ${addedUs >= 0 ? '+' : ''}${addedUs.toFixed(1)} us/req server CPU`}`,
      met: null,
    });
  }
  const micro = report.micro;
  if (micro) {
    const post = micro.guardV1.post;
    const crypto = micro.hmacAndSha256.post;
    targets.push({
      name: 'verification CPU, 1 KiB POST (guard, in process)',
      target: '<= 6 us and <= 2x HMAC + SHA-256',
      value: `${post.toFixed(2)} us = ${(post / crypto).toFixed(2)}x of ${crypto.toFixed(2)} us`,
      met: post <= 6 && post <= 2 * crypto,
    });
  } else {
    targets.push({ name: 'verification CPU, 1 KiB POST', target: '<= 6 us', value: 'not measured', met: null });
  }
  const queries = report.queries;
  targets.push({
    name: 'database queries per authenticated request, steady state',
    target: '0',
    value: queries ? `${queries.steady.queries} in ${queries.steady.requests} requests` : 'not measured',
    met: queries ? queries.steady.queries === 0 : null,
  });
  if (queries) {
    targets.push({
      name: 'database queries, flood of repeated unknown keys',
      target: `<= distinct keys (${queries.floodRepeatedUnknown.distinctKeys})`,
      value: `${queries.floodRepeatedUnknown.queries} in ${queries.floodRepeatedUnknown.requests} requests`,
      met: queries.floodRepeatedUnknown.queries <= queries.floodRepeatedUnknown.distinctKeys,
    });
  }
  return targets;
}

const fmt = (value: number | null | undefined, digits = 0) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const AUTH_LABELS: Record<string, string> = {
  bare: 'bare route (no auth)',
  noop: 'no-op guard (Nest floor)',
  v1: 'v1 guard',
  metrics: 'v1 guard + metrics (OpenTelemetry SDK)',
  full: 'full stack (v1 + rate limits + nonces)',
  v0: 'v0 guard',
  passport: 'passport-headerapikey',
};

export function markdown(report: BenchReport): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`Measured ${report.date.slice(0, 10)} on ${m.cpus} vCPU (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  lines.push(
    `autocannon in the orchestrator process, ${report.settings.connections} connections, ` +
      `${report.settings.rounds} alternating round(s) of ${report.settings.duration} s per variant ` +
      `(+${report.settings.warmup} s warm-up; every server first warmed up for ${report.settings.initialWarmup ?? 0} s); ` +
      `server and load generator share the machine. ` +
      `Rounds during which other work took more than ${report.settings.maxOtherCpu} cores were measured again and, ` +
      `when a variant has undisturbed rounds, left out.`,
  );
  lines.push('');
  lines.push('| variant | adapter | route | req/s | x bare | p50 us | p99 us | server us/req | added us/req | other cores | non-2xx / errors |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of report.variants) {
    lines.push(
      `| ${AUTH_LABELS[v.auth] ?? v.auth} | ${v.adapter} | ${v.route === 'get' ? 'GET' : 'POST 1 KiB'} | ${fmt(v.rps)} | ` +
        `${v.ratioToBare === null ? '-' : `${v.ratioToBare.toFixed(2)}x`} | ${v.latencyUs.p50} | ${v.latencyUs.p99} | ` +
        `${fmt(v.serverCpuUsPerRequest, 1)} | ${v.auth === 'bare' ? '' : fmt(v.addedServerUsPerRequest, 1)} | ` +
        `${fmt(v.otherCpuCores, 2)}${v.disturbed ? ' (disturbed)' : ''} | ` +
        `${v.valid ? `${v.non2xx} / ${v.errors}` : `**${v.non2xx} / ${v.errors + v.timeouts} INVALID**`} |`,
    );
  }
  lines.push('');
  lines.push(
    'req/s: 2xx responses per second, mean of the rounds; x bare: against the bare route of the same adapter and route, ' +
      'the median over the rounds of the ratio within each round; ' +
      'p50/p99: latency under that load (median of the rounds); server us/req: CPU time of the server process (all threads, user + system) ' +
      'per response; added: minus the bare route\'s (median of the rounds\' differences); other cores: CPU taken by other work on the machine during the worst round.',
  );
  lines.push('');
  lines.push('Targets (median of the per-round ratios in this run):');
  lines.push('');
  lines.push('| target | wanted | measured | |');
  lines.push('| --- | --- | --- | --- |');
  for (const t of report.targets) {
    lines.push(`| ${t.name} | ${t.target} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'met' : '**not met**'} |`);
  }
  if (report.micro) {
    const mi = report.micro;
    lines.push('');
    lines.push(`Verification micro benchmark (in process, us per operation, median of repetitions of ${mi.iterations}):`);
    lines.push('');
    lines.push('| | GET | POST 1 KiB |');
    lines.push('| --- | ---: | ---: |');
    lines.push(`| HMAC-SHA256 (+ SHA-256 of the body) alone | ${mi.hmacAndSha256.get.toFixed(2)} | ${mi.hmacAndSha256.post.toFixed(2)} |`);
    lines.push(`| protocol verify (parse, hash, MAC, compare) | ${mi.protocolVerify.get.toFixed(2)} | ${mi.protocolVerify.post.toFixed(2)} |`);
    lines.push(`| ApiKeyGuard.canActivate, v1 | ${mi.guardV1.get.toFixed(2)} | ${mi.guardV1.post.toFixed(2)} |`);
    lines.push(`| ApiKeyGuard.canActivate, full stack | ${mi.guardFull.get.toFixed(2)} | ${mi.guardFull.post.toFixed(2)} |`);
    const cost = mi.observabilityCost;
    if (cost) {
      const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
      lines.push(`| added by metrics (OpenTelemetry SDK registered), paired with v1 | ${signed(cost.metrics.get)} | ${signed(cost.metrics.post)} |`);
      lines.push(`| added by one audit listener, paired with v1 | ${signed(cost.listener.get)} | ${signed(cost.listener.post)} |`);
    }
  }
  if (report.queries) {
    const q = report.queries;
    lines.push('');
    lines.push(`Database queries (SQLite through TypeORM, counted by a TypeORM logger, ${q.adapter}):`);
    lines.push('');
    lines.push('| traffic | requests | queries |');
    lines.push('| --- | ---: | ---: |');
    lines.push(`| first request (cold cache) | ${q.coldStart.requests} | ${q.coldStart.queries} |`);
    lines.push(`| steady state, authenticated | ${q.steady.requests} | ${q.steady.queries} |`);
    lines.push(`| unknown keys, ${q.floodRepeatedUnknown.distinctKeys} distinct, repeated | ${q.floodRepeatedUnknown.requests} | ${q.floodRepeatedUnknown.queries} |`);
    lines.push(`| unknown keys, all distinct, signed with the secret, failed-attempt limit off | ${q.floodDistinctUnknown.requests} | ${q.floodDistinctUnknown.queries} |`);
    lines.push(`| unknown keys, all distinct, wrong signatures, failed-attempt limit off | ${q.floodWrongSignature.requests} | ${q.floodWrongSignature.queries} |`);
    lines.push(
      `| unknown keys, all distinct, default failed-attempt limit | ${q.floodDistinctWithFailedAttemptLimit.requests} | ` +
        `${q.floodDistinctWithFailedAttemptLimit.queries} (${q.floodDistinctWithFailedAttemptLimit.answered429} answered 429) |`,
    );
  }
  if (report.nonceMemory) {
    const n = report.nonceMemory;
    lines.push('');
    lines.push(
      `In-memory nonce store: ${n.bytesPerEntry.toFixed(0)} bytes per entry at ${n.entries.toLocaleString('en-US')} entries ` +
        `(${(n.heapBytes / 2 ** 20).toFixed(0)} MiB of heap and array buffers; ${n.keyLength}-character keys over ${n.distinctExpirySeconds} expiry seconds), ` +
        `${n.recordOnceUs.toFixed(2)} us per recordOnce.`,
    );
  }
  lines.push('');
  lines.push(`Total bench time: ${report.totalSeconds} s.${report.valid ? '' : ' **INVALID: some requests failed.**'}`);
  return lines.join('\n') + '\n';
}

/** Writes `latest.json` and `latest.md` (each through a .tmp file and a rename). */
export function writeReports(report: BenchReport, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ['latest.json', JSON.stringify(report, null, 2) + '\n'],
    ['latest.md', `# Benchmark results\n\n${markdown(report)}`],
  ];
  return files.map(([name, text]) => {
    const path = join(outDir, name);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    return path;
  });
}

const README_START = '<!-- bench:results:start -->';
const README_END = '<!-- bench:results:end -->';

/** Rewrites the results block of the README's Benchmarks section (between its markers). */
export function updateReadme(report: BenchReport, readmePath: string): void {
  const text = readFileSync(readmePath, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end < start) throw new Error(`${readmePath} has no ${README_START} ... ${README_END} block`);
  const block = `${README_START}\n${markdown(report)}${README_END}`;
  writeFileSync(`${readmePath}.tmp`, text.slice(0, start) + block + text.slice(end + README_END.length));
  renameSync(`${readmePath}.tmp`, readmePath);
}

export function printSummary(report: BenchReport): void {
  process.stdout.write(`\n${markdown(report)}\n`);
}
