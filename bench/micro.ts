// Verification alone, in process: `node dist/bench/micro.js [--quick]`.
// Prints a readable table on stderr and one JSON line (MicroResult) on stdout.
import 'reflect-metadata';
import { createHash, createHmac } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ApiKeyCache } from '../lib/stores/api-key.cache.js';
import { ApiKeyGuard, ServiceAuthenticator, type ApiKeyAuthModuleOptions, type ApiKeyRecord } from '../lib/index.js';
import { MemoryNonceStore } from '../lib/stores/memory-nonce.store.js';
import { MemoryThrottlerStorage } from '../lib/stores/memory-throttler.storage.js';
import { resolveApiKeyAuthOptions } from '../lib/api-key-auth-options.factory.js';
import {
  BENCH_SECRET,
  GET_TARGET,
  isMain,
  jsonBody,
  makeNonces,
  nowSeconds,
  parseArgs,
  POST_TARGET,
  signFields,
  signRfc9421Fields,
} from './common.js';
import type { MicroCase, MicroResult } from './report.js';
import * as protocol from '../lib/protocol/index.js';
import { sha256Hex } from '../lib/protocol/crypto.js';
import { matchesAnySecret } from '../lib/protocol/signature.js';

const API_KEY = 'BenchKey0123456789abcdefghijklmn';
const HOST = '127.0.0.1:3000';
const BODY = jsonBody(1024);
const BODY_SHA256 = sha256Hex(BODY);

type Route = 'get' | 'post';

interface FakeRequest {
  method: string;
  url: string;
  originalUrl: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  rawBody?: Buffer;
  ip: string;
  socket: { remoteAddress: string };
}

interface SignedValues {
  timestamp: string;
  nonces: string[];
  signatures: string[];
}

/** Signatures for `count` requests, each with its own nonce (made before the clock starts). */
function signMany(route: Route, count: number): SignedValues {
  const post = route === 'post';
  const timestampSeconds = nowSeconds();
  const nonces = makeNonces(count);
  const signatures = nonces.map(
    (nonce) =>
      signFields({
        scheme: 'v1',
        apiKey: API_KEY,
        secret: BENCH_SECRET,
        timestampSeconds,
        nonce,
        method: post ? 'POST' : 'GET',
        host: HOST,
        target: post ? POST_TARGET : GET_TARGET,
        contentType: post ? 'application/json' : undefined,
        bodySha256: post ? BODY_SHA256 : protocol.EMPTY_BODY_SHA256,
      }).signature,
  );
  return { timestamp: String(timestampSeconds), nonces, signatures };
}

/** Scheme rfc9421: `Signature-Input` and `Signature` per request; `Content-Digest` of the body is the same for all. */
interface Rfc9421Values {
  inputs: string[];
  signatures: string[];
  contentDigest: string | undefined;
}

function signManyRfc9421(route: Route, count: number): Rfc9421Values {
  const post = route === 'post';
  const createdSeconds = nowSeconds();
  const signed = makeNonces(count).map((nonce) =>
    signRfc9421Fields({
      apiKey: API_KEY,
      secret: BENCH_SECRET,
      createdSeconds,
      nonce,
      method: post ? 'POST' : 'GET',
      host: HOST,
      target: post ? POST_TARGET : GET_TARGET,
      contentType: post ? 'application/json' : undefined,
      body: post ? BODY : undefined,
    }),
  );
  return {
    inputs: signed.map((h) => h['signature-input']),
    signatures: signed.map((h) => h.signature),
    contentDigest: signed[0]?.['content-digest'],
  };
}

/** An rfc9421 request as Express hands it to a guard, with all its header lines in `rawHeaders` (as Node gives them). */
function makeRfc9421Request(route: Route, signed: Rfc9421Values, i: number): FakeRequest {
  const post = route === 'post';
  const headers: Record<string, string> = post
    ? {
        host: HOST,
        'user-agent': 'bench',
        accept: '*/*',
        'content-type': 'application/json',
        'content-length': String(BODY.length),
        'content-digest': signed.contentDigest!,
        'signature-input': signed.inputs[i],
        signature: signed.signatures[i],
      }
    : { host: HOST, 'user-agent': 'bench', accept: '*/*', 'signature-input': signed.inputs[i], signature: signed.signatures[i] };
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value);
  const target = post ? POST_TARGET : GET_TARGET;
  return {
    method: post ? 'POST' : 'GET',
    url: target,
    originalUrl: target,
    headers,
    rawHeaders,
    ...(post && { rawBody: BODY }),
    ip: '127.0.0.1',
    socket: SOCKET,
  };
}

