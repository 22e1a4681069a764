import { CanActivate, ExecutionContext, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  ALLOWED_SERVICES_KEY,
  API_KEY_AUTH_RESOLVED_OPTIONS,
  API_KEY_THROTTLER_STORAGE,
  IS_PUBLIC_KEY,
  NONCE_STORE,
  THROTTLER_NAME_FAILURES,
  THROTTLER_NAME_PER_KEY,
} from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from '../errors/service-auth.exception.js';
import { isKeyActive, type ApiKeyRecord } from '../interfaces/api-key-record.interface.js';
import {
  isNonceAndRateLimitStore,
  type NonceAndRateLimitStore,
  type ThrottlerRecord,
} from '../interfaces/nonce-and-rate-limit-store.interface.js';
import type { NonceStore } from '../interfaces/nonce-store.interface.js';
import type { ServiceCallerInfo } from '../interfaces/service-caller.interface.js';
import {
  deriveKeySecret,
  HEADER_SERVER_TIME,
  HmacKey,
  isTimestampFresh,
  matchesAnySecret,
  parseCredentials,
  ParsedCredentials,
  RequestParts,
  secretKey,
  sha256Hex,
  type SignatureScheme,
  trimHttpWhitespace,
} from '../protocol/index.js';
import { KeyUsageRecorder } from '../services/key-usage.recorder.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';
import { MemoryThrottlerStorage } from '../stores/memory-throttler.storage.js';

/** The request shapes of Express and Fastify that the guard reads. */
interface IncomingRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  originalUrl?: string;
  rawBody?: Buffer;
  ip?: string;
  rawHeaders?: string[];
  raw?: { url?: string; originalUrl?: string; rawHeaders?: string[] };
  socket?: { remoteAddress?: string; encrypted?: boolean };
  protocol?: string;
  /** `SERVICE_CALLER_PROPERTY`, read by `@ServiceCaller()`. */
  serviceCaller?: ServiceCallerInfo;
}

/** Bound of the per-process map of blocked client addresses. */
const MAX_BLOCKED_ADDRESSES = 100_000;

/** A request whose signature and key were found valid (steps 1 to 4). */
export interface AuthenticatedRequest {
  caller: ServiceCallerInfo;
  credentials: ParsedCredentials;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The caller of a request that an `ApiKeyGuard` (any instance) authenticated.
 * The guard runs twice on one request when it is both the global APP_GUARD
 * and in `@UseGuards(ApiKeyGuard)`: the second run must not authenticate
 * again, or it would find its own nonce recorded (`replayed_request`) and
 * count the rate limit twice.
 *
 * Only this module makes instances, so a `serviceCaller` property set by
 * anything else is not taken for one. It is the only property the guard
 * adds to the request, written by name: a second property, or one under a
 * symbol, cost the Express request (an object of some 40 properties) about
 * 4 us per request in profiles; a WeakMap entry per request costs the garbage
 * collector ephemeron work on every request.
 */
class AuthenticatedCaller implements ServiceCallerInfo {
  constructor(
    readonly apiKey: string,
    readonly serviceName: string,
    readonly scheme: SignatureScheme,
  ) {}
}

function authenticatedCaller(request: IncomingRequest): AuthenticatedCaller | undefined {
  const caller = request.serviceCaller;
  return caller instanceof AuthenticatedCaller ? caller : undefined;
}

/** What a route's decorators (`@Public()`, `@AllowServices()`) say, handler first, then controller. */
interface RouteAuth {
  isPublic: boolean;
  allowedServices: readonly string[] | undefined;
}

/**
 * Authenticates service calls per PROTOCOL.md: headers, timestamp window, key
 * lookup, signature, replay check (v1), allowed services, then rate limits.
 * Every failure is a `ServiceAuthException`; nothing reaches the handler
 * unless every step passed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleInit {
  protected readonly logger = new Logger('ApiKeyGuard');
  /** What a failing store answers (made once, not per request). */
  private readonly keyStoreFailed = this.storeFailure('key_store_unavailable', 'API key store unavailable');
  private readonly nonceStoreFailed = this.storeFailure('nonce_store_unavailable', 'Nonce store unavailable, refusing v1 requests');
  private readonly rateLimitStoreFailed = this.storeFailure('rate_limit_store_unavailable', 'Rate-limit storage unavailable');
  /** Set when one store keeps both nonces and counters: both are then written in one round trip. */
  private readonly combinedStore: NonceAndRateLimitStore | undefined;
  /** Addresses refused until the given time (ms) after too many failures. */
  private readonly blockedAddresses = new Map<string, number>();
  /** The configured secrets (shared, or masters in derived mode) as HMAC keys, made once rather than on every request. */
  private readonly secretKeys: readonly HmacKey[];
  /**
   * Route metadata by controller class, then handler, read once per route:
   * decorators do not change while the app runs, and four metadata lookups
   * per request cost more than the rest of the routing checks.
   */
  private readonly routes = new WeakMap<Function, WeakMap<Function, RouteAuth>>();
  /** Notes each accepted key's last use (`last_used_at`), batched; absent when the guard is built by hand. */
  @Inject(KeyUsageRecorder) protected readonly keyUsage?: KeyUsageRecorder;

