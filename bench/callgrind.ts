// Instruction counts of the micro loops under callgrind: `node dist/bench/callgrind.js [--calls N] [--express]`.
// `--express`: also the v1 loop on Express-shaped requests (two more runs under valgrind).
// Each loop runs twice in its own process; the counts are reported, and used, only when the two
// runs agree within 1%. Prints one JSON line (CallgrindResult).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, parseArgs } from './common.js';

export interface CallgrindLoop {
  /** `v1-express`: the v1 loop on requests shaped as Express hands them over (express-request.ts). */
  name: 'floor' | 'v1' | 'v1-express';
  /** Instructions per call, one value per run. */
  perCall: number[];
  /** (max - min) / min of the runs. */
  spread: number;
}

export interface CallgrindResult {
  /** `false` when valgrind is not installed: no counts are given then. */
  available: boolean;
  valgrind: string | null;
  nodeFlags: string[];
  calls: number;
  loops: CallgrindLoop[];
  /** Every loop's runs agree within `tolerance`. */
  reproducible: boolean;
  tolerance: number;
  /** v1 guard / crypto floor, in instructions per call (GET); only when reproducible. */
  v1ToFloor: number | null;
  /** The v1 loop on Express's request objects / on plain ones; only when reproducible. */
  expressToPlain: number | null;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Flags that take V8's own variation out of a run: one thread, fixed seeds, no background or incremental GC. */
export const NODE_FLAGS = [
  '--single-threaded',
  '--predictable',
  '--single-threaded-gc',
  '--max-semi-space-size=64',
  '--no-incremental-marking',
  '--expose-gc',
  '--hash-seed=1',
  '--random-seed=1',
];

/** The instructions callgrind collected inside the measured window of one run. */
function collect(loop: string, calls: number): Promise<number> {
  const args = [
    '--tool=callgrind',
    '--collect-atstart=no',
    '--toggle-collect=Builtins_ArrayReduceRight',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    ...NODE_FLAGS,
    join(here, 'callgrind-loop.js'),
    loop,
    String(calls),
  ];
  // One malloc arena, tried against the createHmac loop's variation (valgrind interleaves Node's
  // threads by time slices): it did not remove it (bench/README.md).
  const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MALLOC_ARENA_MAX: '1' } });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      const match = /Collected : (\d+)/.exec(err);
      if (code !== 0 || !match) return reject(new Error(`callgrind ${loop} exited with ${code}: ${err.slice(-500)}`));
      resolve(Number(match[1]));
    });
  });
}

export async function runCallgrind(calls: number, withExpress: boolean, tolerance = 0.01): Promise<CallgrindResult> {
  const version = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  const base = { nodeFlags: NODE_FLAGS, calls, tolerance };
  if (version.status !== 0) {
    return { ...base, available: false, valgrind: null, loops: [], reproducible: false, v1ToFloor: null, expressToPlain: null };
  }
  const loops: CallgrindLoop[] = [];
  const names = withExpress ? (['floor', 'v1', 'v1-express'] as const) : (['floor', 'v1'] as const);
  for (const name of names) {
    // The two runs of a loop side by side: the machine has two cores, and the counts do not depend on time.
    const counts = await Promise.all([collect(name, calls), collect(name, calls)]);
    const perCall = counts.map((c) => c / calls);
    loops.push({ name, perCall, spread: (Math.max(...perCall) - Math.min(...perCall)) / Math.min(...perCall) });
  }
  const reproducible = loops.every((l) => l.spread <= tolerance);
  const mean = (l: CallgrindLoop) => l.perCall.reduce((a, b) => a + b, 0) / l.perCall.length;
  return {
    ...base,
    available: true,
    valgrind: version.stdout.trim(),
    loops,
    reproducible,
    v1ToFloor: reproducible ? mean(loops[1]) / mean(loops[0]) : null,
    expressToPlain: reproducible && loops[2] ? mean(loops[2]) / mean(loops[1]) : null,
  };
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await runCallgrind(Number(args.get('calls') ?? 5000), args.has('express'));
  for (const l of result.loops) {
    process.stderr.write(
      `callgrind ${l.name}: ${l.perCall.map((v) => v.toFixed(0)).join(' / ')} instructions per call (spread ${(100 * l.spread).toFixed(2)}%)\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
