// The report of one `npm run bench` run: its JSON (`latest.json`), its Markdown (`latest.md`) and
// the short table of the README's Benchmarks section.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VariantSummary } from './aggregate.js';
import type { CallgrindResult } from './callgrind.js';
import type { RunResult } from './load.js';
import type { MicroResult } from './micro.js';
import { formatInterval, type Interval } from './stats.js';
import type { TargetResult } from './targets.js';

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

export interface RedisTripsResult {
  requests: number;
  /** Commands the Redis client sent while the guard authenticated `requests` requests. */
  commands: number;
}

export interface BenchReport {
  version: 2;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  settings: {
    duration: number;
    warmup: number;
    initialWarmup: number;
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
  callgrind: CallgrindResult | null;
  queries: QueriesResult | null;
  nonceMemory: NonceMemoryResult | null;
  redisTrips: RedisTripsResult | null;
  targets: TargetResult[];
  valid: boolean;
  totalSeconds: number;
}

const fmt = (value: number | null | undefined, digits = 0) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const iv = (value: Interval | null | undefined, digits = 1) => (value ? formatInterval(value, digits) : '-');
const AUTH_LABELS: Record<string, string> = {
  bare: 'bare route (no auth)',
  noop: 'no-op guard (Nest floor)',
  v1: 'v1 guard',
  metrics: 'v1 guard + metrics (OpenTelemetry SDK)',
  full: 'full stack (v1 + rate limits + nonces)',
  v0: 'v0 guard',
  rfc9421: 'rfc9421 guard',
  passport: 'passport-headerapikey',
};
const met = (t: TargetResult) => (t.met !== null ? (t.met ? 'met' : '**not met**') : t.measured === 'not measured' ? 'n/a' : 'reported');

function targetTable(targets: TargetResult[]): string[] {
  const lines = ['| target | wanted | measured: median [95% interval] | |', '| --- | --- | --- | --- |'];
  for (const t of targets) lines.push(`| ${t.name} | ${t.wanted} | ${t.measured} | ${met(t)} |`);
  return lines;
}

export function markdown(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const lines: string[] = [];
  lines.push(`Measured ${report.date.slice(0, 10)} on ${m.cpus} vCPU (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  lines.push('');
  lines.push('Targets (a target is met only when its whole 95% interval is on the right side; method: bench/README.md):');
  lines.push('');
  lines.push(...targetTable(report.targets));
  if (report.micro) {
    const mi = report.micro;
    lines.push('');
    lines.push(
      `Micro, in one process: ${mi.rounds} interleaved rounds of ${mi.batch} calls per case; median [95% interval] of the rounds.`,
    );
    lines.push('');
    lines.push('| case | route | us per call | x crypto floor (same round) |');
    lines.push('| --- | --- | ---: | ---: |');
    for (const c of mi.cases)
      lines.push(`| ${c.label} | ${c.route === 'get' ? 'GET' : 'POST 1 KiB'} | ${iv(c.us, 2)} | ${iv(c.ratioToFloor, 2)} |`);
    lines.push('');
    lines.push('| paired in the same rounds | route | median [95% interval] |');
    lines.push('| --- | --- | ---: |');
    for (const c of mi.comparisons) {
      lines.push(`| ${c.name} | ${c.route === 'get' ? 'GET' : 'POST 1 KiB'} | ${iv(c.value, 2)}${c.kind === 'us' ? ' us' : 'x'} |`);
    }
    lines.push(`| crypto floor + one nonce record (the end-to-end unit) | GET | ${iv(mi.floorPlusNonceUs, 2)} us |`);
  }
  const cg = report.callgrind;
  if (cg) {
    lines.push('');
    if (!cg.available) lines.push('Instruction counts: valgrind is not installed here, so there are none.');
    else {
      lines.push(`Instruction counts (callgrind, ${cg.calls} calls per run, node ${cg.nodeFlags.join(' ')}):`);
      lines.push('');
      lines.push('| loop | instructions per call, run by run | spread |');
      lines.push('| --- | --- | ---: |');
      for (const l of cg.loops)
        lines.push(`| ${l.name} | ${l.perCall.map((v) => v.toFixed(0)).join(' / ')} | ${(100 * l.spread).toFixed(2)}% |`);
      lines.push('');
      lines.push(
        cg.reproducible
          ? `Reproducible within ${100 * cg.tolerance}%: v1 canActivate = ${cg.v1ToFloor!.toFixed(2)}x the crypto floor in instructions` +
              (cg.expressToPlain === null
                ? '.'
                : `; on Express's request objects ${cg.expressToPlain.toFixed(2)}x what it is on plain ones.`)
          : `Not reproducible within ${100 * cg.tolerance}%: the targets rely on the ratios.`,
      );
    }
  }
  lines.push('');
  lines.push(
    `End to end: autocannon in the orchestrator process, ${s.connections} connections, ${s.rounds} rounds of ${s.duration} s per variant ` +
      `(+${s.warmup} s warm-up; every server first warmed up for ${s.initialWarmup} s), the order reversed every round. ` +
      `Server CPU is user + system time of the server process per 2xx response; added = the difference to the other variant within each round; ` +
      `median [95% interval] of the rounds. Rounds during which other work took more than ${s.maxOtherCpu} cores were measured again and, ` +
      `when a variant has undisturbed rounds, left out.`,
  );
  lines.push('');
  lines.push(
    '| variant | adapter | route | server us/req | added vs bare | added vs passport | req/s | x bare req/s | p50 us | p99 us | other cores | non-2xx / errors |',
  );
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of report.variants) {
    lines.push(
      `| ${AUTH_LABELS[v.auth] ?? v.auth} | ${v.adapter} | ${v.route === 'get' ? 'GET' : 'POST 1 KiB'} | ${iv(v.serverCpuUsPerRequest)} | ` +
        `${v.auth === 'bare' ? '' : iv(v.addedVsBare)} | ${v.auth === 'passport' ? '' : iv(v.addedVsPassport)} | ${fmt(v.rps)} | ` +
        `${v.ratioToBare === null ? '-' : `${v.ratioToBare.toFixed(2)}x`} | ${v.latencyUs.p50} | ${v.latencyUs.p99} | ` +
        `${fmt(v.otherCpuCores, 2)}${v.disturbed ? ' (disturbed)' : ''} | ` +
        `${v.valid ? `${v.non2xx} / ${v.errors}` : `**${v.non2xx} / ${v.errors + v.timeouts} INVALID**`} |`,
    );
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
    lines.push(
      `| unknown keys, ${q.floodRepeatedUnknown.distinctKeys} distinct, repeated | ${q.floodRepeatedUnknown.requests} | ${q.floodRepeatedUnknown.queries} |`,
    );
    lines.push(
      `| unknown keys, all distinct, signed with the secret, failed-attempt limit off | ${q.floodDistinctUnknown.requests} | ${q.floodDistinctUnknown.queries} |`,
    );
    lines.push(
      `| unknown keys, all distinct, wrong signatures, failed-attempt limit off | ${q.floodWrongSignature.requests} | ${q.floodWrongSignature.queries} |`,
    );
    lines.push(
      `| unknown keys, all distinct, default failed-attempt limit | ${q.floodDistinctWithFailedAttemptLimit.requests} | ` +
        `${q.floodDistinctWithFailedAttemptLimit.queries} (${q.floodDistinctWithFailedAttemptLimit.answered429} answered 429) |`,
    );
  }
  if (report.nonceMemory) {
    const n = report.nonceMemory;
    lines.push('');
    lines.push(
      `In-memory nonce store: ${n.bytesPerEntry.toFixed(1)} bytes per entry at ${n.entries.toLocaleString('en-US')} entries ` +
        `(${(n.heapBytes / 2 ** 20).toFixed(0)} MiB of heap and array buffers; ${n.keyLength}-character keys over ${n.distinctExpirySeconds} expiry seconds), ` +
        `${n.recordOnceUs.toFixed(2)} us per recordOnce.`,
    );
  }
  if (report.redisTrips) {
    lines.push('');
    lines.push(
      `Redis (RedisAuthStateStore, full stack): ${report.redisTrips.commands} commands for ${report.redisTrips.requests} authenticated requests.`,
    );
  }
  lines.push('');
  lines.push(`Total bench time: ${report.totalSeconds} s.${report.valid ? '' : ' **INVALID: some requests failed.**'}`);
  return lines.join('\n') + '\n';
}

/** The README's short table: the targets of this run, and where the rest is. */
export function readmeTable(report: BenchReport): string {
  const lines = [
    `Last full run: ${report.date.slice(0, 10)}, ${report.machine.cpus} vCPU, Node ${report.machine.node} ` +
      '(all figures: `bench/results/latest.md`, method: `bench/README.md`).',
    '',
    ...targetTable(report.targets),
  ];
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

/** Rewrites only the short table between the markers of the README's Benchmarks section. */
export function updateReadme(report: BenchReport, readmePath: string): void {
  const text = readFileSync(readmePath, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end < start) throw new Error(`${readmePath} has no ${README_START} ... ${README_END} block`);
  const block = `${README_START}\n${readmeTable(report)}${README_END}`;
  writeFileSync(`${readmePath}.tmp`, text.slice(0, start) + block + text.slice(end + README_END.length));
  renameSync(`${readmePath}.tmp`, readmePath);
}

export function printSummary(report: BenchReport): void {
  process.stdout.write(`\n${markdown(report)}\n`);
}
