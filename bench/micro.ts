// Verification costs in one process: `node dist/bench/micro.js [--quick]`.
// Every case runs a batch of fresh signed requests per round, all cases in every round, in an
// order that rotates from round to round; each case's time is compared with the crypto floor's
// in the same round, and the median of these ratios is reported with its 95% interval.
// Prints a readable table on stderr and one JSON line (MicroResult) on stdout.
import 'reflect-metadata';
import { createHash, createHmac } from 'node:crypto';
import type { ApiKeyAuthModuleOptions, ApiKeyGuard } from '../lib/index.js';
import { MemoryNonceStore } from '../lib/stores/memory-nonce.store.js';
import * as protocol from './protocol-internals.js';
import { BENCH_SECRET, isMain, makeNonces, nowSeconds, parseArgs } from './common.js';
import { hawkBatch, httpSignaturesBatch } from './micro-peers.js';
import { API_KEY, BODY, contextFor, makeGuard, rfc9421Requests, v1Fields, v1Requests, type Route } from './micro-requests.js';
import { benchMeterProvider } from './otel.js';
import { medianInterval, type Interval } from './stats.js';

/** One measured operation: `prepare(n)` (not timed) makes `n` inputs and returns the call on input `i`. */
interface Case {
  id: string;
  label: string;
  route: Route;
  prepare(count: number): (i: number) => unknown;
}

export interface MicroCaseResult {
  id: string;
  label: string;
  route: Route;
  /** Microseconds per call: median of the rounds, with its interval. */
  us: Interval;
  /** Per round, this case's time over the crypto floor's (same route); median and interval. */
  ratioToFloor: Interval;
}

export interface MicroComparison {
  name: string;
  route: Route;
  /** `ratio`: a / b per round; `us`: a - b per round, in microseconds. */
  kind: 'ratio' | 'us';
  a: string;
  b: string;
  value: Interval;
}

export interface MicroResult {
  batch: number;
  rounds: number;
  cases: MicroCaseResult[];
  comparisons: MicroComparison[];
  /** The crypto floor of a GET plus one nonce record (MemoryNonceStore), per round: the e2e targets' unit. */
  floorPlusNonceUs: Interval;
}

const guardCall = (guard: ApiKeyGuard, requests: unknown[]) => {
  const contexts = requests.map(contextFor);
  return (i: number): unknown => {
    const allowed = guard.canActivate(contexts[i]);
    if (allowed === true) return undefined;
    if (allowed === false) throw new Error('guard refused a valid request');
    return allowed.then((ok) => {
      if (!ok) throw new Error('guard refused a valid request');
    });
  };
};

async function casesFor(route: Route): Promise<Case[]> {
  const post = route === 'post';
  const off = { rateLimit: false, failedAttempts: false } as const;
  const guards = async (options: ApiKeyAuthModuleOptions) => makeGuard(options);
  const [v1, full, v0, rfc9421, metrics, listener] = await Promise.all([
    guards(off),
    guards({ rateLimit: { limit: 1_000_000_000, ttlMs: 60_000 } }),
    guards({ ...off, schemes: ['v0'] }),
    guards({ ...off, schemes: ['v1', 'rfc9421'] }),
    guards({ ...off, observability: { metrics: { meterProvider: benchMeterProvider() } } }),
    guards({ ...off, observability: { onAuthentication: () => undefined } }),
  ]);
  const hawkNonces = new MemoryNonceStore(10_000_000);
  const v1Guard = (guard: ApiKeyGuard) => (n: number) => guardCall(guard, v1Requests(route, n, makeNonces, nowSeconds()));
  const cases: Case[] = [
    {
      id: 'floor',
      label: 'crypto floor: createHmac over the string to sign (+ SHA-256 of the body)',
      route,
      prepare: (n) => {
        const timestamp = String(nowSeconds());
        const strings = makeNonces(n).map((nonce) => protocol.stringToSign(v1Fields(route, timestamp, nonce)));
        return (i) => {
          const mac = createHmac('sha256', BENCH_SECRET).update(strings[i], 'utf8').digest();
          return post ? createHash('sha256').update(BODY).digest('hex') : mac;
        };
      },
    },
    {
      id: 'verify',
      label: 'protocol verify (parse, hash, MAC, compare)',
      route,
      prepare: (n) => {
        const requests = v1Requests(route, n, makeNonces, nowSeconds());
        const secrets = [protocol.secretKey(BENCH_SECRET)];
        return (i) => {
          const r = requests[i];
          const parsed = protocol.parseCredentials(r.headers);
          if (!parsed.ok) throw new Error(parsed.message);
          const c = parsed.credentials;
          const fields = { ...v1Fields(route, c.timestamp, c.nonce!), bodySha256: protocol.sha256Hex(r.rawBody) };
          if (!protocol.matchesAnySecret(secrets, fields, c.mac)) throw new Error('signature did not verify');
        };
      },
    },
    { id: 'v1', label: 'ApiKeyGuard.canActivate, v1', route, prepare: v1Guard(v1) },
    { id: 'full', label: 'ApiKeyGuard.canActivate, full stack (rate limits on)', route, prepare: v1Guard(full) },
    {
      id: 'v0',
      label: 'ApiKeyGuard.canActivate, v0',
      route,
      prepare: (n) => guardCall(v0, v1Requests(route, n, makeNonces, nowSeconds(), 'v0')),
    },
    {
      id: 'rfc9421',
      label: 'ApiKeyGuard.canActivate, rfc9421',
      route,
      prepare: (n) => guardCall(rfc9421, rfc9421Requests(route, n, makeNonces, nowSeconds())),
    },
    { id: 'metrics', label: 'ApiKeyGuard.canActivate, v1, metrics on (OpenTelemetry SDK)', route, prepare: v1Guard(metrics) },
    { id: 'listener', label: 'ApiKeyGuard.canActivate, v1, one audit listener', route, prepare: v1Guard(listener) },
    {
      id: 'hawk',
      label: '@hapi/hawk server.authenticate (payload hash, nonce check)',
      route,
      prepare: (n) => hawkBatch(route, n, makeNonces, nowSeconds(), hawkNonces),
    },
    {
      id: 'httpsig',
      label: 'http-message-signatures verifyMessage (hmac-sha256) + Content-Digest',
      route,
      prepare: (n) => httpSignaturesBatch(route, rfc9421Requests(route, n, makeNonces, nowSeconds())),
    },
  ];
  if (!post) {
    const store = new MemoryNonceStore(10_000_000);
    cases.push({
      id: 'nonce',
      label: 'MemoryNonceStore.recordOnce (one nonce)',
      route,
      prepare: (n) => {
        const keys = makeNonces(n).map((nonce) => `${API_KEY}:${nonce}`);
        const expiresAt = nowSeconds() + 300;
        return (i) => {
          if (!store.recordOnce(keys[i], expiresAt)) throw new Error('nonce seen twice');
        };
      },
    });
  }
  return cases;
}

