import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { API_KEY_AUTH_RESOLVED_OPTIONS, NONCE_STORE } from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { clientAddress, type IncomingRequest } from '../auth/request.reader.js';
import type { VerifiedRequest } from '../auth/service-authenticator.js';
import type { ServiceCallerInfo } from '../auth/service-caller.interface.js';
import { isPromiseLike } from '../auth/store-call.js';
import { describeError } from './describe-error.js';
import { ServiceAuthException } from '../auth/service-auth.exception.js';
import type { NonceStore } from '../stores/nonce-store.interface.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';
import { AuthMetrics } from './auth-metrics.js';
import { RateLimitedLog } from './rate-limited.log.js';
import { claimedApiKey, claimedScheme, pathOf, routeOf } from './request-labels.js';
import type { ServiceAuthEvent, ServiceAuthEventListener } from './service-auth-event.interface.js';

/** Where a verified request came from, kept on it for the decision of `admit()`. */
const REQUEST = Symbol('service-auth:request');
const STARTED = Symbol('service-auth:started');
interface Tracked {
  [REQUEST]?: IncomingRequest;
  [STARTED]?: number;
}

const LISTENER_ERRORS_PER_MINUTE = 10;

/**
 * Sees every authentication decision of the app's `ServiceAuthenticator`
 * and turns it into what `observability` asks for: OpenTelemetry metrics,
 * `ServiceAuthEvent`s for the listeners, and a rate-limited refusal log line.
 * Nothing of it can change or delay the answer: metrics are recorded in
 * place (no I/O), listeners are called on the next turn of the event loop
 * and their failures are logged.
 *
 * An accepted request costs nothing here unless metrics or a listener are on.
 */