  constructor(
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) protected readonly options: ResolvedApiKeyAuthOptions,
    protected readonly keyCache: ApiKeyCache,
    @Inject(NONCE_STORE) protected readonly nonceStore: NonceStore,
    @Inject(API_KEY_THROTTLER_STORAGE) protected readonly throttlerStorage: ThrottlerStorage,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {
    this.combinedStore =
      nonceStore === (throttlerStorage as unknown) && isNonceAndRateLimitStore(nonceStore) ? nonceStore : undefined;
    this.secretKeys = Object.freeze(options.secrets.map(secretKey));
  }

  /** Refuses to start on a store that cannot be used safely (`NonceStore.checkUsable`). */
  async onModuleInit(): Promise<void> {
    await this.nonceStore.checkUsable?.();
    const storage = this.throttlerStorage as Partial<NonceAndRateLimitStore>;
    if (storage !== this.nonceStore) await storage.checkUsable?.();
  }

  /**
   * Answers at once, without a promise, when every step is in memory (a
   * cached key, in-memory stores): the usual case costs no trip through the
   * microtask queue. A step that has to wait (a key lookup, a Redis store)
   * makes the answer a promise.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const route = this.routeAuth(context.getHandler(), context.getClass());
    if (route.isPublic) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<IncomingRequest>();
    const response = http.getResponse<unknown>();

    // Every failure, thrown here or rejected later, goes through reject() exactly once.
    try {
      const earlier = authenticatedCaller(request);
      if (earlier) {
        this.checkAllowedServices(earlier, route);
        return true;
      }
      if (this.options.requireHttps && !this.isHttps(request)) throw new ServiceAuthException('https_required');
      this.refuseBlockedAddress(request);
      const admitted = andThen(this.authenticate(request), (done) => this.admit(done, route, request, response));
      if (!isPromiseLike(admitted)) return admitted;
      return Promise.resolve(admitted).catch((error: unknown) => this.reject(error, request, response));
    } catch (error) {
      return this.reject(error, request, response);
    }
  }

  /**
   * PROTOCOL.md steps 1 to 4: the request is well formed, fresh, and signed
   * with a valid key. Throws a `ServiceAuthException` otherwise (or returns a
   * promise that rejects with one, when the key had to be looked up).
   */
  protected authenticate(request: IncomingRequest): AuthenticatedRequest | Promise<AuthenticatedRequest> {
    const parsed = parseCredentials(request.headers);
    if (!parsed.ok) throw new ServiceAuthException(parsed.code, parsed.message);
    const credentials = parsed.credentials;

    if (!this.options.schemes.has(credentials.scheme)) {
      throw new ServiceAuthException(
        'malformed_credentials',
        `Signature scheme ${credentials.scheme} is not accepted by this service; sign with ${[...this.options.schemes].join(' or ')}.`,
      );
    }

    const now = nowSeconds();
    if (!isTimestampFresh(credentials.timestampSeconds, now, this.options.toleranceSeconds)) {
      throw new ServiceAuthException('stale_timestamp');
    }
    const requestParts = credentials.scheme === 'v1' ? this.readRequestParts(request) : undefined;

    // The signature is checked before the key is looked up. Every secret can
    // be known without the key table (shared, or derived from the key), so a
    // wrong signature costs one HMAC per secret and no lookup, whether the key
    // exists, is revoked or expired, or not: the same work and the same answer
    // on every path, and a flood of random keys causes no database query.
    if (!this.signatureMatches(credentials, requestParts)) {
      throw new ServiceAuthException('invalid_signature');
    }
    const found = callStore(() => this.keyCache.get(credentials.apiKey), this.keyStoreFailed);
    return andThen(found, (record) => callerOf(record, credentials));
  }