/** Microseconds per call over `n` calls (awaiting the calls that return a promise). */
async function timeBatch(call: (i: number) => unknown, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const result = call(i);
    if (result instanceof Promise) await result;
  }
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

export async function runMicro(quick: boolean): Promise<MicroResult> {
  const batch = quick ? 200 : 1500;
  const rounds = quick ? 6 : 20;
  const cases = [...(await casesFor('get')), ...(await casesFor('post'))];
  // Warm-up: every case twice (the JIT), not recorded.
  for (let w = 0; w < 2; w++) for (const c of cases) await timeBatch(c.prepare(batch), batch);
  const times = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (k + round) % cases.length;
      const call = cases[index].prepare(batch);
      times[index].push(await timeBatch(call, batch));
    }
  }
  const indexOf = (id: string, route: Route) => cases.findIndex((c) => c.id === id && c.route === route);
  const perRound = (a: number, b: number, f: (x: number, y: number) => number) => times[a].map((t, r) => f(t, times[b][r]));
  const results: MicroCaseResult[] = cases.map((c, i) => ({
    id: c.id,
    label: c.label,
    route: c.route,
    us: medianInterval(times[i]),
    ratioToFloor: medianInterval(perRound(i, indexOf('floor', c.route), (x, y) => x / y)),
  }));
  const comparisons: MicroComparison[] = [];
  for (const route of ['get', 'post'] as const) {
    const compare = (name: string, kind: 'ratio' | 'us', a: string, b: string) =>
      comparisons.push({
        name,
        route,
        kind,
        a,
        b,
        value: medianInterval(perRound(indexOf(a, route), indexOf(b, route), kind === 'ratio' ? (x, y) => x / y : (x, y) => x - y)),
      });
    compare('@hapi/hawk / v1 guard', 'ratio', 'hawk', 'v1');
    compare('http-message-signatures / v1 guard', 'ratio', 'httpsig', 'v1');
    compare('http-message-signatures / rfc9421 guard', 'ratio', 'httpsig', 'rfc9421');
    compare('added by metrics (OpenTelemetry SDK)', 'us', 'metrics', 'v1');
    compare('added by one audit listener', 'us', 'listener', 'v1');
    compare('metrics on / v1 guard', 'ratio', 'metrics', 'v1');
  }
  const floorGet = indexOf('floor', 'get');
  const floorPlusNonceUs = medianInterval(perRound(floorGet, indexOf('nonce', 'get'), (x, y) => x + y));
  return { batch, rounds, cases: results, comparisons, floorPlusNonceUs };
}

const f2 = (i: Interval) =>
  i.low === null ? `${i.median.toFixed(2)}` : `${i.median.toFixed(2)} [${i.low.toFixed(2)}, ${i.high!.toFixed(2)}]`;

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await runMicro(args.has('quick'));
  const lines = [`${result.rounds} interleaved rounds of ${result.batch} calls per case; median [95% interval]`];
  for (const c of result.cases)
    lines.push(
      `${c.route.toUpperCase().padEnd(5)} ${c.label.padEnd(72)} ${f2(c.us).padStart(22)} us  ${f2(c.ratioToFloor).padStart(22)} x floor`,
    );
  for (const c of result.comparisons)
    lines.push(`${c.route.toUpperCase().padEnd(5)} ${c.name.padEnd(72)} ${f2(c.value).padStart(22)} ${c.kind === 'us' ? 'us' : 'x'}`);
  lines.push(`floor + one nonce record (GET): ${f2(result.floorPlusNonceUs)} us`);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