@Injectable()
export class ServiceAuthObserver implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ServiceAuthenticator');
  private readonly refusalLog: RateLimitedLog | undefined;
  private readonly listenerErrors: RateLimitedLog;
  private readonly listeners: ServiceAuthEventListener[];
  private metrics: AuthMetrics | undefined;
  /** Metrics or listeners are on: accepted requests are observed too. */
  private watching: boolean;
  private pending: ServiceAuthEvent[] = [];
  private flushScheduled = false;

  constructor(
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedApiKeyAuthOptions,
    @Optional() @Inject(NONCE_STORE) private readonly nonceStore?: NonceStore,
    @Optional() private readonly keyCache?: ApiKeyCache,
  ) {
    const { listeners, refusalLog } = options.observability;
    this.listeners = [...listeners];
    this.watching = this.listeners.length > 0;
    this.refusalLog = refusalLog
      ? new RateLimitedLog(this.logger, refusalLog.level, refusalLog.maxPerMinute, 'Refused requests')
      : undefined;
    this.listenerErrors = new RateLimitedLog(this.logger, 'error', LISTENER_ERRORS_PER_MINUTE, 'Listener failures');
  }

  /** Loads `@opentelemetry/api` (unless `observability.metrics` is `false`) and creates the instruments. */
  async onModuleInit(): Promise<void> {
    this.metrics = await AuthMetrics.create(this.options.observability.metrics, {
      nonceStore: this.nonceStore as { size?: unknown; maxEntries?: unknown } | undefined,
      keyCache: this.keyCache,
      keyCacheMaxEntries: this.options.keyCache.maxEntries,
    });
    this.watching = this.metrics !== undefined || this.listeners.length > 0;
  }

  /** Stops the gauges' callback and writes the count of refusal lines left out, if any. */
  onModuleDestroy(): void {
    this.metrics?.close();
    this.refusalLog?.flush();
    this.listenerErrors.flush();
  }

  /**
   * Adds a listener of every later decision, as `observability.onAuthentication` does.
   * @returns a function that removes it.
   */
  addListener(listener: ServiceAuthEventListener): () => void {
    this.listeners.push(listener);
    this.watching = true;
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at !== -1) this.listeners.splice(at, 1);
      this.watching = this.metrics !== undefined || this.listeners.length > 0;
    };
  }

  // ---------------------------------------------------------------- called by ServiceAuthenticator

  /** The start of a verification: a `performance.now()` when durations are recorded, else 0. */
  start(): number {
    return this.metrics ? performance.now() : 0;
  }

  /** Remembers where `verified` came from, for the decision of `admit()`. */
  verified(verified: VerifiedRequest, request: IncomingRequest, started: number): VerifiedRequest {
    const tracked = verified as VerifiedRequest & Tracked;
    tracked[REQUEST] = request;
    tracked[STARTED] = started;
    return verified;
  }

  /** An acceptance of `admit()`: recorded only while metrics or a listener are on. */
  accepted(verified: VerifiedRequest): void {
    if (!this.watching) return;
    const tracked = verified as VerifiedRequest & Tracked;
    this.observe(undefined, tracked[REQUEST], tracked[STARTED] ?? 0, verified.caller);
  }

  /** A refusal of `admit()` (the request was verified). */
  rejectedAfterVerification(refusal: ServiceAuthException, verified: VerifiedRequest): void {
    const tracked = verified as VerifiedRequest & Tracked;
    this.observe(refusal, tracked[REQUEST], tracked[STARTED] ?? 0, verified.caller);
  }

  /** A refusal made before the guard runs (Fastify's encoded-body gate). */
  rejectedBeforeGuard(refusal: ServiceAuthException, request: IncomingRequest): void {
    this.observe(refusal, request, this.start(), undefined);
  }

  /** A refusal of `verify()`: observed, then thrown. */
  rejected(error: unknown, request: IncomingRequest, started: number): never {
    if (error instanceof ServiceAuthException) this.observe(error, request, started, undefined);
    throw error;
  }

  // ---------------------------------------------------------------- the decision

  private observe(
    refusal: ServiceAuthException | undefined,
    request: IncomingRequest | undefined,
    started: number,
    caller: ServiceCallerInfo | undefined,
  ): void {
    try {
      const scheme = caller?.scheme ?? (request ? claimedScheme(request.headers) : undefined);
      const result = refusal ? 'rejected' : 'accepted';
      const metrics = this.metrics;
      if (metrics)
        metrics.record(result, refusal?.code, scheme, caller?.serviceName, started > 0 ? (performance.now() - started) / 1000 : undefined);
      if (refusal && this.refusalLog) this.logRefusal(this.refusalLog, refusal, request, caller);
      if (this.listeners.length > 0) {
        this.emit(
          Object.freeze({
            time: new Date(),
            result,
            code: refusal?.code,
            status: refusal?.getStatus(),
            scheme,
            service: caller?.serviceName,
            apiKey: caller?.apiKey ?? (request ? claimedApiKey(request.headers) : undefined),
            method: request?.method ?? 'unknown',
            route: request ? routeOf(request) : 'unknown',
            address: request ? clientAddress(request) : 'unknown',
          }),
        );
      }
    } catch (error) {
      // Observing must never change an answer.
      this.listenerErrors.write(() => `Could not observe an authentication decision: ${describeError(error)}`);
    }
  }

  private logRefusal(
    log: RateLimitedLog,
    refusal: ServiceAuthException,
    request: IncomingRequest | undefined,
    caller: ServiceCallerInfo | undefined,
  ): void {
    log.write(() => {
      const address = request ? clientAddress(request) : 'unknown';
      const where = request ? `${request.method} ${pathOf(request)}` : 'unknown request';
      const key = caller?.apiKey ?? (request ? claimedApiKey(request.headers) : undefined) ?? '-';
      const service = caller ? `, service ${caller.serviceName}` : '';
      return `Rejected request from ${address}: ${refusal.code} (${refusal.getStatus()}), ${where}, key ${key}${service}`;
    });
  }

  private emit(event: ServiceAuthEvent): void {
    this.pending.push(event);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the answer: the guard's decision, the handler and the response write all come first.
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const events = this.pending;
    this.pending = [];
    const listeners = [...this.listeners];
    for (const event of events) for (const listener of listeners) this.call(listener, event);
  };

  private call(listener: ServiceAuthEventListener, event: ServiceAuthEvent): void {
    try {
      const outcome: unknown = listener(event);
      if (isPromiseLike(outcome)) Promise.resolve(outcome).catch((error: unknown) => this.listenerFailed(error));
    } catch (error) {
      this.listenerFailed(error);
    }
  }

  private listenerFailed(error: unknown): void {
    this.listenerErrors.write(() => `An onAuthentication listener failed: ${describeError(error)}`);
  }
}
