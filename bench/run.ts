// `npm run bench`: builds (via the npm script), then runs `node dist/bench/run.js [flags]`.
//
//   --duration S     seconds measured per variant and round (default 1)
//   --warmup S       unmeasured seconds before each measurement (default 0.3)
//   --initial-warmup S  unmeasured seconds per server before the first round, for the JIT (default 2)
//   --rounds N       rounds; each round runs every variant, in alternating order (default 12);
//                    figures are the median of the rounds' paired differences, with a 95% interval
//   --connections N  autocannon connections (default 50)
//   --only LIST      comma-separated variant ids or prefixes (e.g. `v1-fastify,bare-fastify-get`)
//   --skip LIST      micro,callgrind,queries,memory,redis: skip those parts
//   --quick          small micro, query and memory runs (for the smoke test)
//   --nonce-entries N  entries for the nonce-store memory measurement (default 1000000)
//   --out DIR        where results go (default bench/results)
//   --from FILE      measure nothing: sum up the runs of an earlier latest.json again (e.g. after a change
//                    in how rounds are paired) and write the reports
//   --update-readme  also rewrite the short table of README.md's Benchmarks section (between its markers)
//   --callgrind-calls N  calls per callgrind run (default 5000)
//   --callgrind-express  also count the v1 loop on Express-shaped requests (two more valgrind runs)
//   --cpu-prof       run the servers under `node --cpu-prof` (profiles in DIR/profiles)
//   --rate R         send R requests per second in total instead of as many as possible
//                    (compares server CPU per request at equal throughput)
//   --retries N      measure a run again when other work on the machine disturbed it (default 2)
//   --max-other-cpu C  cores used by other processes above which a run counts as disturbed (default 0.3)
//   --retry-budget N re-measurements allowed in the whole run (default 8)
//   --quiet-budget S seconds the whole run may wait for other work on the machine to finish
//                    before measurements (default 30; 0: never wait)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ALL_VARIANTS, DEFAULT_VARIANTS, parseArgs, type Variant } from './common.js';
import { drive, waitForQuiet, type RunResult, type Target } from './load.js';
import { aggregate } from './aggregate.js';
import { printSummary, readmeTable, updateReadme, writeReports, type BenchReport } from './report.js';
import { evaluateTargets } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

interface Server extends Target {
  variant: Variant;
  child: ChildProcess;
}

function number(args: Map<string, string>, name: string, fallback: number): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
  return value;
}

function selectVariants(only: string | undefined): Variant[] {
  if (!only) return DEFAULT_VARIANTS;
  const wanted = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const selected = ALL_VARIANTS.filter((v) => wanted.some((w) => v.id === w || v.id.startsWith(`${w}-`)));
  if (selected.length === 0) throw new Error(`--only ${only} matches no variant; ids look like ${ALL_VARIANTS[0].id}`);
  return selected;
}

/** Starts one server process and waits for its `{"port","apiKey","pid"}` line. */
function startServer(variant: Variant, nodeFlags: string[]): Promise<Server> {
  const script = join(here, 'server.js');
  const child = spawn(process.execPath, [...nodeFlags, script, variant.auth, variant.adapter], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: repoRoot,
  });
  return new Promise<Server>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${variant.id} did not start within 60 s`));
    }, 60_000);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const { port, apiKey, pid } = JSON.parse(line) as { port: number; apiKey: string; pid: number };
        resolvePromise({ variant, child, port, apiKey, pid });
      } catch (error) {
        reject(new Error(`server ${variant.id} printed ${JSON.stringify(line)}: ${String(error)}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${variant.id} exited with code ${code} before it listened`));
    });
  });
}

/** Closes a server's stdin (it exits by itself, writing its CPU profile if any) and waits, then kills. */
async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => server.child.once('exit', () => r()));
  server.child.stdin?.end();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    server.child.kill('SIGKILL');
    await exited;
  }
}

/** Runs `node dist/bench/<script>.js` and returns the JSON of its last stdout line. */
function runChildScript<T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, join(here, `${script}.js`), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: repoRoot,
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise<T>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script}.js exited with code ${code}`));
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolvePromise(JSON.parse(last) as T);
      } catch (error) {
        reject(new Error(`${script}.js printed no JSON result: ${String(error)}`));
      }
    });
  });
}

