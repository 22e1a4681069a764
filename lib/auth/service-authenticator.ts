import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { API_KEY_AUTH_RESOLVED_OPTIONS, API_KEY_THROTTLER_STORAGE, NONCE_STORE } from '../api-key-auth.constants.js';
import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from './service-auth.exception.js';
import type { NonceStore } from '../stores/nonce-store.interface.js';
import { ServiceAuthObserver } from '../observability/service-auth.observer.js';
import { parseCredentials } from '../protocol/credentials.js';
import { sha256Hex } from '../protocol/crypto.js';
import { HEADER_SIGNATURE_INPUT } from '../protocol/rfc9421/rfc9421.constants.js';
import { rfc9421Expired } from '../protocol/rfc9421/rfc9421-verify.js';
import type { SignedFields } from '../protocol/string-to-sign.js';
import { KeyUsageRecorder } from '../keys/key-usage.recorder.js';
import { ApiKeyCache } from '../stores/api-key.cache.js';
import { FailedAttemptLimiter } from './failed-attempt.limiter.js';
import { FreshnessCheck, nowSeconds } from './freshness.check.js';
import { RefusalAnswers } from './refusal.answers.js';
import { cameOverHttps, readRawBody, readSignedParts, refuseContentEncoding, type IncomingRequest } from './request.reader.js';
import { RequestAdmission } from './request.admission.js';
import { readRfc9421Credentials } from './rfc9421.reader.js';
import type { RoutePolicy } from './route-policy.js';
import { keyRateLimitOf } from './service-caller.handoff.js';
import type { ServiceCallerInfo } from './service-caller.interface.js';
import { SignatureVerifier } from './signature.verifier.js';
import { andThen, callStore, isPromiseLike, storeFailure, type MaybePromise } from './store-call.js';
import { verifiedRequest, type VerifiedRequest } from './verified-request.js';

export type { VerifiedRequest } from './verified-request.js';

/**
 * Runs PROTOCOL.md's steps in its order, for every guard of the app: one
 * instance per app, which holds all state that must be app-wide (the
 * failed-attempt limiter, the prepared secrets). Every refusal is a
 * `ServiceAuthException` carrying the response headers that go with it.
 *
 * 1. request reading (headers, signed host, content type); the scheme is
 *    rfc9421 when the request carries `Signature-Input`, else v1 or v0;
 * 2. freshness of the timestamp;
 * 3. signature verification;
 * 4. key lookup;
 * 5. the route's allowed services;
 * 6. and 7. admission: rate limit, then nonce.
 *
 * Failures of steps 1 to 4 are counted per client address (RefusalAnswers).
 *
 * It has no extension hooks: every check is private, so no subclass can skip
 * one. A guard of your own calls `authenticate()`, or `verify()` then
 * `admit()` (as `ServiceAuthThrottlerGuard` does), and answers the
 * `ServiceAuthException` they throw.
 */
@Injectable()
export class ServiceAuthenticator implements OnModuleInit {
  private readonly logger = new Logger('ServiceAuthenticator');
  private readonly verifier: SignatureVerifier;
  private readonly freshness: FreshnessCheck;
  private readonly refusals: RefusalAnswers;
  private readonly admission: RequestAdmission;
  private readonly keyStoreFailed = storeFailure(this.logger, 'key_store_unavailable', 'API key store unavailable');
  private readonly observer: ServiceAuthObserver;

