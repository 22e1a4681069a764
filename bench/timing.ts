// Timing side channel check: do unknown keys, revoked keys and wrong signatures
// answer in the same time? `npm run bench:timing` (after a build).
// `--requests N` per kind (default 3000), `--out DIR` (default bench/results).
// One in-process Fastify app on 127.0.0.1; requests of each kind are sent one at a
// time, interleaved, over one keep-alive connection; client-side latency is
// compared between kinds with the two-sample Kolmogorov-Smirnov distance, next to
// the distance between two halves of the same kind (the measurement noise).
import { writeFileSync, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { ApiKeyService } from '../lib/index.js';
import { generateApiKey } from '../lib/keys/api-key.generator.js';
import { BENCH_SECRET, GET_TARGET, isMain, makeNonces, nowSeconds, parseArgs, signFields } from './common.js';
import { startBenchServer } from './server.js';

const WRONG_SECRET = 'timing-check-wrong-secret-0123456789-abcdef';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface Kind {
  name: string;
  apiKey: string;
  secret: string;
  /** Observable by an outsider (no secret known): these must not be told apart. */
  outsider: boolean;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs. */
export function ksDistance(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** KS critical value at significance alpha for samples of sizes n and m. */
function ksCritical(n: number, m: number, alpha = 0.001): number {
  return Math.sqrt(-Math.log(alpha / 2) / 2) * Math.sqrt((n + m) / (n * m));
}

function send(agent: Agent, port: number, headers: Record<string, string>): Promise<{ status: number; us: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path: GET_TARGET, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, us: Number(process.hrtime.bigint() - started) / 1000 }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function runTimingCheck(perKind: number) {
  const server = await startBenchServer('v1', 'fastify');
  const keys = server.app.get(ApiKeyService);
  const revoked = (await keys.create('revoked-service')).apiKey;
  await keys.revoke(revoked);
  const kinds: Kind[] = [
    { name: 'unknown key', apiKey: generateApiKey(), secret: WRONG_SECRET, outsider: true },
    { name: 'revoked key', apiKey: revoked, secret: WRONG_SECRET, outsider: true },
    { name: 'active key, wrong signature', apiKey: server.apiKey, secret: WRONG_SECRET, outsider: true },
    { name: 'unknown key, valid signature (insider)', apiKey: generateApiKey(), secret: BENCH_SECRET, outsider: false },
    { name: 'revoked key, valid signature (insider)', apiKey: revoked, secret: BENCH_SECRET, outsider: false },
  ];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const host = `127.0.0.1:${server.port}`;
  const samples = kinds.map(() => [] as number[]);
  const nonces = makeNonces(perKind * kinds.length + 500);
  let n = 0;
  const headersFor = (kind: Kind) => {
    const signed = signFields({
      scheme: 'v1',
      apiKey: kind.apiKey,
      secret: kind.secret,
      timestampSeconds: nowSeconds(),
      nonce: nonces[n++],
      method: 'GET',
      host,
      target: GET_TARGET,
      bodySha256: EMPTY_SHA256,
    });
    return {
      'x-api-key': kind.apiKey,
      'x-api-timestamp': signed.timestamp,
      'x-api-nonce': signed.nonce,
      'x-api-signature': signed.signature,
    };
  };
  // Warm-up, not recorded.
  for (let i = 0; i < 100; i++) for (const kind of kinds) await send(agent, server.port, headersFor(kind));
  for (let i = 0; i < perKind; i++) {
    // Rotate the order each round so that no kind always follows the same one.
    for (let k = 0; k < kinds.length; k++) {
      const index = (i + k) % kinds.length;
      const { status, us } = await send(agent, server.port, headersFor(kinds[index]));
      if (status !== 401) throw new Error(`${kinds[index].name}: expected 401, got ${status}`);
      samples[index].push(us);
    }
  }
  agent.destroy();
  await server.app.close();

  const summary = kinds.map((kind, i) => {
    const sorted = [...samples[i]].sort((a, b) => a - b);
    const even = samples[i].filter((_, j) => j % 2 === 0);
    const odd = samples[i].filter((_, j) => j % 2 === 1);
    return {
      kind: kind.name,
      outsider: kind.outsider,
      n: sorted.length,
      p10: quantile(sorted, 0.1),
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      noiseKs: ksDistance(even, odd),
    };
  });
  const base = samples[0];
  const comparisons = kinds.slice(1).map((kind, i) => ({
    kind: kind.name,
    vs: kinds[0].name,
    outsider: kind.outsider,
    ks: ksDistance(base, samples[i + 1]),
    critical: ksCritical(base.length, samples[i + 1].length),
    medianDiffUs: summary[i + 1].p50 - summary[0].p50,
  }));
  return { date: new Date().toISOString(), node: process.version, perKind, summary, comparisons };
}

function markdown(result: Awaited<ReturnType<typeof runTimingCheck>>): string {
  const f = (x: number) => x.toFixed(1);
  return [
    '# Timing check',
    '',
    `Measured ${result.date.slice(0, 10)}, Node ${result.node}, Fastify, ${result.perKind} sequential requests per kind, interleaved, over one keep-alive connection; client-side latency in us.`,
    '',
    '| kind | p10 | p50 | p90 | KS distance between its own halves (noise) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...result.summary.map((s) => `| ${s.kind} | ${f(s.p10)} | ${f(s.p50)} | ${f(s.p90)} | ${s.noiseKs.toFixed(3)} |`),
    '',
    '| kind | against | KS distance | critical (alpha 0.001) | median difference (us) | distinguishable? |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...result.comparisons.map(
      (c) =>
        `| ${c.kind} | ${c.vs} | ${c.ks.toFixed(3)} | ${c.critical.toFixed(3)} | ${f(c.medianDiffUs)} | ${c.ks > c.critical ? 'yes' : 'no'}${c.outsider ? '' : ' (insider: holds a valid secret)'} |`,
    ),
    '',
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const perKind = Number(args.get('requests') ?? 3000);
  const out = args.get('out') ?? 'bench/results';
  const result = await runTimingCheck(perKind);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'timing.json'), JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result);
  writeFileSync(join(out, 'timing.md'), md);
  console.log(md);
}
