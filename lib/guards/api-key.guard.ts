import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import {
  ALLOWED_SERVICES_KEY,
  API_KEY_AUTH_RESOLVED_OPTIONS,
  API_KEY_THROTTLER_STORAGE,
  IS_PUBLIC_KEY,
  NONCE_STORE,
  SERVICE_CALLER_PROPERTY,
  THROTTLER_NAME_FAILURES,
  THROTTLER_NAME_PER_KEY,
} from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from '../errors/service-auth.exception.js';
import { isKeyActive } from '../interfaces/api-key-record.interface.js';
import type { NonceStore } from '../interfaces/nonce-store.interface.js';
import type { ServiceCallerInfo } from '../interfaces/service-caller.interface.js';
import {
  deriveKeySecret,
  HEADER_SERVER_TIME,
  isTimestampFresh,
  matchesAnySecret,
  parseCredentials,
  ParsedCredentials,
  RequestParts,
  sha256Hex,
} from '../protocol/index.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';

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
  socket?: { remoteAddress?: string };
  [SERVICE_CALLER_PROPERTY]?: ServiceCallerInfo;
}

/** Bound of the per-process map of blocked client addresses. */
const MAX_BLOCKED_ADDRESSES = 100_000;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Requests already authenticated by an `ApiKeyGuard` (any instance), with
 * their caller. The guard runs twice on one request when it is both the
 * global APP_GUARD and in `@UseGuards(ApiKeyGuard)`: the second run must not
 * authenticate again, or it would find its own nonce recorded
 * (`replayed_request`) and count the rate limit twice.
 */
const authenticatedRequests = new WeakMap<object, ServiceCallerInfo>();