  constructor(
    @Inject(API_KEY_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedApiKeyAuthOptions,
    private readonly keyCache: ApiKeyCache,
    @Inject(NONCE_STORE) private readonly nonceStore: NonceStore,
    @Inject(API_KEY_THROTTLER_STORAGE) private readonly throttlerStorage: ThrottlerStorage,
    @Optional() private readonly keyUsage?: KeyUsageRecorder,
    @Optional() observer?: ServiceAuthObserver,
  ) {
    this.observer = observer ?? new ServiceAuthObserver(options);
    this.verifier = new SignatureVerifier(options);
    const rateLimitFailed = storeFailure(this.logger, 'rate_limit_store_unavailable', 'Rate-limit storage unavailable');
    const nonceFailed = storeFailure(this.logger, 'nonce_store_unavailable', 'Nonce store unavailable, refusing signed requests');
    this.freshness = new FreshnessCheck(options.toleranceSeconds, nonceStore, this.verifier);
    const failedAttempts = new FailedAttemptLimiter(options.failedAttempts, throttlerStorage, rateLimitFailed);
    this.refusals = new RefusalAnswers(this.logger, failedAttempts, this.observer);
    this.admission = new RequestAdmission(
      options.rateLimit,
      options.toleranceSeconds,
      nonceStore,
      throttlerStorage,
      nonceFailed,
      rateLimitFailed,
    );
  }

  /** Refuses to start on a store that cannot be used safely, and warns when no host restriction is set. */
  async onModuleInit(): Promise<void> {
    await this.nonceStore.checkUsable?.();
    const storage = this.throttlerStorage as Partial<NonceStore>;
    if (storage !== this.nonceStore) await storage.checkUsable?.();
    if (!this.options.allowedHosts) {
      this.logger.warn(
        'allowedHosts is not set: a request signed for another service that accepts the same keys would be ' +
          'accepted here too. Set `allowedHosts: ["<this service\'s host>"]` in ApiKeyAuthModule.forRoot().',
      );
    }
  }

  /** Steps 1 to 7: the caller, or a `ServiceAuthException` (thrown, or as the rejection of the promise). */
  authenticate(request: IncomingRequest, policy: RoutePolicy): MaybePromise<ServiceCallerInfo> {
    const verified = this.verify(request);
    // No closure unless a store answers later: the usual request allocates as little as it can.
    if (!isPromiseLike(verified)) return this.admit(verified, policy);
    return Promise.resolve(verified).then((found) => this.admit(found, policy));
  }

  /** Steps 1 to 4, with failures counted per address (`429 too_many_failed_attempts` over the limit). */
  verify(request: IncomingRequest): MaybePromise<VerifiedRequest> {
    const started = this.observer.start();
    try {
      const verified = this.verifyRequest(request);
      if (!isPromiseLike(verified)) return this.observer.verified(verified, request, started);
      return Promise.resolve(verified).then(
        (found) => this.observer.verified(found, request, started),
        (error: unknown) => this.refusals.failed(error, request, started),
      );
    } catch (error) {
      return this.refusals.failed(error, request, started);
    }
  }

  /** Steps 5 to 7 for a verified request (the limit: see RequestAdmission); records the key's use once admitted. */
  admit(verified: VerifiedRequest, policy: RoutePolicy): MaybePromise<ServiceCallerInfo> {
    try {
      this.checkAllowedServices(verified.caller, policy);
      const caller = verified.caller;
      const admitted = this.admission.admit({
        apiKey: caller.apiKey,
        nonce: verified.nonce,
        timestampSeconds: verified.timestampSeconds,
        keyRateLimit: keyRateLimitOf(caller),
        routeRateLimit: policy.rateLimit,
      });
      if (!isPromiseLike(admitted)) return this.accepted(verified);
      return Promise.resolve(admitted)
        .then(() => {
          // A remote store may have lost its nonces (a restart) while this request waited for it.
          this.freshness.checkRemembered(caller.apiKey, verified.nonce, verified.timestampSeconds);
          return this.accepted(verified);
        })
        .catch((error: unknown) => this.refusals.refused(error, verified));
    } catch (error) {
      return this.refusals.refused(error, verified);
    }
  }

  /** An admitted request: the key's use recorded, the decision observed. */
  private accepted(verified: VerifiedRequest): ServiceCallerInfo {
    this.keyUsage?.record(verified.caller.apiKey);
    this.observer.accepted(verified);
    return verified.caller;
  }

  /** Step 5: `403 service_not_allowed` unless the route allows the caller's service. */
  checkAllowedServices(caller: ServiceCallerInfo, policy: RoutePolicy): void {
    const allowed = policy.allowedServices;
    if (allowed && !allowed.includes(caller.serviceName)) throw new ServiceAuthException('service_not_allowed');
  }

  private verifyRequest(request: IncomingRequest): MaybePromise<VerifiedRequest> {
    if (this.options.requireHttps && !cameOverHttps(request)) throw new ServiceAuthException('https_required');
    // PROTOCOL.md: the scheme is rfc9421 when the request carries Signature-Input.
    const headers = request.headers;
    if (headers[HEADER_SIGNATURE_INPUT] !== undefined) return this.verifyRfc9421Request(request);

    // Step 1: credentials, scheme, and the host the request was signed for.
    const parsed = parseCredentials(headers);
    if (!parsed.ok) throw new ServiceAuthException(parsed.code, parsed.message);
    const credentials = parsed.credentials;
    if (!this.options.schemes.has(credentials.scheme)) {
      throw new ServiceAuthException(
        'malformed_credentials',
        `Signature scheme ${credentials.scheme} is not accepted by this service; sign with ${[...this.options.schemes].join(' or ')}.`,
      );
    }
    refuseContentEncoding(headers);
    const parts = credentials.scheme === 'v1' ? readSignedParts(request, 'v1', headers) : undefined;
    if (parts && this.options.allowedHosts && !this.options.allowedHosts.allows(parts.host)) {
      throw new ServiceAuthException('host_not_allowed');
    }

    // Step 2.
    this.freshness.check(credentials.apiKey, credentials.nonce, credentials.timestampSeconds, false);

    // Step 3, before the key is looked up: every secret is known without the
    // key table, so a wrong signature costs the same work and gets the same
    // answer whether the key exists or not, and causes no query.
    const fields: SignedFields = parts
      ? {
          scheme: 'v1',
          apiKey: credentials.apiKey,
          timestamp: credentials.timestamp,
          nonce: credentials.nonce!,
          method: request.method,
          host: parts.host,
          target: parts.target,
          contentType: parts.contentType,
          bodySha256: sha256Hex(readRawBody(request, this.options.maxBodyBytes, headers)),
        }
      : { scheme: 'v0', apiKey: credentials.apiKey, timestamp: credentials.timestamp };
    if (!this.verifier.matches(fields, credentials.mac)) throw new ServiceAuthException('invalid_signature');

    // Step 4.
    const found = callStore(() => this.keyCache.get(credentials.apiKey), this.keyStoreFailed);
    return andThen(found, (record) => verifiedRequest(record, credentials.scheme, credentials.nonce, credentials.timestampSeconds));
  }

  /** Steps 1 to 4 for scheme rfc9421: the steps of v1, in the same order, with the same answers. */
  private verifyRfc9421Request(request: IncomingRequest): MaybePromise<VerifiedRequest> {
    // Step 1: the profile's rules, and the host the request was signed for.
    const credentials = readRfc9421Credentials(request, this.options);

    // Step 2: `created` is the timestamp; a passed `expires` is as stale.
    const { apiKey, nonce, createdSeconds } = credentials;
    this.freshness.check(apiKey, nonce, createdSeconds, rfc9421Expired(credentials, nowSeconds()));

    // Step 3, before the key is looked up (see v1): the signature, and the Content-Digest against the raw body.
    if (!this.verifier.matchesRfc9421(credentials, readRawBody(request, this.options.maxBodyBytes))) {
      throw new ServiceAuthException('invalid_signature');
    }

    // Step 4.
    const found = callStore(() => this.keyCache.get(apiKey), this.keyStoreFailed);
    return andThen(found, (record) => verifiedRequest(record, 'rfc9421', nonce, createdSeconds));
  }
}