  /** Steps 5 to 7 for an authenticated request, then marks it: `true`, or a promise of it when a store is asynchronous. */
  private admit(
    { caller, credentials }: AuthenticatedRequest,
    route: RouteAuth,
    request: IncomingRequest,
    response: unknown,
  ): true | Promise<true> {
    const finish = (usage: ThrottlerRecord | undefined): true => {
      this.checkAllowedServices(caller, route);
      this.enforceRateLimit(usage, response);
      request.serviceCaller = caller;
      this.keyUsage?.record(caller.apiKey);
      return true;
    };
    return andThen(this.recordNonceAndCount(credentials), finish);
  }

  /** PROTOCOL.md step 4: the signature under any accepted secret, compared in constant time. */
  protected signatureMatches(credentials: ParsedCredentials, requestParts: RequestParts | undefined): boolean {
    return matchesAnySecret(
      this.secretsFor(credentials.apiKey),
      {
        scheme: credentials.scheme,
        apiKey: credentials.apiKey,
        timestamp: credentials.timestamp,
        nonce: credentials.nonce,
        request: requestParts,
      },
      credentials.mac,
    );
  }

  /**
   * The signed parts of a v1 request. The body must be available as raw bytes
   * (`rawBody: true` when creating the app); a body that is not is never
   * treated as empty.
   */
  protected readRequestParts(request: IncomingRequest): RequestParts {
    const host = request.headers[':authority'] ?? request.headers.host;
    if (typeof host !== 'string' || host.length === 0) {
      throw new ServiceAuthException('malformed_credentials', 'Scheme v1 requires a Host header.');
    }
    const raw = request.raw ?? request;
    // Node keeps only the first of several Host headers; a proxy may route on another one.
    if (countHeader(raw.rawHeaders ?? request.rawHeaders, 'host') > 1) {
      throw new ServiceAuthException('malformed_credentials', 'The Host header was sent more than once.');
    }
    const target = raw.originalUrl ?? raw.url ?? request.url;
    return {
      method: request.method,
      host: trimHttpWhitespace(host),
      target,
      bodySha256: sha256Hex(this.readRawBody(request)),
    };
  }