/**
 * Authenticates service calls per PROTOCOL.md: headers, timestamp window, key
 * lookup, signature, replay check (v1), allowed services, then rate limits.
 * Every failure is a `ServiceAuthException`; nothing reaches the handler
 * unless every step passed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  protected readonly logger = new Logger('ApiKeyGuard');
  /** Addresses refused until the given time (ms) after too many failures. */
  private readonly blockedAddresses = new Map<string, number>();

  constructor(
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) protected readonly options: ResolvedApiKeyAuthOptions,
    protected readonly keyCache: ApiKeyCache,
    @Inject(NONCE_STORE) protected readonly nonceStore: NonceStore,
    @Inject(API_KEY_THROTTLER_STORAGE) protected readonly throttlerStorage: ThrottlerStorage,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const targets: [Function, Function] = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<IncomingRequest>();
    const response = http.getResponse<unknown>();
    const address = this.getClientAddress(request);

    try {
      const authenticated = authenticatedRequests.get(request);
      if (authenticated) {
        this.checkAllowedServices(authenticated, targets);
        return true;
      }
      this.refuseBlockedAddress(address);
      const caller = await this.authenticate(request);
      this.checkAllowedServices(caller, targets);
      await this.applyRateLimit(caller, response);
      authenticatedRequests.set(request, caller);
      request[SERVICE_CALLER_PROPERTY] = caller;
      return true;
    } catch (error) {
      throw await this.handleRejection(error, address, response);
    }
  }

  /** PROTOCOL.md steps 1 to 5. Returns the caller, or throws a `ServiceAuthException`. */
  protected async authenticate(request: IncomingRequest): Promise<ServiceCallerInfo> {
    const parsed = parseCredentials(request.headers);
    if (!parsed.ok) throw new ServiceAuthException(parsed.code, parsed.message);
    const credentials = parsed.credentials;

    if (!this.options.schemes.has(credentials.scheme)) {
      throw new ServiceAuthException(
        'malformed_credentials',
        `Signature scheme ${credentials.scheme} is not accepted by this service; sign with ${[...this.options.schemes].join(' or ')}.`,
      );
    }
    const requestParts = credentials.scheme === 'v1' ? this.readRequestParts(request) : undefined;

    const now = nowSeconds();
    if (!isTimestampFresh(credentials.timestampSeconds, now, this.options.toleranceSeconds)) {
      throw new ServiceAuthException('stale_timestamp');
    }

    const record = await this.lookUpKey(credentials.apiKey);
    // The HMAC is computed whether or not the key exists or is active, so that
    // unknown, revoked and expired keys cost the same as a wrong signature.
    const signatureValid = matchesAnySecret(
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
    if (!signatureValid || record === null || !isKeyActive(record, Date.now())) {
      throw new ServiceAuthException('invalid_signature');
    }

    if (credentials.scheme === 'v1') await this.recordNonce(credentials);
    return { apiKey: record.apiKey, serviceName: record.serviceName, scheme: credentials.scheme };
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
      host: host.trim(),
      target,
      bodySha256: sha256Hex(this.readRawBody(request)),
    };
  }

  /** The body bytes, or `undefined` when the request has no body. */
  protected readRawBody(request: IncomingRequest): Buffer | undefined {
    if (Buffer.isBuffer(request.rawBody)) return request.rawBody;
    const length = request.headers['content-length'];
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
  protected secretsFor(apiKey: string): readonly string[] {
    if (this.options.secretMode === 'shared') return this.options.secrets;
    return this.options.secrets.map((master) => deriveKeySecret(master, apiKey));
  }

  /** The address failed attempts are counted against. Honours the adapter's trust-proxy setting. */
  protected getClientAddress(request: IncomingRequest): string {
    return request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  }

  private async lookUpKey(apiKey: string) {
    try {
      return await this.keyCache.get(apiKey);
    } catch (error) {
      this.logger.error(`API key store unavailable: ${describe(error)}`);
      throw new ServiceAuthException('key_store_unavailable');
    }
  }

  private async recordNonce(credentials: ParsedCredentials): Promise<void> {
    let fresh: boolean;
    try {
      fresh = await this.nonceStore.recordOnce(
        `${credentials.apiKey}:${credentials.nonce}`,
        credentials.timestampSeconds + this.options.toleranceSeconds,
      );
    } catch (error) {
      this.logger.error(`Nonce store unavailable, refusing v1 requests: ${describe(error)}`);
      throw new ServiceAuthException('nonce_store_unavailable');
    }
    if (!fresh) throw new ServiceAuthException('replayed_request');
  }

  private checkAllowedServices(caller: ServiceCallerInfo, targets: [Function, Function]): void {
    const allowed = this.reflector.getAllAndOverride<string[] | undefined>(ALLOWED_SERVICES_KEY, targets);
    if (allowed && !allowed.includes(caller.serviceName)) {
      throw new ServiceAuthException('service_not_allowed');
    }
  }

  private async applyRateLimit(caller: ServiceCallerInfo, response: unknown): Promise<void> {
    const limit = this.options.rateLimit;
    if (!limit) return;
    const record = await this.throttle(
      `service-auth:key:${caller.apiKey}`,
      limit.ttlMs,
      limit.limit,
      limit.blockDurationMs,
      THROTTLER_NAME_PER_KEY,
    );
    if (record.isBlocked) {
      this.setHeader(response, 'Retry-After', String(Math.max(1, record.timeToBlockExpire)));
      throw new ServiceAuthException('rate_limited');
    }
  }

  private refuseBlockedAddress(address: string): void {
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

  private async throttle(key: string, ttl: number, limit: number, block: number, name: string) {
    try {
      return await this.throttlerStorage.increment(key, ttl, limit, block, name);
    } catch (error) {
      this.logger.error(`Rate-limit storage unavailable: ${describe(error)}`);
      throw new ServiceAuthException('key_store_unavailable', 'The rate-limit store is unavailable.');
    }
  }

  /** Turns any failure into the response PROTOCOL.md prescribes. */
  private async handleRejection(error: unknown, address: string, response: unknown): Promise<unknown> {
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

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