/** `--from`: the same raw figures, summed up and judged again by the current code. */
function reanalyse(file: string, outDir: string): BenchReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  const variants = report.settings.variants.map((id) => ALL_VARIANTS.find((v) => v.id === id)!);
  report.variants = aggregate(variants, report.runs, report.settings.maxOtherCpu);
  report.targets = evaluateTargets({ ...report, maxOtherCpu: report.settings.maxOtherCpu });
  writeReports(report, outDir);
  return report;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.has('from')) {
    const report = reanalyse(resolve(args.get('from')!), resolve(args.get('out') ?? join(repoRoot, 'bench', 'results')));
    printSummary(report);
    if (args.has('update-readme')) updateReadme(report, join(repoRoot, 'README.md'));
    return;
  }
  const duration = number(args, 'duration', 1);
  const warmup = number(args, 'warmup', 0.3);
  const initialWarmup = number(args, 'initial-warmup', 2);
  const rounds = Math.max(1, Math.floor(number(args, 'rounds', 12)));
  const connections = Math.max(1, Math.floor(number(args, 'connections', 50)));
  const quick = args.has('quick');
  const retries = Math.floor(number(args, 'retries', 2));
  const maxOtherCpu = number(args, 'max-other-cpu', 0.3);
  // Re-measurements in the whole run, so that a busy machine cannot stretch it without bound.
  let retryBudget = Math.floor(number(args, 'retry-budget', 8));
  // Time spent in total waiting for the machine to be quiet before measuring.
  let quietBudgetMs = number(args, 'quiet-budget', 30) * 1000;
  const rate = args.has('rate') ? number(args, 'rate', 0) : undefined;
  const skip = new Set((args.get('skip') ?? '').split(',').filter(Boolean));
  const nonceEntries = Math.floor(number(args, 'nonce-entries', quick ? 100_000 : 1_000_000));
  const outDir = resolve(args.get('out') ?? join(repoRoot, 'bench', 'results'));
  const variants = selectVariants(args.get('only'));
  const nodeFlags: string[] = [];
  if (args.has('cpu-prof')) {
    const profileDir = join(outDir, 'profiles');
    mkdirSync(profileDir, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const startedAt = Date.now();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}\n`);

  log(`${variants.length} variants x ${rounds} rounds, ${duration}s each (+${warmup}s warm-up), ${connections} connections`);
  const servers = new Map<string, Server>();
  const runs: RunResult[] = [];
  try {
    // Two at a time: the machine has two cores.
    for (let i = 0; i < variants.length; i += 2) {
      const started = await Promise.all(variants.slice(i, i + 2).map((v) => startServer(v, nodeFlags)));
      for (const server of started) servers.set(server.variant.id, server);
    }
    log(`servers up: ${variants.map((v) => v.id).join(', ')}`);

    // Lets other work on the machine (a build, a test run) finish before measuring, within the budget.
    const quiet = async () => {
      if (quietBudgetMs <= 0) return;
      const waited = await waitForQuiet(maxOtherCpu, Math.min(quietBudgetMs, 20_000));
      quietBudgetMs -= waited;
      if (waited >= 1000) log(`waited ${(waited / 1000).toFixed(1)} s for other work on the machine to finish`);
    };
    const bestRps = new Map<string, number>();
    // Until the JIT has compiled the hot paths (slower while both cores are busy), a server is not in its steady state.
    if (initialWarmup > 0) {
      log(`warming up every server for ${initialWarmup} s`);
      for (const variant of variants) {
        const warm = await drive(variant, servers.get(variant.id)!, 0, { connections, duration: initialWarmup, poolSize: 0, rate });
        bestRps.set(variant.id, warm.rps);
      }
    }
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order every round, so that drift on the machine hits every variant alike.
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      for (const variant of order) {
        const server = servers.get(variant.id)!;
        await quiet();
        if (warmup > 0) {
          const warm = await drive(variant, server, round, { connections, duration: warmup, poolSize: 0, rate });
          bestRps.set(variant.id, Math.max(bestRps.get(variant.id) ?? 0, warm.rps));
        }
        // Pre-sign enough unique requests for the whole measurement (sized from what was seen so far).
        const expected = Math.max(5_000, 1.3 * (bestRps.get(variant.id) ?? 0));
        const poolSize = Math.ceil(expected * duration) + 1000;
        // Other work on the machine (another process, a build) takes CPU from both sides unevenly:
        // such a run is measured again, up to `retries` times, and the least disturbed one is kept.
        let result = await drive(variant, server, round, { connections, duration, poolSize, rate });
        for (let retry = 1; retry <= retries && retryBudget > 0 && (result.otherCpuCores ?? 0) > maxOtherCpu; retry++) {
          retryBudget--;
          log(`round ${round} ${variant.id}: disturbed (${result.otherCpuCores!.toFixed(2)} cores used by other work), measuring again`);
          await quiet();
          const again = await drive(variant, server, round, { connections, duration, poolSize, rate });
          again.retries = retry;
          if ((again.otherCpuCores ?? 0) < (result.otherCpuCores ?? 0)) result = again;
          else result.retries = retry;
        }
        bestRps.set(variant.id, Math.max(bestRps.get(variant.id) ?? 0, result.rps));
        runs.push(result);
        log(
          `round ${round} ${variant.id.padEnd(22)} ${Math.round(result.rps).toString().padStart(6)} req/s  ` +
            `p50 ${result.latencyUs.p50} us  p99 ${result.latencyUs.p99} us  server ${result.serverCpuUsPerRequest?.toFixed(1) ?? '?'} us/req  ` +
            `cores server ${result.serverCpuCores?.toFixed(2) ?? '?'} client ${result.clientCpuCores.toFixed(2)} other ${result.otherCpuCores?.toFixed(2) ?? '?'}  ` +
            `non-2xx ${result.non2xx}  errors ${result.errors}${result.signedDuringRun ? `  signed during run ${result.signedDuringRun}` : ''}`,
        );
      }
    }
  } finally {
    await Promise.all([...servers.values()].map(stopServer));
  }

  const childArgs = quick ? ['--quick'] : [];
  const micro = skip.has('micro') ? null : (log('micro benchmark'), await runChildScript<BenchReport['micro']>('micro', childArgs));
  // Instruction counts do not depend on time: they run beside the parts that only count.
  const callgrind = skip.has('callgrind')
    ? null
    : (log('callgrind instruction counts (in the background)'),
      runChildScript<BenchReport['callgrind']>('callgrind', [
        '--calls',
        String(Math.floor(number(args, 'callgrind-calls', 5000))),
        ...(args.has('callgrind-express') ? ['--express'] : []),
      ]));
  const queries = skip.has('queries')
    ? null
    : (log('database queries'), await runChildScript<BenchReport['queries']>('queries', childArgs));
  const nonceMemory = skip.has('memory')
    ? null
    : (log(`nonce store memory at ${nonceEntries} entries`),
      await runChildScript<BenchReport['nonceMemory']>('nonce-memory', ['--entries', String(nonceEntries)], ['--expose-gc']));
  const redisTrips = skip.has('redis')
    ? null
    : (log('Redis commands per request'), await runChildScript<BenchReport['redisTrips']>('redis-trips', []));
  const callgrindResult = callgrind === null ? null : await callgrind;

  const cpu = cpus();
  const report: BenchReport = {
    version: 2,
    date: new Date().toISOString(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    settings: {
      duration,
      warmup,
      initialWarmup,
      rounds,
      connections,
      rate: rate ?? null,
      variants: variants.map((v) => v.id),
      quick,
      retries,
      maxOtherCpu,
    },
    runs,
    variants: [],
    micro,
    callgrind: callgrindResult,
    queries,
    nonceMemory,
    redisTrips,
    targets: [],
    valid: true,
    totalSeconds: 0,
  };
  report.variants = aggregate(variants, runs, maxOtherCpu);
  report.targets = evaluateTargets({ ...report, maxOtherCpu });
  report.valid = report.variants.every((v) => v.valid);
  report.totalSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
  const written = writeReports(report, outDir);
  printSummary(report);
  log(`wrote ${written.join(', ')}`);
  if (args.has('update-readme')) {
    updateReadme(report, join(repoRoot, 'README.md'));
    log('updated the short table in README.md');
  } else {
    process.stdout.write(`README.md's short table (for --update-readme, or to paste):\n\n${readmeTable(report)}\n`);
  }
  if (!report.valid) {
    log('INVALID: some responses were not 2xx or requests failed (see the table)');
    process.exitCode = 1;
  }
}

await main();