  /**
   * The body bytes, or `undefined` when the request has no body. A body over
   * `maxBodyBytes` is refused before it is hashed.
   */
  protected readRawBody(request: IncomingRequest): Buffer | undefined {
    const length = request.headers['content-length'];
    if (Buffer.isBuffer(request.rawBody)) {
      if (request.rawBody.length > this.options.maxBodyBytes) throw new ServiceAuthException('body_too_large');
      return request.rawBody;
    }
    const hasBody = request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) return undefined;
    this.logger.warn(
      'Rejected a signed request whose raw body is not available. Create the app with ' +
        '`NestFactory.create(AppModule, { rawBody: true })` (and, for content types other than JSON ' +
        'and urlencoded, register a body parser that keeps the raw bytes).',
    );
    throw new ServiceAuthException('unverifiable_body');
  }

  /** The secrets a signature by `apiKey` may have been made with, current first. */
  protected secretsFor(apiKey: string): readonly HmacKey[] {
    if (this.options.secretMode === 'shared') return this.secretKeys;
    return this.secretKeys.map((master) => deriveKeySecret(master, apiKey));
  }

  /**
   * Whether the request came over HTTPS: the framework's `request.protocol`,
   * which believes `X-Forwarded-Proto` only under the adapter's trust-proxy
   * setting, else the connection itself.
   */
  protected isHttps(request: IncomingRequest): boolean {
    if (request.protocol !== undefined) return request.protocol === 'https';
    return request.socket?.encrypted === true;
  }

  /** The address failed attempts are counted against. Honours the adapter's trust-proxy setting. */
  protected getClientAddress(request: IncomingRequest): string {
    return request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  }

  /** Logs a store's failure (its error only, never the request) and answers 503 with `code`. */
  private storeFailure(
    code: 'key_store_unavailable' | 'nonce_store_unavailable' | 'rate_limit_store_unavailable',
    what: string,
  ): (error: unknown) => never {
    return (error) => {
      this.logger.error(`${what}: ${describe(error)}`);
      throw new ServiceAuthException(code);
    };
  }

  /**
   * PROTOCOL.md step 5 (v1: the nonce is recorded, after the signature was
   * found valid) and the per-key request count of step 7, in one round trip
   * when the stores allow it. A replayed request is not counted.
   * @returns the key's rate-limit record, or `undefined` without a rate limit
   *   (a promise of it when a store answers asynchronously).
   */
  private recordNonceAndCount(credentials: ParsedCredentials): MaybePromise<ThrottlerRecord | undefined> {
    const limit = this.options.rateLimit;
    const counter = limit && {
      key: credentials.apiKey,
      ttlMs: limit.ttlMs,
      limit: limit.limit,
      blockDurationMs: limit.blockDurationMs,
      throttlerName: THROTTLER_NAME_PER_KEY,
    };
    const count = () =>
      counter ? this.throttle(counter.key, counter.ttlMs, counter.limit, counter.blockDurationMs, counter.throttlerName) : undefined;
    if (credentials.scheme !== 'v1') return count();

    const expiresAt = credentials.timestampSeconds + this.options.toleranceSeconds;
    if (counter && this.combinedStore) {
      const store = this.combinedStore;
      const admission = {
        apiKey: credentials.apiKey,
        nonce: credentials.nonce!,
        nonceExpiresAtSeconds: expiresAt,
        limit: counter.limit,
        ttlMs: counter.ttlMs,
        blockDurationMs: counter.blockDurationMs,
        throttlerName: counter.throttlerName,
      };
      const result = callStore(() => store.admit(admission), this.nonceStoreFailed);
      return andThen(result, (answer) => {
        if (answer.outcome === 'replayed') throw new ServiceAuthException('replayed_request');
        return answer.record;
      });
    }
    const nonceKey = `${credentials.apiKey}:${credentials.nonce}`;
    const fresh = callStore(() => this.nonceStore.recordOnce(nonceKey, expiresAt), this.nonceStoreFailed);
    return andThen(fresh, (isFresh) => {
      if (!isFresh) throw new ServiceAuthException('replayed_request');
      return count();
    });
  }

  private routeAuth(handler: Function, controller: Function): RouteAuth {
    let byHandler = this.routes.get(controller);
    if (!byHandler) this.routes.set(controller, (byHandler = new WeakMap()));
    let route = byHandler.get(handler);
    if (!route) {
      const targets = [handler, controller];
      route = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)),
        allowedServices: this.reflector.getAllAndOverride<string[] | undefined>(ALLOWED_SERVICES_KEY, targets),
      };
      byHandler.set(handler, route);
    }
    return route;
  }

  private checkAllowedServices(caller: ServiceCallerInfo, route: RouteAuth): void {
    const allowed = route.allowedServices;
    if (allowed && !allowed.includes(caller.serviceName)) {
      throw new ServiceAuthException('service_not_allowed');
    }
  }

  private enforceRateLimit(record: ThrottlerRecord | undefined, response: unknown): void {
    if (!record?.isBlocked) return;
    this.setHeader(response, 'Retry-After', String(Math.max(1, record.timeToBlockExpire)));
    throw new ServiceAuthException('rate_limited');
  }

  /** The client address is read only when some address is blocked (on Express, `request.ip` parses X-Forwarded-For). */
  private refuseBlockedAddress(request: IncomingRequest): void {
    if (this.blockedAddresses.size === 0) return;
    const address = this.getClientAddress(request);
    const until = this.blockedAddresses.get(address);
    if (until === undefined) return;
    if (until > Date.now()) throw new TooManyFailures(Math.ceil((until - Date.now()) / 1000));
    this.blockedAddresses.delete(address);
  }

  /** Counts a failed attempt; once over the limit, the address is refused until its block ends. */
  private async countFailure(address: string): Promise<number | undefined> {
    const limit = this.options.failedAttempts;
    if (!limit) return undefined;
    const record = await this.throttle(
      `service-auth:failures:${address}`,
      limit.ttlMs,
      limit.limit,
      limit.blockDurationMs,
      THROTTLER_NAME_FAILURES,
    );
    if (!record.isBlocked) return undefined;
    const retryAfter = Math.max(1, record.timeToBlockExpire);
    if (this.blockedAddresses.size >= MAX_BLOCKED_ADDRESSES) this.pruneBlockedAddresses();
    this.blockedAddresses.set(address, Date.now() + retryAfter * 1000);
    return retryAfter;
  }

  private pruneBlockedAddresses(): void {
    const now = Date.now();
    for (const [address, until] of this.blockedAddresses) {
      if (until <= now) this.blockedAddresses.delete(address);
    }
    if (this.blockedAddresses.size >= MAX_BLOCKED_ADDRESSES) {
      this.blockedAddresses.delete(this.blockedAddresses.keys().next().value!);
    }
  }

  /** Counts a request; a failing storage becomes `503 rate_limit_store_unavailable`. Synchronous with the in-memory storage. */
  private throttle(key: string, ttl: number, limit: number, block: number, name: string): MaybePromise<ThrottlerRecord> {
    const storage = this.throttlerStorage;
    return callStore(
      () =>
        storage instanceof MemoryThrottlerStorage
          ? storage.incrementNow(key, ttl, limit, block, name)
          : storage.increment(key, ttl, limit, block, name),
      this.rateLimitStoreFailed,
    );
  }

  /** Turns any failure into the response PROTOCOL.md prescribes, as a rejected promise. */
  private async reject(error: unknown, request: IncomingRequest, response: unknown): Promise<never> {
    throw await this.rejection(error, this.getClientAddress(request), response);
  }

  private async rejection(error: unknown, address: string, response: unknown): Promise<unknown> {
    if (error instanceof TooManyFailures) {
      this.setHeader(response, 'Retry-After', String(error.retryAfterSeconds));
      return new ServiceAuthException('too_many_failed_attempts');
    }
    if (!(error instanceof ServiceAuthException)) {
      this.logger.error(`Unexpected error while authenticating: ${describe(error)}`);
      return new ServiceAuthException('key_store_unavailable', 'Authentication is temporarily unavailable.');
    }
    if (error.getStatus() !== 401) return error;

    this.logger.debug(`Rejected request from ${address}: ${error.code}`);
    let retryAfter: number | undefined;
    try {
      retryAfter = await this.countFailure(address);
    } catch (storageError) {
      return storageError;
    }
    if (retryAfter !== undefined) {
      this.setHeader(response, 'Retry-After', String(retryAfter));
      return new ServiceAuthException('too_many_failed_attempts');
    }
    this.setHeader(response, HEADER_SERVER_TIME, String(nowSeconds()));
    return error;
  }

  private setHeader(response: unknown, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(response, name, value);
  }
}

