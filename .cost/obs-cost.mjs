// Paired, interleaved cost of the observer: base (before issue 15) vs new, in one process.
import 'reflect-metadata';


import { Reflector } from '@nestjs/core';
const base = await import('/tmp/obs-base/dist/lib/index.js');
const neu = await import('/work/wt-obs/dist/lib/index.js');
const { signFields, makeNonces, nowSeconds, GET_TARGET, BENCH_SECRET } = await import('/work/wt-obs/dist/bench/common.js');
const { benchMeterProvider } = await import('/work/wt-obs/dist/bench/otel.js');

const API_KEY = 'BenchKey0123456789abcdefghijklmn';
const HOST = '127.0.0.1:3000';
const record = { apiKey: API_KEY, serviceName: 'bench-client', revokedAt: null, expiresAt: null };
class C { handle() {} }
const RAW = ['Host', HOST];
const SOCKET = { remoteAddress: '127.0.0.1' };

async function guardOf(lib, options, withObserver) {
  const resolved = lib.resolveApiKeyAuthOptions({ secrets: [BENCH_SECRET], allowedHosts: ['127.0.0.1'], rateLimit: false, failedAttempts: false, ...options });
  const cache = new lib.ApiKeyCache({ findByKey: async (k) => (k === API_KEY ? record : null) }, resolved);
  const nonceStore = new lib.MemoryNonceStore(50_000_000);
  let observer;
  if (withObserver) { observer = new lib.ServiceAuthObserver(resolved, nonceStore, cache); await observer.onModuleInit(); }
  const auth = new lib.ServiceAuthenticator(resolved, cache, nonceStore, new lib.MemoryThrottlerStorage(), undefined, observer);
  return new lib.ApiKeyGuard(auth, new Reflector(), { httpAdapter: { setHeader() {} } });
}
function batch(n) {
  const ts = nowSeconds();
  return makeNonces(n).map((nonce) => {
    const { signature } = signFields({ scheme: 'v1', apiKey: API_KEY, secret: BENCH_SECRET, timestampSeconds: ts, nonce, method: 'GET', host: HOST, target: GET_TARGET, bodySha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    return { ts: String(ts), nonce, signature };
  });
}
function ctx(s) {
  const request = { method: 'GET', url: GET_TARGET, originalUrl: GET_TARGET, headers: { host: HOST, 'x-api-key': API_KEY, 'x-api-timestamp': s.ts, 'x-api-nonce': s.nonce, 'x-api-signature': s.signature }, rawHeaders: RAW, ip: '127.0.0.1', socket: SOCKET };
  const http = { getRequest: () => request, getResponse: () => ({}), getNext: () => undefined };
  return { getType: () => 'http', getHandler: () => C.prototype.handle, getClass: () => C, switchToHttp: () => http };
}
const guards = {
  base: await guardOf(base, {}, false),
  none: await guardOf(neu, {}, true),
  metrics: await guardOf(neu, { observability: { metrics: { meterProvider: benchMeterProvider() } } }, true),
  listener: await guardOf(neu, { observability: { onAuthentication: () => undefined } }, true),
};
for (const g of Object.values(guards)) for (const s of batch(3000)) await g.canActivate(ctx(s));
const N = 2000, ROUNDS = Number(process.argv[2] ?? 30);
const samples = Object.fromEntries(Object.keys(guards).map((k) => [k, []]));
const names = Object.keys(guards);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? names : [...names].reverse();
  for (const name of order) {
    const signed = batch(N);
    const contexts = signed.map(ctx);
    const g = guards[name];
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (g.canActivate(contexts[i]) !== true) throw new Error(name);
    samples[name].push(Number(process.hrtime.bigint() - start) / 1000 / N);
    await new Promise((r) => setImmediate(r));
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const out = {};
for (const name of names) {
  out[name] = { medianUs: +med(samples[name]).toFixed(2), minUs: +Math.min(...samples[name]).toFixed(2) };
  if (name !== 'base') out[name].pairedDiffVsBaseUs = +med(samples[name].map((v, i) => v - samples.base[i])).toFixed(2);
  if (name !== 'base' && name !== 'none') out[name].pairedDiffVsNoneUs = +med(samples[name].map((v, i) => v - samples.none[i])).toFixed(2);
}
console.log(JSON.stringify(out, null, 1));
