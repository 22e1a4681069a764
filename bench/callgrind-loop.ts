// One measured loop for callgrind: `node [flags] dist/bench/callgrind-loop.js <floor|v1|v1-express> <calls>`.
// Run by callgrind.ts under `valgrind --tool=callgrind --collect-atstart=no
// --toggle-collect=Builtins_ArrayReduceRight`: only the instructions executed inside
// Array.prototype.reduceRight are counted, and the measured calls are the only ones made from it.
import 'reflect-metadata';
import { createHmac } from 'node:crypto';
import * as protocol from './protocol-internals.js';
import { BENCH_SECRET } from './common.js';
import { contextFor, countedNonces, makeGuard, v1Fields, v1Requests, type FakeRequest } from './micro-requests.js';

// A fixed clock: the same timestamps (so the same strings) in every run.
const NOW_MS = 1_764_300_000_000;
Date.now = () => NOW_MS;
const nowSeconds = NOW_MS / 1000;

async function step(kind: string, count: number): Promise<(i: number) => unknown> {
  if (kind === 'floor') {
    const timestamp = String(nowSeconds);
    const strings = countedNonces(count).map((nonce) => protocol.stringToSign(v1Fields('get', timestamp, nonce)));
    return (i) => createHmac('sha256', BENCH_SECRET).update(strings[i], 'utf8').digest();
  }
  if (kind !== 'v1' && kind !== 'v1-express') throw new Error(`unknown loop ${kind}`);
  const shape = kind === 'v1' ? (r: FakeRequest) => r : (await import('./express-request.js')).asExpressRequest;
  const guard = await makeGuard({ rateLimit: false, failedAttempts: false });
  // The key is cached by the first request, which is answered through a promise.
  const first = guard.canActivate(contextFor(shape(v1Requests('get', 1, countedNonces, nowSeconds)[0])));
  if (first !== true) await first;
  const contexts = v1Requests('get', count, countedNonces, nowSeconds).map((r) => contextFor(shape(r)));
  return (i) => {
    if (guard.canActivate(contexts[i]) !== true) throw new Error('guard refused a valid request');
  };
}

const [kind, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const warmup = 6000;
const run = await step(kind, warmup + calls);
for (let i = 0; i < warmup; i++) run(i);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const indexes = Array.from({ length: calls }, (_, i) => warmup + i);
// reduceRight walks from the end: index `calls - 1 - k` on step k, each once.
indexes.reduceRight((sink: number, index: number) => {
  run(index);
  return sink + 1;
}, 0);
process.stdout.write(`${JSON.stringify({ kind, calls })}\n`);
