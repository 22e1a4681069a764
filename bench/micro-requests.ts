// The requests of the micro benchmark, signed before the clock starts, and the guards that check them.
import type { ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { ApiKeyGuard, ServiceAuthenticator, type ApiKeyAuthModuleOptions, type ApiKeyRecord, type NonceStore } from '../lib/index.js';
import { resolveApiKeyAuthOptions } from '../lib/api-key-auth-options.factory.js';
import { ServiceAuthObserver } from '../lib/observability/service-auth.observer.js';
import { ApiKeyCache } from '../lib/stores/api-key.cache.js';
import { MemoryNonceStore } from '../lib/stores/memory-nonce.store.js';
import { MemoryThrottlerStorage } from '../lib/stores/memory-throttler.storage.js';
import * as protocol from './protocol-internals.js';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { BENCH_SECRET, GET_TARGET, jsonBody, POST_TARGET, signFields, signRfc9421Fields } from './common.js';

export const API_KEY = 'BenchKey0123456789abcdefghijklmn';
export const HOST = '127.0.0.1:3000';
export const BODY = jsonBody(1024);
export const BODY_SHA256 = protocol.sha256Hex(BODY);

export type Route = 'get' | 'post';

/** A request as Express hands it to a guard (the fields the module reads). */
export interface FakeRequest {
  method: string;
  url: string;
  originalUrl: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  rawBody?: Buffer;
  ip: string;
  socket: { remoteAddress: string };
}

/** Where the nonces come from: random (the bench), or a counter (instruction counts that repeat). */
export type NonceSource = (count: number) => string[];

let counter = 0;
/** 22 characters like a base64url nonce of 16 bytes, made from a counter: the same in every run. */
export const countedNonces: NonceSource = (count) => Array.from({ length: count }, () => `n${(counter++).toString(36).padStart(21, '0')}`);

const SOCKET = { remoteAddress: '127.0.0.1' };

function baseHeaders(route: Route): Record<string, string> {
  return route === 'post'
    ? { host: HOST, 'user-agent': 'bench', accept: '*/*', 'content-type': 'application/json', 'content-length': String(BODY.length) }
    : { host: HOST, 'user-agent': 'bench', accept: '*/*' };
}

function request(route: Route, headers: Record<string, string>): FakeRequest {
  const post = route === 'post';
  const target = post ? POST_TARGET : GET_TARGET;
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value);
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

/** The v1 fields of a request (what its string to sign is made of). */
export function v1Fields(route: Route, timestamp: string, nonce: string): protocol.V1SignedFields {
  const post = route === 'post';
  return {
    scheme: 'v1',
    apiKey: API_KEY,
    timestamp,
    nonce,
    method: post ? 'POST' : 'GET',
    host: HOST,
    target: post ? POST_TARGET : GET_TARGET,
    contentType: post ? 'application/json' : '',
    bodySha256: post ? BODY_SHA256 : protocol.EMPTY_BODY_SHA256,
  };
}

/** `count` requests signed with scheme v1 (or v0), each with its own nonce. */
export function v1Requests(
  route: Route,
  count: number,
  nonces: NonceSource,
  nowSeconds: number,
  scheme: 'v1' | 'v0' = 'v1',
): FakeRequest[] {
  const timestamp = String(nowSeconds);
  return nonces(count).map((nonce) => {
    const f = v1Fields(route, timestamp, nonce);
    const signed = signFields({
      ...f,
      scheme,
      secret: BENCH_SECRET,
      timestampSeconds: nowSeconds,
      contentType: f.contentType || undefined,
    });
    const credentials: Record<string, string> = { 'x-api-key': API_KEY, 'x-api-timestamp': timestamp, 'x-api-signature': signed.signature };
    if (scheme === 'v1') credentials['x-api-nonce'] = nonce;
    return request(route, { ...baseHeaders(route), ...credentials });
  });
}

/** `count` requests signed with scheme rfc9421 (Signature-Input, Signature and, with a body, Content-Digest). */
export function rfc9421Requests(route: Route, count: number, nonces: NonceSource, nowSeconds: number): FakeRequest[] {
  const post = route === 'post';
  return nonces(count).map((nonce) => {
    const signed = signRfc9421Fields({
      apiKey: API_KEY,
      secret: BENCH_SECRET,
      createdSeconds: nowSeconds,
      nonce,
      method: post ? 'POST' : 'GET',
      host: HOST,
      target: post ? POST_TARGET : GET_TARGET,
      contentType: post ? 'application/json' : undefined,
      body: post ? BODY : undefined,
    });
    return request(route, { ...baseHeaders(route), ...(signed as unknown as Record<string, string>) });
  });
}

class BenchController {
  handle(): void {}
}

/** The ExecutionContext Nest hands a guard, for one request. */
export function contextFor(req: unknown): ExecutionContext {
  const response = {};
  const http = { getRequest: () => req, getResponse: () => response, getNext: () => undefined };
  return {
    getType: () => 'http',
    // eslint-disable-next-line @typescript-eslint/unbound-method -- Nest hands guards the handler function itself.
    getHandler: () => BenchController.prototype.handle,
    getClass: () => BenchController,
    switchToHttp: () => http,
  } as unknown as ExecutionContext;
}

/** The stores of a guard: in memory unless given. */
export interface GuardStores {
  nonceStore: NonceStore;
  throttlerStorage: ThrottlerStorage;
}

/** The guard as the module makes it: cached key, in-memory nonce store (unless given), its observer initialised. */
export async function makeGuard(options: ApiKeyAuthModuleOptions, stores?: GuardStores): Promise<ApiKeyGuard> {
  const resolved = resolveApiKeyAuthOptions({ secrets: [BENCH_SECRET], allowedHosts: ['127.0.0.1'], ...options });
  const record: ApiKeyRecord = { apiKey: API_KEY, serviceName: 'bench-client', revokedAt: null, expiresAt: null };
  const cache = new ApiKeyCache({ findByKey: async (key) => (key === API_KEY ? record : null) }, resolved);
  const adapterHost = { httpAdapter: { setHeader: () => undefined } } as unknown as HttpAdapterHost;
  const nonceStore = stores?.nonceStore ?? new MemoryNonceStore(10_000_000);
  const observer = new ServiceAuthObserver(resolved, nonceStore, cache);
  await observer.onModuleInit();
  const throttlerStorage = stores?.throttlerStorage ?? new MemoryThrottlerStorage();
  const authenticator = new ServiceAuthenticator(resolved, cache, nonceStore, throttlerStorage, undefined, observer);
  return new ApiKeyGuard(authenticator, new Reflector(), adapterHost);
}