/** A request as Express hands it to a guard, made per call as a server would. */
function makeRequest(route: Route, signed: SignedValues, i: number): FakeRequest {
  const post = route === 'post';
  const headers: Record<string, string> = post
    ? {
        host: HOST,
        'user-agent': 'bench',
        accept: '*/*',
        'content-type': 'application/json',
        'content-length': String(BODY.length),
        'x-api-key': API_KEY,
        'x-api-timestamp': signed.timestamp,
        'x-api-nonce': signed.nonces[i],
        'x-api-signature': signed.signatures[i],
      }
    : {
        host: HOST,
        'user-agent': 'bench',
        accept: '*/*',
        'x-api-key': API_KEY,
        'x-api-timestamp': signed.timestamp,
        'x-api-nonce': signed.nonces[i],
        'x-api-signature': signed.signatures[i],
      };
  const target = post ? POST_TARGET : GET_TARGET;
  return {
    method: post ? 'POST' : 'GET',
    url: target,
    originalUrl: target,
    headers,
    rawHeaders: RAW_HEADERS,
    ...(post && { rawBody: BODY }),
    ip: '127.0.0.1',
    socket: SOCKET,
  };
}

const RAW_HEADERS = ['Host', HOST, 'User-Agent', 'bench', 'Accept', '*/*'];
const SOCKET = { remoteAddress: '127.0.0.1' };

class BenchController {
  handle(): void {}
}

function contextFor(request: FakeRequest): ExecutionContext {
  const response = {};
  const http = { getRequest: () => request, getResponse: () => response, getNext: () => undefined };
  return {
    getType: () => 'http',
    getHandler: () => BenchController.prototype.handle,
    getClass: () => BenchController,
    switchToHttp: () => http,
  } as unknown as ExecutionContext;
}

function makeGuard(options: ApiKeyAuthModuleOptions): ApiKeyGuard {
  const resolved = resolveApiKeyAuthOptions({ secrets: [BENCH_SECRET], allowedHosts: ['127.0.0.1'], ...options });
  const record: ApiKeyRecord = { apiKey: API_KEY, serviceName: 'bench-client', revokedAt: null, expiresAt: null };
  const cache = new ApiKeyCache({ findByKey: async (key) => (key === API_KEY ? record : null) }, resolved);
  const adapterHost = { httpAdapter: { setHeader: () => undefined } } as unknown as HttpAdapterHost;
  const authenticator = new ServiceAuthenticator(resolved, cache, new MemoryNonceStore(10_000_000), new MemoryThrottlerStorage());
  return new ApiKeyGuard(authenticator, new Reflector(), adapterHost);
}

/** Median over `repetitions` of the microseconds per call of `fn` over `iterations` calls. */
function timeSync(iterations: number, repetitions: number, fn: (i: number) => unknown): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < repetitions; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (fn(i)) sink++;
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  if (sink < 0) console.error(sink);
  return median(samples);
}