class TooManyFailures extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many failed attempts');
  }
}

/** Occurrences of a header in Node's `rawHeaders` ([name, value, name, value, ...]). */
function countHeader(rawHeaders: string[] | undefined, lowerCaseName: string): number {
  if (!rawHeaders) return 0;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) count++;
  }
  return count;
}

type MaybePromise<T> = T | Promise<T>;

/** The caller of an active key; every other key answers as a wrong signature does (PROTOCOL.md step 3). */
function callerOf(record: ApiKeyRecord | null, credentials: ParsedCredentials): AuthenticatedRequest {
  if (record === null || !isKeyActive(record, Date.now())) {
    throw new ServiceAuthException('invalid_signature');
  }
  return {
    caller: new AuthenticatedCaller(record.apiKey, record.serviceName, credentials.scheme),
    credentials,
  };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** `next(value)`, at once when `value` is already there, else once it is: no microtask round for an in-memory answer. */
function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromiseLike(value) ? Promise.resolve(value).then(next) : next(value);
}

/**
 * Calls a store that answers at once or with a promise; a throw or a
 * rejection goes to `failed` (which answers 503). Errors of what runs after
 * the answer are not the store's, and are not caught here.
 */
function callStore<T>(call: () => MaybePromise<T>, failed: (error: unknown) => never): MaybePromise<T> {
  let answer: MaybePromise<T>;
  try {
    answer = call();
  } catch (error) {
    return failed(error);
  }
  return isPromiseLike(answer) ? Promise.resolve(answer).catch(failed) : answer;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