async function timeAsync(iterations: number, repetitions: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn(r * iterations + i);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return median(samples);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

export async function runMicro(quick: boolean): Promise<MicroResult> {
  const iterations = quick ? 2_000 : 20_000;
  const repetitions = quick ? 3 : 7;
  const result: MicroResult = {
    iterations,
    hmacAndSha256: { get: 0, post: 0 },
    protocolVerify: { get: 0, post: 0 },
    guardV1: { get: 0, post: 0 },
    guardRfc9421: { get: 0, post: 0 },
    guardFull: { get: 0, post: 0 },
  };

  for (const route of ['get', 'post'] as const) {
    const post = route === 'post';
    const sample = makeRequest(route, signMany(route, 1), 0);
    const stringToSign = protocol.stringToSign({
      scheme: 'v1',
      apiKey: API_KEY,
      timestamp: sample.headers['x-api-timestamp'],
      nonce: sample.headers['x-api-nonce'],
      method: sample.method,
      host: HOST,
      target: sample.url,
      contentType: post ? 'application/json' : '',
      bodySha256: post ? BODY_SHA256 : protocol.EMPTY_BODY_SHA256,
    });

    // The crypto alone: what any HMAC scheme has to pay for this request.
    const crypto = () => {
      const mac = createHmac('sha256', BENCH_SECRET).update(stringToSign, 'utf8').digest();
      if (post) createHash('sha256').update(BODY).digest('hex');
      return mac;
    };

    // Protocol-level verification of the same request (no key lookup, no nonce store).
    const verify = () => {
      const parsed = protocol.parseCredentials(sample.headers);
      if (!parsed.ok) throw new Error(parsed.message);
      const c = parsed.credentials;
      const ok = matchesAnySecret(
        [BENCH_SECRET],
        {
          scheme: 'v1',
          apiKey: c.apiKey,
          timestamp: c.timestamp,
          nonce: c.nonce!,
          method: sample.method,
          host: sample.headers.host,
          target: sample.url,
          contentType: sample.headers['content-type'] ?? '',
          bodySha256: sha256Hex(sample.rawBody),
        },
        c.mac,
      );
      if (!ok) throw new Error('signature did not verify');
      return ok;
    };

    // The whole guard: one fresh, signed request per call (the nonce store refuses a reused nonce).
    // The request and context are made inside the loop, as a server makes them; the cost of
    // making them (and of awaiting a trivial async function) is measured alone and subtracted.
    const guardCase = async (options: ApiKeyAuthModuleOptions, scheme: 'v1' | 'rfc9421' = 'v1') => {
      const guard = makeGuard(options);
      const count = iterations * repetitions;
      const values = (n: number): ((i: number) => FakeRequest) => {
        if (scheme === 'v1') {
          const signed = signMany(route, n);
          return (i) => makeRequest(route, signed, i);
        }
        const signed = signManyRfc9421(route, n);
        return (i) => makeRfc9421Request(route, signed, i);
      };
      const warm = values(iterations);
      for (let i = 0; i < iterations; i++) await guard.canActivate(contextFor(warm(i)));
      const harnessRequest = values(count);
      const harness = await timeAsync(iterations, repetitions, async (i) => contextFor(harnessRequest(i)).getType());
      const request = values(count);
      const total = await timeAsync(iterations, repetitions, async (i) => {
        if (!(await guard.canActivate(contextFor(request(i))))) throw new Error('guard refused a valid request');
      });
      return Math.max(0, total - harness);
    };

    // Warm up, then measure.
    timeSync(iterations, 1, crypto);
    timeSync(iterations, 1, verify);
    result.hmacAndSha256[route] = timeSync(iterations, repetitions, crypto);
    result.protocolVerify[route] = timeSync(iterations, repetitions, verify);
    result.guardV1[route] = await guardCase({ rateLimit: false, failedAttempts: false });
    result.guardRfc9421[route] = await guardCase({ schemes: ['v1', 'rfc9421'], rateLimit: false, failedAttempts: false }, 'rfc9421');
    result.guardFull[route] = await guardCase({ rateLimit: { limit: 1_000_000_000, ttlMs: 60_000 } });
  }
  return result;
}

function describeCase(name: string, c: MicroCase): string {
  return `${name.padEnd(44)} ${c.get.toFixed(2).padStart(6)} us  ${c.post.toFixed(2).padStart(6)} us`;
}

if (isMain(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const result = await runMicro(args.has('quick'));
  process.stderr.write(
    [
      `${''.padEnd(44)} ${'GET'.padStart(9)}  ${'POST 1KiB'.padStart(9)}`,
      describeCase('HMAC-SHA256 (+ SHA-256 of the body)', result.hmacAndSha256),
      describeCase('protocol verify', result.protocolVerify),
      describeCase('ApiKeyGuard.canActivate (v1)', result.guardV1),
      describeCase('ApiKeyGuard.canActivate (rfc9421)', result.guardRfc9421),
      describeCase('ApiKeyGuard.canActivate (full stack)', result.guardFull),
    ].join('\n') + '\n',
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
